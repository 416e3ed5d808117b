"""The copyable code blocks of the README and docs/, and how the docs test treats each one.

A ```bash / ```sh / ```python block is run (in document order, in a fresh copy of the
checkout) unless the nearest non-blank line above its fence is a visible marker:

    *Not run by the docs test: REASON.*                skipped, and counted with its reason
    *Parsed, not run, by the docs test: REASON.*       each `imdb-edge` command is parsed by the CLI
                                                       itself and each repository file it names must exist

A page may carry one page-wide marker line of the form
`*Every example on this page is parsed, not run, by the docs test: REASON.*`: it then applies
to the page's unlabelled blocks too (docs/cli.md: the `--help` examples). ```console blocks
are usage synopses (`imdb-edge [OPTIONS] COMMAND`), not commands, and are counted apart.
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

RUN, PARSE, SKIP, SYNOPSIS = "run", "parse", "skip", "synopsis"
SHELL_LANGUAGES = {"bash", "sh", "shell"}
COPYABLE = SHELL_LANGUAGES | {"python"}
FENCE = re.compile(r"^\s*```(?P<lang>[\w-]*)\s*$")
MARKERS = {
    SKIP: re.compile(r"^\*Not run by the docs test: (?P<reason>.+)\.\*$"),
    PARSE: re.compile(r"^\*Parsed, not run, by the docs test: (?P<reason>.+)\.\*$"),
}
PAGE_MARKER = re.compile(r"^\*Every example on this page is parsed, not run, by the docs test: (?P<reason>.+)\.\*$")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", "(", ")"}
REDIRECTIONS = {">", ">>", "<", ">&", "&>", "<<", "2>"}
PATH_PREFIXES = ("configs/", "scripts/", "benchmarks/", "examples/", "imdb_edge/", "tests/")
OUTPUT_OPTIONS = {"--output", "-o", "--out", "--plot"}


def pages() -> list[Path]:
    """Every page a user reads: the README, docs/*.md, the examples' READMEs."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    """1-based line of the opening fence."""
    language: str
    body: str
    mode: str
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES or (self.language == "" and self.mode == PARSE)


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    page_reason = next((m["reason"] for line in lines if (m := PAGE_MARKER.match(line.strip()))), None)
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == "```"), len(lines))
        language = opening["lang"]
        body = textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"  # a fence inside a list item
        above = next((lines[j].strip() for j in range(index - 1, -1, -1) if lines[j].strip()), "")
        mode, reason = RUN, ""
        for marked_mode, pattern in MARKERS.items():
            if matched := pattern.match(above):
                mode, reason = marked_mode, matched["reason"]
        if language == "console":
            mode, reason = SYNOPSIS, "a usage synopsis"
        elif language not in COPYABLE:
            if language == "" and page_reason is not None:
                mode, reason = PARSE, page_reason
            else:
                mode, reason = SYNOPSIS, f"not a shell or Python block ({language or 'plain text'})"
        elif page_reason is not None and mode == RUN:
            mode, reason = PARSE, page_reason
        found.append(Block(page, index + 1, language, body, mode, reason))
        index = end + 1
    return found


def logical_lines(body: str) -> Iterator[str]:
    """Shell lines with backslash continuations and multi-line quoted strings joined."""
    pending = ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        pending += line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the string goes on on the next line
            pending += "\n"
            continue
        yield pending
        pending = ""
    if pending:
        yield pending


def simple_commands(body: str) -> Iterator[list[str]]:
    """Each simple command of a shell block as words (comments, redirections and operators removed;
    `$VAR` expanded from this environment)."""
    for line in logical_lines(body):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        tokens = list(lexer)
        skip_next = False
        for position, token in enumerate(tokens):
            if skip_next:
                skip_next = False
                continue
            if token in SHELL_OPERATORS:
                if words:
                    yield words
                words = []
            elif token in REDIRECTIONS or set(token) <= set("<>&"):
                skip_next = True
                if words and words[-1].isdigit() and position > 0 and tokens[position - 1] == words[-1]:
                    words.pop()  # the 2 of 2>&1
            else:
                words.append(os.path.expandvars(token))
        if words:
            yield words


WRAPPERS = {"time", "/usr/bin/time", "env", "nohup", "timeout", "nice"}


def command_words(words: list[str]) -> list[str]:
    """The command itself: without leading `VAR=value` assignments or a wrapper such as `/usr/bin/time -f X`."""
    index = 0
    while index < len(words) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[index]):
        index += 1
    command = words[index:]
    if command and command[0] in WRAPPERS and "imdb-edge" in command:
        return command[command.index("imdb-edge") :]
    return command


def repository_files(words: list[str]) -> list[str]:
    """Words that name a file of this repository the command reads (not one it writes)."""
    named = []
    for position, word in enumerate(words):
        if position and words[position - 1] in OUTPUT_OPTIONS:
            continue
        if word.startswith(PATH_PREFIXES) and "." in Path(word).name and not any(c in word for c in "*?$"):
            named.append(word)
    return named
