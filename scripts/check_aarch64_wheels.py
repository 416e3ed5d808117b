#!/usr/bin/env python3
"""Check that the runtime install resolves to wheels only on 64-bit ARM Linux (Raspberry Pi OS 64-bit).

For each Python version it asks pip to resolve `pip install .` (the runtime, no
extras) for manylinux aarch64 with --only-binary=:all: and --dry-run, and prints a
table of the wheels chosen. Exit 1 if any version cannot be resolved from wheels.
It reads the package index only; nothing is installed.

    python scripts/check_aarch64_wheels.py [--python 3.9,3.10,3.11,3.12,3.13]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_31_aarch64"]


def resolve(python_version: str) -> tuple[bool, list[str], str]:
    with tempfile.TemporaryDirectory() as target:
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"]
        command += ["--only-binary=:all:", "--target", target, "--python-version", python_version, "--report", "-"]
        for platform in PLATFORMS:
            command += ["--platform", platform]
        command.append(str(ROOT))
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return False, [], lines[-1] if lines else "pip failed"
    report = json.loads(done.stdout)
    wheels = sorted(
        item["download_info"]["url"].rsplit("/", 1)[-1]
        for item in report["install"]
        if item["metadata"]["name"] != "imdb-edge"
    )
    return True, wheels, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.9,3.10,3.11,3.12,3.13")
    args = parser.parse_args()
    failures = 0
    for version in args.python.split(","):
        ok, wheels, error = resolve(version.strip())
        if ok:
            binary = [w for w in wheels if "aarch64" in w]
            print(f"Python {version}: OK, {len(wheels)} wheels ({len(binary)} aarch64-specific)")
            for wheel in wheels:
                print(f"    {wheel}")
        else:
            failures += 1
            print(f"Python {version}: FAILED: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
