"""What a first-time user types: help, --version, missing extras, choices, --quiet, info --json,
a text-input model without TensorFlow."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_edge import extras
from imdb_edge.extras import install_command, install_hint
from imdb_edge.runtime.classifier import Classifier, default_model_path
from imdb_edge.runtime.modelfile.reader import read_model_file
from tests.helpers import run_cli
from tests.model_factory import build_model_bytes

REVIEWS = ["An absolute masterpiece, I loved every minute.", "This movie was a waste of time"]


def plain(text: str) -> str:
    """Help text without Rich's box drawing, one space between words."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pretend the given modules are not installed, as in a base install."""

    def hide(*modules: str) -> None:
        real = extras.find_spec
        monkeypatch.setattr(extras, "find_spec", lambda name: None if name in modules else real(name))

    return hide


def test_version_names_package_onnxruntime_and_numpy() -> None:
    import numpy
    import onnxruntime

    from imdb_edge import __version__

    result = run_cli("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"imdb-edge {__version__} (onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}, "
        f"Python {'.'.join(map(str, sys.version_info[:3]))})"
    )


def test_top_level_help_says_which_commands_need_the_train_extra() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0, result.output
    text = plain(result.stdout)
    assert "[train] extra" in text and "[onnx] extra" in text and 'pip install ".[train]"' in text
    assert "imdb-edge[" not in text  # no install command naming a package that no index has
    assert "--install-completion" in text
    # Base-install commands are listed first.
    assert text.index("classify") < text.index(" train ")


