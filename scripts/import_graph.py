"""Checks that the shared crate imports one way, at two levels:
- its top-level modules (every `crate::<module>` path in non-test code): the graph is printed;
- its files: every path a file names (`use` trees, `crate::`, `super::`, `self::` and child
  module paths in code) is resolved to the file that defines the module it reaches, so a file
  using an item of its parent's `mod.rs`, or of a sibling, depends on that file. A parent's
  `mod child;` is not a use; its `pub use child::Item` is.
Either cycle fails the check, naming the files and the paths that close it.

python3 scripts/import_graph.py [--quiet]
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "shared" / "src"
TEST_FILES = {"tests.rs", "fakes.rs"}


def production_files():
    for path in sorted(SRC.rglob("*.rs")):
        if path.name in TEST_FILES or path.name.endswith("_tests.rs") or "bin" in path.relative_to(SRC).parts or path == SRC / "lib.rs":
            continue
        yield path


def production_text(path: Path) -> str:
    """The file without comments, its inline `#[cfg(test)] mod … {` (test modules sit at the
    end) and its `#[cfg(test)] mod …;` lines."""
    text = path.read_text()
    found = re.search(r"#\[cfg\(test\)\]\s*mod \w+ \{", text)
    text = text if found is None else text[: found.start()]
    text = re.sub(r"#\[cfg\(test\)\]\s*(pub\s+)?mod \w+;", "", text)
    return re.sub(r"//.*", "", text)


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return tuple(parts[:-1]) if parts[-1] == "mod" else tuple(parts)


def file_of(module: tuple):
    """The file defining `module`, or None when no such module file exists."""
    if not module:
        return None
    base = SRC.joinpath(*module)
    for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
        if candidate.exists():
            return candidate
    return None


def expand(tree: str) -> list:
    """A `use` tree as its paths: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`."""
    tree = re.sub(r"\s+", "", tree)
    opening = tree.find("{")
    if opening < 0:
        return [tree]
    prefix, items, depth, current = tree[:opening], [], 0, ""
    for char in tree[opening + 1:]:
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    return [path for item in items if item for path in expand(prefix + item)]


def paths_in(text: str) -> list:
    paths = [path for tree in re.findall(r"\buse\s+([^;]+);", text) for path in expand(tree)]
    # Paths in code: `crate::…`, `super::…`, `self::…` and `child::…`.
    paths += re.findall(r"(?<![:\w])[a-z_][a-z_0-9]*(?:::[A-Za-z_0-9*]+)+", text)
    return paths


def target(me: tuple, path: str):
    """The module a path in `me` reaches: the deepest module file along it."""
    segments = path.split("::")
    head = segments[0]
    if head == "crate":
        module = ()
    elif head == "super":
        module = me[:-1]
    elif head == "self":
        module = me
    elif file_of(me + (head,)):
        module = me
    else:
        return None  # std, a dependency, a local name
    for segment in segments[1:] if head in ("crate", "super", "self") else segments:
        if segment == "super":
            module = module[:-1]
        elif segment in ("self", "*"):
            continue
        elif file_of(module + (segment,)):
            module = module + (segment,)
        else:
            break
    return module if module else None


def file_graph() -> dict:
    """File → {file it uses: [the paths]}."""
    edges: dict = {}
    for path in production_files():
        me = module_of(path)
        uses = edges.setdefault(path, {})
        for used in paths_in(production_text(path)):
            module = target(me, used)
            if module is not None and module != me:
                uses.setdefault(file_of(module), set()).add(used)
    return edges


def module_graph() -> dict:
    edges: dict = {}
    for path in production_files():
        source = path.relative_to(SRC).parts[0].removesuffix(".rs")
        for name in re.findall(r"\bcrate::([a-z_]+)", production_text(path)):
            if name != source:
                edges.setdefault(source, set()).add(name)
        edges.setdefault(source, set())
    return edges


def cycle(edges: dict):
    state: dict = {}
    stack: list = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for next_node in sorted(edges.get(node, ())):
            if state.get(next_node) == "open":
                return stack[stack.index(next_node):] + [next_node]
            if next_node not in state:
                found = visit(next_node)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def main() -> int:
    modules = module_graph()
    if "--quiet" not in sys.argv:
        for source in sorted(modules):
            print(f"{source:>9} -> {', '.join(sorted(modules[source])) or '(nothing)'}")
    found = cycle(modules)
    if found:
        print("import cycle between modules: " + " -> ".join(found), file=sys.stderr)
        return 1
    files = file_graph()
    found = cycle(files)
    if found:
        print("import cycle between files of shared/src:", file=sys.stderr)
        for source, used in zip(found, found[1:]):
            paths = ", ".join(sorted(files[source][used]))
            print(f"  {source.relative_to(SRC)} -> {used.relative_to(SRC)} ({paths})", file=sys.stderr)
        return 1
    print(f"no import cycle among {len(modules)} modules and {len(files)} files of shared/src")
    return 0


if __name__ == "__main__":
    sys.exit(main())
