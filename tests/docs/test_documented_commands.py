"""Every documented command runs as written.

The fast tests read every copyable block of README.md, docs/*.md and examples/*/README.md
(tests/docs/doc_blocks.py): each is run, parsed, or marked with a visible reason; every
`imdb-edge` command in any of them parses with the CLI itself; every repository file named
exists; no page tells a user to install a package that no index has. The slow test runs
each page's runnable blocks in document order, in a fresh copy of the checkout, with the
real data, and fails on the first block that fails; a page's commands may not leave
untracked files in the checkout (outputs go to the ignored runs/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import typer

from imdb_edge import console
from imdb_edge.cli import app
from tests.docs.doc_blocks import (
    PARSE,
    RUN,
    SKIP,
    Block,
    blocks,
    command_words,
    pages,
    repository_files,
    simple_commands,
)
from tests.helpers import ROOT

BLOCK_TIMEOUT = 1500
PIP_SHIM = """#!{python}
\"\"\"The docs test's pip: checks an install command as pip itself would (a dry run) without changing the
venv the tests run in.\"\"\"
import subprocess, sys
args = sys.argv[1:]
if args[:1] != ["install"]:
    sys.exit(f"pip (docs test): only `pip install` is checked, not {{args}}")
done = subprocess.run([{python!r}, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet", *args[1:]],
                      capture_output=True, text=True)
sys.stderr.write(done.stderr)
if done.returncode or "does not provide the extra" in done.stderr:
    sys.exit(f"pip (docs test): `pip {{' '.join(args)}}` would fail")
print(f"pip (docs test): `pip {{' '.join(args)}}` resolves (dry run)")
"""


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def parse_error(words: list[str]) -> str | None:
    """None if `imdb-edge WORDS` parses (options, choices, types) as the CLI would parse it, else why not."""
    group = typer.main.get_command(app)
    quiet = console.is_quiet()
    try:
        context = group.make_context("imdb-edge", list(words))
        name, command, rest = group.resolve_command(context, [*context._protected_args, *context.args])
        command.make_context(name, rest, parent=context)
    except Exception as error:  # the CLI's own usage errors, whatever their class
        return error.format_message() if hasattr(error, "format_message") else str(error)
    finally:
        console.set_quiet(quiet)
    return None


def test_every_copyable_block_is_run_or_marked_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    found = all_blocks()
    modes = Counter(block.mode for block in found)
    assert modes[RUN] >= 20, modes  # the docs are mostly runnable
    for block in found:
        if block.mode in (SKIP, PARSE):
            assert len(block.reason) >= 8, f"{block.where}: a marked block needs a real reason"
    with capsys.disabled():
        by_page = Counter((block.page.relative_to(ROOT).as_posix(), block.mode) for block in found)
        print(f"\ndocs blocks: {dict(modes)}; per page: {dict(sorted(by_page.items()))}")


@pytest.mark.parametrize("block", [b for b in all_blocks() if b.is_shell and b.mode != SKIP], ids=lambda b: b.where)
def test_documented_commands_parse_and_name_files_that_exist(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMDB_EDGE_DATA", os.environ.get("IMDB_EDGE_DATA", "/data/aclImdb_v1.tar.gz"))
    for words in simple_commands(block.body):
        command = command_words(words)
        if command[:1] == ["imdb-edge"]:
            error = parse_error(command[1:])
            assert error is None, f"{block.where}: `{' '.join(command)}`: {error}"
        if block.mode == PARSE:  # a run block's files are made by earlier blocks or the run itself tells
            for name in repository_files(command):
                assert (ROOT / name).exists(), f"{block.where}: `{' '.join(command)}` names {name}, which is missing"


def test_no_page_installs_a_package_that_no_index_has() -> None:
    """imdb-edge is not on PyPI: `pip install imdb-edge` fails, or installs someone else's code."""
    for block in all_blocks():
        for words in simple_commands(block.body) if block.is_shell else []:
            command = command_words(words)
            if command[:2] == ["pip", "install"]:
                assert not any(w.startswith("imdb-edge") or w.startswith("imdb_edge[") for w in command), (
                    f"{block.where}: {' '.join(command)}"
                )
    for page in pages():
        assert 'pip install "imdb-edge[' not in page.read_text(encoding="utf-8"), page


def fresh_checkout(destination: Path) -> set[str]:
    """The checkout's tracked files, copied: what a user has after `git clone`. Returns their paths."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    tracked = {name for name in listed.decode().split("\0") if name}
    for name in tracked:
        source = ROOT / name
        if not source.exists():  # deleted in the working tree, not yet committed
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return tracked


def untracked_outputs(copy: Path, tracked: set[str]) -> list[str]:
    """Files the commands wrote outside what .gitignore ignores: they would show up as untracked."""
    made = sorted(
        p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file() and p.relative_to(copy).as_posix()
    )
    new = [name for name in made if name not in tracked and "__pycache__" not in name]
    if not new:
        return []
    checked = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(new) + "\n",
        capture_output=True,
        text=True,
    )
    ignored = set(checked.stdout.splitlines())
    return [name for name in new if name not in ignored]


def page_environment(home: Path, shims: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "COV_", "IMDB_EDGE_")) and key not in ("PYTHONPATH",)
    }
    env.update(
        PATH=os.pathsep.join([str(shims), str(Path(sys.executable).parent), env.get("PATH", "")]),
        HOME=str(home),
        IMDB_EDGE_DATA=os.environ["IMDB_EDGE_DATA"],
        IMDB_EDGE_CACHE=str(home / "cache"),
    )
    return env


RUNNABLE_PAGES = sorted({b.page for b in all_blocks() if b.mode == RUN}, key=lambda p: p.as_posix())


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_documented_blocks_run_as_written(page: Path, full_data: Path, tmp_path: Path) -> None:
    copy, home, shims = tmp_path / "checkout", tmp_path / "home", tmp_path / "shims"
    for folder in (copy, home, shims):
        folder.mkdir()
    tracked = fresh_checkout(copy)
    pip = shims / "pip"
    pip.write_text(PIP_SHIM.format(python=sys.executable), encoding="utf-8")
    pip.chmod(0o755)
    env = page_environment(home, shims)
    timings = []
    for number, block in enumerate(b for b in blocks(page) if b.mode == RUN):
        script = tmp_path / f"block{number}.{'py' if block.language == 'python' else 'sh'}"
        script.write_text(block.body, encoding="utf-8")
        command = [sys.executable, str(script)] if block.language == "python" else ["bash", "-e", "-o", "pipefail"]
        if block.language != "python":
            command.append(str(script))
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, stdin=subprocess.DEVNULL
        )
        timings.append(f"{block.where} {time.monotonic() - started:.1f}s")
        assert done.returncode == 0, (
            f"{block.where} failed (exit {done.returncode}) after {'; '.join(timings[:-1]) or 'no other block'}:\n"
            f"{block.body}\n--- stdout\n{done.stdout[-3000:]}"
            f"\n--- stderr\n{done.stderr[-3000:]}"
        )
    print("docs blocks run:", "; ".join(timings))
    litter = untracked_outputs(copy, tracked)
    assert litter == [], f"{page.name}'s commands leave untracked files in the checkout: {litter[:20]}"
