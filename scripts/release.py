"""Builds a release: dist/trailwatch-<version>/ with what a security team deploys with
CloudFormation alone. Run through scripts/release (which installs the pinned tools first).

  forwarder.zip, validator.zip   the arm64 `bootstrap`s, built as `sam build` builds them
  template.yaml                  the SAM template, its functions' CodeUri the zips beside it
  template-transformed.json      the same after SAM's transform (no Transform to allow)
  LICENSE, README.md             for `sam publish` (the template's ServerlessRepo metadata)
  docs/                          the documents README links to
  CHANGES.md                     this version's CHANGELOG section
  forwarder.cdx.json, validator.cdx.json   each zip's crates (CycloneDX SBOM)
  SHA256SUMS                     of every file above

Reproducible: the same commit, toolchain (rust-toolchain.toml) and pinned tools give the same
bytes: paths are remapped out of the binaries, zip entries carry a fixed time and mode, the
SBOM's serial number and time come from the commit. Not across toolchains or tool versions.
"""

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {"ForwarderFunction": "forwarder", "ValidatorFunction": "validator"}
# Zip entries' time: the earliest a zip can hold, so the bytes do not depend on the build's.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Where the release's cargo build goes: apart from `sam build`'s, whose flags differ.
TARGET_DIR = ROOT / "target" / "release-dist"


class ReleaseError(Exception):
    pass


def git(*arguments):
    return subprocess.run(["git", *arguments], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def workspace_version():
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def commit_of_tree(allow_modified):
    commit = git("rev-parse", "--short=12", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        if not allow_modified:
            raise ReleaseError(
                "tracked files differ from the commit: commit them, or pass --allow-modified "
                "(the binaries' --version then says 'modified')")
        return f"{commit}, modified"
    return commit


def build_bootstraps(commit):
    """Both functions for arm64, with cargo-lambda as SAM's rust-cargolambda build method."""
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    remaps = [f"--remap-path-prefix={ROOT}=/trailwatch",
              f"--remap-path-prefix={cargo_home}=/cargo"]
    env = dict(os.environ, TRAILWATCH_COMMIT=commit, CARGO_TARGET_DIR=str(TARGET_DIR),
               CARGO_ENCODED_RUSTFLAGS="\x1f".join(remaps))
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    command = ["cargo", "lambda", "build", "--release", "--arm64", "--locked"]
    for binary in FUNCTIONS.values():
        command += ["--bin", binary]
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return {name: TARGET_DIR / "lambda" / name / "bootstrap" for name in FUNCTIONS.values()}


def write_zip(bootstrap, path):
    entry = zipfile.ZipInfo("bootstrap", date_time=ZIP_TIME)
    entry.external_attr = (0o100755 << 16)
    entry.create_system = 3  # Unix, so Lambda keeps the executable bit.
    entry.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(entry, bootstrap.read_bytes(), compresslevel=9)


def load_template():
    from cfnlint.decode import decode_str

    template, problems = decode_str((ROOT / "template.yaml").read_text())
    if problems:
        raise ReleaseError(f"template.yaml does not parse: {problems[0]}")
    # Plain dicts and lists, intrinsic functions in their long (Fn::) form.
    return json.loads(json.dumps(template))


def packaged_template(template):
    """The template with each function's code the zip beside it, as `sam package` and
    `aws cloudformation package` take it; SAM's build metadata dropped (nothing to build)."""
    release = copy.deepcopy(template)
    for logical_id, name in FUNCTIONS.items():
        function = release["Resources"][logical_id]
        function.pop("Metadata", None)
        function["Properties"]["CodeUri"] = f"{name}.zip"
    return release


def transformed_template(release):
    """SAM's transform applied (the translator `sam deploy` uses), for pipelines that refuse
    templates with a Transform. Each function's Code is again the local zip for packaging."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    placeholder = "trailwatch-release-placeholder"
    template = copy.deepcopy(release)
    for logical_id, name in FUNCTIONS.items():
        template["Resources"][logical_id]["Properties"]["CodeUri"] = f"s3://{placeholder}/{name}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    transformed = transform(template, {}, NoManagedPolicies())
    for logical_id, name in FUNCTIONS.items():
        code = transformed["Resources"][logical_id]["Properties"]["Code"]
        if code.get("S3Bucket") != placeholder:
            raise ReleaseError(f"SAM's transform wrote {logical_id}'s code as {code}")
        transformed["Resources"][logical_id]["Properties"]["Code"] = f"{name}.zip"
    if placeholder in json.dumps(transformed):
        raise ReleaseError("the transformed template still names the placeholder bucket")
    return transformed


def changelog_section(version):
    text = (ROOT / "CHANGELOG.md").read_text()
    match = re.search(rf"^## {re.escape(version)} .*?(?=^## |\Z)", text, re.S | re.M)
    if not match:
        raise ReleaseError(f"CHANGELOG.md has no section '## {version} - <date>': write it first")
    return match.group(0).rstrip() + "\n"


def write_sboms(folder, commit_time):
    """A CycloneDX SBOM per zip (`<function>.cdx.json`: the binary and every crate it links for
    arm64, build-only crates left out), from the pinned cargo-cyclonedx. Made reproducible: the
    checkout's path becomes /trailwatch (as in the binaries), the random serial number one
    derived from the content, and the time the commit's."""
    tool = ROOT / ".tools" / "bin" / "cargo-cyclonedx"
    subprocess.run([str(tool), "cyclonedx", "--manifest-path", str(ROOT / "Cargo.toml"),
                    "--format", "json", "--spec-version", "1.5", "--describe", "binaries",
                    "--target", "aarch64-unknown-linux-gnu", "--no-build-deps", "--quiet"],
                   cwd=ROOT, check=True, capture_output=True)
    try:
        for name in FUNCTIONS.values():
            source = ROOT / "functions" / name / f"{name}_bin.cdx.json"
            bom = json.loads(source.read_text().replace(str(ROOT), "/trailwatch"))
            bom["metadata"]["timestamp"] = commit_time
            bom.pop("serialNumber", None)
            content = json.dumps(bom, sort_keys=True)
            bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, content)}"
            (folder / f"{name}.cdx.json").write_text(json.dumps(bom, indent=2) + "\n")
    finally:
        # One per binary of the workspace, written beside each package's Cargo.toml.
        for package in ["shared", "functions/forwarder", "functions/validator"]:
            for path in (ROOT / package).glob("*_bin.cdx.json"):
                path.unlink()