def test_help_shows_examples_as_lines_and_readable_metavars() -> None:
    result = run_cli("classify", "--help")
    assert result.exit_code == 0, result.output
    lines = [line.strip(" │") for line in result.stdout.splitlines()]
    assert 'imdb-edge classify "This movie was a waste of time"' in lines
    assert "cat reviews.txt | imdb-edge classify -" in lines
    for command in ("classify", "info", "bench", "train", "sweep", "export"):
        help_text = run_cli(command, "--help").stdout
        # Typer 0.28 prints a positional argument's type (<str>, <path>) beside its name; options show our metavars.
        options = re.sub(r"╭─ Arguments ─.*?╰─+╯", "", help_text, flags=re.S)
        assert not re.search(r"<(list|str|path|int|float)\b|\{[a-z_]+\}", options), (command, help_text)
        assert not re.search(r"<list\b|\{[a-z_]+\}", help_text), (command, help_text)
    assert "--file -f FILE" in plain(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--output", "runs/x"],
        ["sweep", "grid.toml", "--output", "runs/s"],
        ["export", "no-such-run-folder", "--output", "x.onnx"],
    ],
)
def test_training_commands_without_the_extra_refuse_in_one_line(
    args: list[str], without, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without("keras", "tensorflow")
    monkeypatch.chdir(tmp_path)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert install_hint("train") in result.stderr and "keras" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing downloaded


def test_bench_plot_without_matplotlib_refuses_before_measuring(without, tmp_path: Path) -> None:
    without("matplotlib")
    result = run_cli("bench", "--plot", str(tmp_path / "p.png"), "--batch", "1", "--threads", "1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: bench --plot needs the [plot] extra (matplotlib not installed): {install_hint('plot')}"
    )
    assert "[1/" not in result.output  # no case was measured


def test_a_wrong_choice_is_a_plain_choice_error() -> None:
    result = run_cli("classify", "--format", "json", "x")
    assert result.exit_code == 2
    assert "Invalid value for '--format': 'json' is not one of auto, lines, jsonl" in plain(result.stderr)
    assert "Value error" not in result.stderr
    result = run_cli("train", "--activation", "swish")
    assert "'swish' is not one of relu, tanh, sigmoid, elu" in plain(result.stderr)


def test_quiet_silences_progress_but_not_results(tmp_path: Path) -> None:
    args = [
        "bench",
        "--batch",
        "1",
        "--threads",
        "1",
        "--mode",
        "model",
        "--text",
        "full",
        "--min-runs",
        "1",
        "--min-seconds",
        "0",
    ]
    loud, quiet = run_cli(*args), run_cli(*args, "-q")
    assert loud.exit_code == quiet.exit_code == 0, quiet.output
    assert "[1/1]" in loud.stderr and quiet.stderr == ""
    assert "p50" in quiet.stdout
    reviews = tmp_path / "reviews.txt"
    reviews.write_text(f"{REVIEWS[0]}\n\n{REVIEWS[1]}\n", encoding="utf-8")
    result = run_cli("classify", "--quiet", "--workers", "1", "--file", str(reviews))
    assert result.exit_code == 1  # the empty line still counts as an error
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["positive", "error", "negative"]
    assert "warning" not in result.stderr and "1 of 3 input(s) could not be classified" in result.stderr


def test_info_json_is_strict_json_and_the_int8_check_passes() -> None:
    result = run_cli("info", "--json")
    assert result.exit_code == 0, result.output

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    document = json.loads(result.stdout, parse_constant=refuse)
    int8 = document["int8"]
    assert int8["passed"] is True and int8["drop_points"] <= int8["max_drop_points"]
    assert "passed" not in int8["vs_keras"] and "tolerance" not in int8["vs_keras"]
    assert document["export"]["int8"] == int8
    text = run_cli("info").stdout
    assert "passed: at most 0.5 may be lost" in text and "information, not a check" in text


def test_text_model_from_the_shipped_one_needs_no_tensorflow(tmp_path: Path) -> None:
    out = tmp_path / "imdb.text.onnx"
    # A fresh interpreter runs the command, then lists any training framework it imported.
    script = f"""
import sys
from imdb_edge.cli import main
sys.argv = ["imdb-edge", "export", "--input", "text", "--output", {str(out)!r}]
try:
    main()
finally:
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx")), file=sys.stderr)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("[]"), done.stderr
    assert "PASS  text input vs default.int8.onnx on 256 reviews" in done.stderr
    text_model, shipped = Classifier.load(out), Classifier.load()
    assert text_model.input_form == "text"
    assert [p.label for p in text_model.predict_batch(REVIEWS)] == ["positive", "negative"]
    assert abs(text_model.scores(REVIEWS) - shipped.scores(REVIEWS)).max() <= 1e-5
    rewrapped = read_model_file(out).export["rewrapped"]
    assert rewrapped["source_file"] == default_model_path().name and rewrapped["parity_vs_source"]["passed"]


def test_text_model_from_a_file_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    token_ids = tmp_path / "ids.onnx"
    token_ids.write_bytes(build_model_bytes())
    dense = tmp_path / "dense.onnx"
    dense.write_bytes(build_model_bytes(form="text"))
    cases = {
        ("export", str(token_ids), "-o", str(tmp_path / "a.onnx")): "only --input text",
        ("export", str(token_ids), "--input", "text", "--quantize", "int8", "-o", str(tmp_path / "b.onnx")): (
            "keeps its own precision"
        ),
        ("export", str(token_ids), "--input", "text", "-o", str(token_ids)): "is the source model",
        ("export", str(dense), "--input", "text", "-o", str(tmp_path / "c.onnx")): "only a token_ids model",
        ("export", "--input", "text"): "'--output' / '-o': the .onnx file to write is required",
    }
    before = token_ids.read_bytes()
    for args, message in cases.items():
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in plain(result.stderr), (args, result.stderr)
    assert token_ids.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.onnx", "ids.onnx"]


def test_old_out_spelling_still_works_and_conflicts_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "ids.onnx"
    source.write_bytes(build_model_bytes())
    result = run_cli("export", str(source), "--input", "text", "--out", str(tmp_path / "old.onnx"), "-q")
    assert result.exit_code == 0, result.output
    assert Classifier.load(tmp_path / "old.onnx").input_form == "text"
    result = run_cli("export", str(source), "--input", "text", "-o", str(tmp_path / "a.onnx"), "--out", "b.onnx")
    assert result.exit_code == 2 and "give --output once" in result.stderr


def test_cli_import_does_not_need_tomllib() -> None:
    """Python 3.10 has no tomllib: importing the CLI (every command does) must not touch it."""
    code = "import sys, imdb_edge.cli; print('tomllib' in sys.modules, 'tomli' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_shell_completion_completes_commands_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {"_IMDB_EDGE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        result = run_cli(env=env)
        assert result.exit_code == 0, result.output
        return result.output.split()

    assert complete("imdb-edge cl") == ["classify"]
    assert complete("imdb-edge classify --format j") == ["jsonl"]
    assert complete("imdb-edge export --input t") == ["token_ids", "text", "text_fast"]
    script = run_cli("--show-completion", "bash")
    assert "complete -o default -F _imdb_edge_completion imdb-edge" in script.output


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (None, 'pip install "imdb-edge[train]"'),  # from an index: the name is what the user installed
        ({"url": "file:///src/imdb-edge", "dir_info": {"editable": True}}, 'pip install -e "/src/imdb-edge[train]"'),
        ({"url": "file:///src/imdb-edge", "dir_info": {}}, 'pip install "/src/imdb-edge[train]"'),
        (
            {"url": "file:///dl/imdb_edge-0.1.0-cp311-cp311-linux_x86_64.whl", "archive_info": {}},
            'pip install "/dl/imdb_edge-0.1.0-cp311-cp311-linux_x86_64.whl[train]"',
        ),
        (
            {"url": "https://example.org/imdb-edge.git", "vcs_info": {"vcs": "git", "commit_id": "ab12"}},
            'pip install "imdb-edge[train] @ git+https://example.org/imdb-edge.git@ab12"',
        ),
    ],
)
def test_install_hints_follow_how_the_package_was_installed(origin: dict | None, expected: str) -> None:
    assert install_command("train", origin) == expected


def test_this_checkouts_hint_names_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.helpers import ROOT

    monkeypatch.chdir(tmp_path)
    assert f'"{ROOT}[train]"' in install_hint("train")
    monkeypatch.chdir(ROOT)
    assert '".[train]"' in install_hint("train")
