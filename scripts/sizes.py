"""Sizes a maintainer can hold: prints the figures and, with --check, fails on any past them.
- a production file (its text before an inline `#[cfg(test)] mod … {`, which sits at the end):
  at most MAX_PRODUCTION_LINES lines;
- a production function (from `fn` to the line closing its body): at most MAX_FN_LINES (longer
  test functions are listed with --verbose);
- a test file (a tests/ folder, tests.rs, *_tests.rs, or an inline test module): at most
  MAX_TEST_LINES lines;
- a binary's main.rs: at most MAX_MAIN_LINES lines.
Also counts `pub` and `pub(crate)` items of the shared crate.

python3 scripts/sizes.py [--check] [--verbose]
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_PRODUCTION_LINES = 450
MAX_FN_LINES = 80
MAX_TEST_LINES = 800
MAX_MAIN_LINES = 40
TEST_MODULE = re.compile(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+ \{", re.M)
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn (\w+)")


def rust_files():
    for folder in ("shared", "functions"):
        yield from sorted(p for p in (ROOT / folder).rglob("*.rs") if "target" not in p.parts)


def is_test_file(path: Path) -> bool:
    return "tests" in path.parts or path.name == "tests.rs" or path.name.endswith("_tests.rs")


def split_tests(text: str):
    """The production part and the inline test module of a file."""
    found = TEST_MODULE.search(text)
    return (text, "") if found is None else (text[: found.start()], text[found.start():])


def functions(path: Path, text: str):
    """(name, first line, lines) of each function with a body, by brace depth."""
    lines = text.split("\n")
    for start, line in enumerate(lines):
        match = FN.match(line)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            code = re.sub(r"'(\\.|[^'\\])'", "''", re.sub(r'"(\\.|[^"\\])*"', '""', lines[end]))
            code = re.sub(r"//.*", "", code)
            if not opened and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                yield match.group(5), start + 1, end - start + 1
                break


def main() -> int:
    check = "--check" in sys.argv
    problems = []
    production_files = test_files = 0
    all_functions = []
    long_tests = []
    for path in rust_files():
        relative = path.relative_to(ROOT)
        text = path.read_text()
        production, tests = split_tests(text)
        size = production.count("\n")
        if is_test_file(path):
            test_files += 1
            if text.count("\n") > MAX_TEST_LINES:
                problems.append(f"{relative}: test file of {text.count(chr(10))} lines (at most {MAX_TEST_LINES})")
        else:
            production_files += 1
            if size > MAX_PRODUCTION_LINES:
                problems.append(f"{relative}: {size} production lines (at most {MAX_PRODUCTION_LINES})")
            if tests.count("\n") > MAX_TEST_LINES:
                problems.append(f"{relative}: inline tests of {tests.count(chr(10))} lines (at most {MAX_TEST_LINES})")
        if path.name == "main.rs" and size > MAX_MAIN_LINES:
            problems.append(f"{relative}: main.rs of {size} lines (at most {MAX_MAIN_LINES})")
        test_from = 0 if is_test_file(path) else production.count("\n")
        for name, line, length in functions(path, text):
            all_functions.append(length)
            if length > MAX_FN_LINES and line <= test_from:
                problems.append(f"{relative}:{line}: fn {name} of {length} lines (at most {MAX_FN_LINES})")
            elif length > MAX_FN_LINES:
                # A test's scenario reads top to bottom: noted, not refused.
                long_tests.append(f"{relative}:{line}: test fn {name} of {length} lines")
    shared = [split_tests(p.read_text())[0] for p in (ROOT / "shared" / "src").rglob("*.rs") if not is_test_file(p)]
    pub_items = sum(len(re.findall(r"^\s*pub (fn|struct|enum|trait|const|type|mod|use|static|async fn)\b", t, re.M)) for t in shared)
    crate_items = sum(len(re.findall(r"^\s*pub\(crate\) ", t, re.M)) for t in shared)
    print(
        f"sizes: {production_files} production files, {test_files} test files, "
        f"{len(all_functions)} functions (longest {max(all_functions)} lines), "
        f"shared crate: {pub_items} pub items, {crate_items} pub(crate)"
    )
    for problem in problems:
        print(f"  {problem}")
    if long_tests and "--verbose" in sys.argv:
        print("test functions past the function limit (noted):")
        for noted in long_tests:
            print(f"  {noted}")
    return 1 if check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