def write_checksums(folder):
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != "SHA256SUMS":
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n")
    (folder / "SHA256SUMS").write_text("".join(lines))


def main():
    parser = argparse.ArgumentParser(prog="scripts/release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist",
                        help="the folder to write trailwatch-<version>/ into (default dist/)")
    parser.add_argument("--allow-modified", action="store_true",
                        help="release from a tree whose tracked files differ from the commit")
    options = parser.parse_args()

    version = workspace_version()
    commit = commit_of_tree(options.allow_modified)
    commit_time = git("show", "-s", "--format=%cI", "HEAD")
    template = load_template()
    sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
    if sar["SemanticVersion"] != version:
        raise ReleaseError(f"template.yaml's ServerlessRepo SemanticVersion is {sar['SemanticVersion']}, "
                           f"Cargo.toml's version {version}: make them agree")
    changes = changelog_section(version)

    folder = options.out / f"trailwatch-{version}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, bootstrap in build_bootstraps(commit).items():
        write_zip(bootstrap, folder / f"{name}.zip")
    release = packaged_template(template)
    (folder / "template.yaml").write_text(
        f"# trailwatch {version} (commit {commit}): deploy with CloudFormation (README: Deploy).\n"
        + yaml.safe_dump(release, sort_keys=False, width=100))
    (folder / "template-transformed.json").write_text(
        json.dumps(transformed_template(release), indent=2) + "\n")
    shutil.copy(ROOT / "LICENSE", folder / "LICENSE")
    shutil.copy(ROOT / "README.md", folder / "README.md")
    # The documents README links to.
    (folder / "docs").mkdir()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        shutil.copy(doc, folder / "docs" / doc.name)
    (folder / "CHANGES.md").write_text(changes)
    write_sboms(folder, commit_time)
    write_checksums(folder)
    print(f"release: {folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder}")
    print((folder / "SHA256SUMS").read_text(), end="")


if __name__ == "__main__":
    try:
        main()
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        print(f"release: {' '.join(map(str, error.cmd))} failed (exit {error.returncode})"
              + (f": {error.stderr.decode(errors='replace').strip()}" if error.stderr else ""),
              file=sys.stderr)
        sys.exit(1)
