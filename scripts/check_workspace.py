#!/usr/bin/env python3
"""Checks what the workspace must keep consistent by hand (run by `make test`):

1. versions: the npm package (bindings-node/package.json and its package-lock.json) has the
   workspace's version (`[workspace.package] version` in Cargo.toml); the Python package takes
   it from Cargo (`dynamic = ["version"]` in pyproject.toml), or a static one must equal it.
   `--write` sets the npm versions from the workspace's: bump Cargo.toml, run this, commit.
2. features: the release builds of `make demo` (the Rust quickstart, maturin's and napi's
   builds, each of one package) resolve every shared dependency with the same features, so
   they compile the core and Cedar once. A difference names the crate: add the feature to
   workspace-hack/Cargo.toml.

Exits 1 with one line per problem.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The packages `make demo` builds, one cargo invocation each.
DEMO_BUILDS = ["runtime-identity-examples", "runtime-identity-python", "runtime-identity-node"]


def workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    section = re.search(r"^\[workspace\.package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    found = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    if not found:
        sys.exit("Cargo.toml: no `version` in [workspace.package]")
    return found.group(1)


def npm_versions(lock: dict) -> dict:
    return {"package.json": None, "package-lock.json": lock.get("version"),
            'package-lock.json packages[""]': lock.get("packages", {}).get("", {}).get("version")}


def check_versions(write: bool) -> list:
    want = workspace_version()
    problems = []
    pkg_path, lock_path = ROOT / "bindings-node/package.json", ROOT / "bindings-node/package-lock.json"
    pkg, lock = json.loads(pkg_path.read_text()), json.loads(lock_path.read_text())
    found = npm_versions(lock)
    found["package.json"] = pkg.get("version")
    if write and any(v != want for v in found.values()):
        # Rewrites only the version lines, keeping the files' layout.
        for path, count in ((pkg_path, 1), (lock_path, 2)):
            text = path.read_text()
            text = re.sub(r'^(\s*"version":\s*")[^"]*(")', lambda m: m.group(1) + want + m.group(2),
                          text, count=count, flags=re.M)
            path.write_text(text)
        print(f"bindings-node: version set to {want}")
        return check_versions(write=False)
    for where, got in found.items():
        if got != want:
            problems.append(f"bindings-node/{where}: version {got!r}, the workspace's is {want!r} "
                            f"(run `python3 scripts/check_workspace.py --write`)")
    pyproject = (ROOT / "bindings-python/pyproject.toml").read_text()
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", pyproject, re.M | re.S)
    body = project.group(1) if project else ""
    static = re.search(r'^version\s*=\s*"([^"]+)"', body, re.M)
    dynamic = re.search(r"^dynamic\s*=\s*\[[^\]]*\"version\"", body, re.M)
    if static and static.group(1) != want:
        problems.append(f"bindings-python/pyproject.toml: version {static.group(1)!r}, the workspace's is {want!r}")
    elif not static and not dynamic:
        problems.append('bindings-python/pyproject.toml: no version; keep `dynamic = ["version"]` (from Cargo)')
    return problems


def features(package: str, target: str) -> dict:
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-p", package, "-e", "normal,build", "--prefix", "none",
         "--target", target, "-f", "{p}|{f}"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    seen = {}
    for line in out.splitlines():
        line = line.removesuffix(" (*)").strip()
        if "|" not in line:
            continue
        pkg, feats = line.split("|", 1)
        name = pkg.split(" (")[0]  # drop "(proc-macro)" / "(/path)"
        seen.setdefault(name, set()).add(feats)
    return seen


def check_features() -> list:
    target = os.environ.get("CARGO_BUILD_TARGET") or re.search(
        r"^host: (\S+)", subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout,
        re.M).group(1)
    graphs = {p: features(p, target) for p in DEMO_BUILDS}
    first, *rest = DEMO_BUILDS
    problems = []
    for other in rest:
        for name in sorted(graphs[first].keys() & graphs[other].keys()):
            if name.startswith(("runtime-identity", "workspace-hack")):
                continue
            a, b = graphs[first][name], graphs[other][name]
            if a != b:
                problems.append(f"features of {name} differ: {sorted(a)} building {first}, {sorted(b)} building "
                                f"{other} (add the missing ones to workspace-hack/Cargo.toml)")
    return problems


def main() -> None:
    write = "--write" in sys.argv[1:]
    problems = check_versions(write) + check_features()
    for p in problems:
        print(f"check_workspace: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_workspace: versions {workspace_version()} everywhere; "
          f"{', '.join(DEMO_BUILDS)} share their dependency features")


if __name__ == "__main__":
    main()
