"""Checks that the shared crate's modules import one way: builds the graph of top-level modules
from every `crate::<module>` path in non-test code, prints it, and fails on a cycle.

python3 scripts/import_graph.py [--quiet]
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "shared" / "src"
TEST_FILES = {"tests.rs", "fakes.rs"}


def top_module(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".rs")


def production_text(path: Path) -> str:
    """The file up to its inline `#[cfg(test)] mod … {`: test modules sit at the end."""
    text = path.read_text()
    found = re.search(r"#\[cfg\(test\)\]\s*mod \w+ \{", text)
    return text if found is None else text[: found.start()]


def graph() -> dict:
    edges: dict = {}
    for path in sorted(SRC.rglob("*.rs")):
        if path.name in TEST_FILES or path.parts[-2] == "bin" or path.name == "lib.rs":
            continue
        source = top_module(path)
        text = re.sub(r"//.*", "", production_text(path))
        for target in re.findall(r"\bcrate::([a-z_]+)", text):
            if target != source:
                edges.setdefault(source, set()).add(target)
        edges.setdefault(source, set())
    return edges


def cycle(edges: dict):
    state: dict = {}
    stack: list = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
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
    edges = graph()
    if "--quiet" not in sys.argv:
        for source in sorted(edges):
            print(f"{source:>9} -> {', '.join(sorted(edges[source])) or '(nothing)'}")
    found = cycle(edges)
    if found:
        print("import cycle: " + " -> ".join(found), file=sys.stderr)
        return 1
    print(f"no import cycle among {len(edges)} modules of shared/src")
    return 0


if __name__ == "__main__":
    sys.exit(main())
