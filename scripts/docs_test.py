"""docs/architecture.md stays true to the code: its ports table names traits and files that
exist and every port there is; its layout list names files and folders that exist, and every
production source file sits under an entry of it.

python3 -m unittest -v scripts/docs_test.py
"""
import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PORT_FILES = [
    "shared/src/ports.rs",
    "shared/src/digest/store.rs",
    "shared/src/digest/provenance.rs",
    "shared/src/validator/ports.rs",
]


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def ports_table(text: str):
    """Each row of the ports table: its port and the paths its cells name."""
    layout = section(text, "Layout")
    rows = [line for line in layout.splitlines() if line.startswith("| `")]
    for row in rows:
        cells = row.strip("|").split("|")
        port = re.match(r"\s*`(\w+)`", cells[0]).group(1)
        paths = [p for cell in cells[1:] for p in re.findall(r"`([\w./-]+(?:\.rs|/))`", cell)]
        yield port, paths


def resolve(path: str) -> Path:
    """A path as the document writes it: from the repository, or within shared/src."""
    for base in (ROOT, ROOT / "shared" / "src"):
        if (base / path).exists():
            return base / path
    return ROOT / path


def layout_entries(text: str):
    """(path, line) of each entry of the layout's code block, from the repository root."""
    layout = section(text, "Layout")
    block = layout[layout.index("```\nCargo.toml") + 3 :]
    block = block[: block.index("```")]
    root = ""
    for line in block.splitlines():
        match = re.match(r"^(\S+)\s{2,}", line) or re.match(r"^(\S+/)$", line)
        if match:
            root = match.group(1) if match.group(1).endswith("/") else ""
            yield match.group(1), line
            continue
        match = re.match(r"^  (\S+)\s{2,}", line) or re.match(r"^  (\S+)$", line)
        if match:
            yield root + match.group(1), line


class ArchitectureDoc(unittest.TestCase):
    text = ARCHITECTURE.read_text()

    def test_the_ports_table_names_each_port_trait_and_existing_files(self):
        rows = list(ports_table(self.text))
        named = {port for port, _ in rows}
        traits = set()
        for file in PORT_FILES:
            traits |= set(re.findall(r"^pub trait (\w+)", (ROOT / file).read_text(), re.M))
        self.assertEqual(named, traits, "ports in the table vs traits in " + ", ".join(PORT_FILES))
        for port, paths in rows:
            for path in paths:
                self.assertTrue(resolve(path).exists(), f"{port}: {path} does not exist")

    def test_each_layout_entry_exists(self):
        absent = [path for path, _ in layout_entries(self.text) if not (ROOT / path).exists()]
        self.assertEqual(absent, [], "the layout names what does not exist")

    def test_every_source_file_is_under_a_layout_entry(self):
        entries = [path for path, _ in layout_entries(self.text)]
        folders = [p for p in entries if p.endswith("/")]
        sources = [
            p.relative_to(ROOT).as_posix()
            for folder in ("shared/src", "functions/forwarder/src", "functions/validator/src")
            for p in (ROOT / folder).rglob("*.rs")
        ]
        missing = []
        for source in sources:
            top_level = source.count("/") == (2 if source.startswith("shared/") else 3)
            if top_level and source.endswith(("lib.rs", "main.rs")):
                continue  # the crate roots: the crate's entry says what they hold
            covered = source in entries or (
                not top_level and any(source.startswith(f) and f.count("/") > 2 for f in folders)
            )
            if not covered:
                missing.append(source)
        self.assertEqual(missing, [], "source files in no entry of docs/architecture.md's layout")


if __name__ == "__main__":
    unittest.main()


def heading_anchors(text):
    """The anchors GitHub gives a Markdown file's headings (outside code blocks)."""
    anchors, fenced = set(), False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"^#+ (.*)", line)
        if heading and not fenced:
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return anchors


class Links(unittest.TestCase):
    """Every relative link of README and docs/ names a file that exists, and a heading in it."""

    def test_every_relative_link_resolves(self):
        for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
            for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
                if re.match(r"^[a-z]+:", link):
                    continue
                target, _, fragment = link.partition("#")
                path = (page.parent / target).resolve() if target else page
                self.assertTrue(path.exists(), f"{page.name}: {link}")
                if fragment and path.suffix == ".md":
                    self.assertIn(fragment, heading_anchors(path.read_text()), f"{page.name}: {link}")
