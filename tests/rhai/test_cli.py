"""``picloud rhai run``: output, the JSON result line, error lines and exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from picloud.cli import main


def run_cli(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, list[str]]:
    """Run the CLI in-process; returns the exit code and stdout lines."""
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    return code, capsys.readouterr().out.splitlines()


def test_run_prints_output_then_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a script that prints and returns an array
    code, out = run_cli(["rhai", "run", "-e", 'print("hi"); debug("d"); [1, "a", 2.5]'], capsys)
    # Then its output comes first, then the typed result as JSON, and the exit code is 0
    assert code == 0
    assert out[:2] == ["hi", '"d"']
    assert json.loads(out[-1]) == {
        "type": "array",
        "value": '[1, "a", 2.5]',
        "debug": '[1, "a", 2.5]',
    }


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("40 + 2", {"type": "i64", "value": "42", "debug": "42"}),
        ('"x"', {"type": "string", "value": "x", "debug": '"x"'}),
        ("()", {"type": "()", "value": "", "debug": "()"}),
        ("1.0", {"type": "f64", "value": "1.0", "debug": "1.0"}),
        ("'c'", {"type": "char", "value": "c", "debug": "c"}),
    ],
)
def test_result_line_has_type_display_and_debug(
    src: str, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a script value, then the JSON line shows its type_of name, print text and debug text
    code, out = run_cli(["rhai", "run", "-e", src], capsys)
    assert code == 0
    assert json.loads(out[-1]) == expected


def test_runtime_error_prints_kind_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a failing script, then an ERROR line names the Rhai kind and the exit code is 1
    code, out = run_cli(["rhai", "run", "-e", "1 / 0"], capsys)
    assert code == 1
    assert out[-1].startswith("ERROR ErrorArithmetic: ")
    assert "Traceback" not in "\n".join(out)


def test_parse_error_names_the_parse_error_kind(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a syntax error, then the ERROR line is ErrorParsing.<Kind>
    code, out = run_cli(["rhai", "run", "-e", "let x = ;"], capsys)
    assert code == 1
    assert out[-1].startswith("ERROR ErrorParsing.")


def test_file_and_stdin_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a script file and a script on stdin, then both run
    script = tmp_path / "s.rhai"
    script.write_text("fn f(x) { x * 2 } f(21)", encoding="utf-8")
    code, out = run_cli(["rhai", "run", str(script)], capsys)
    assert code == 0 and json.loads(out[-1])["value"] == "42"
    code, out = run_cli(["rhai", "run", "-"], capsys, stdin="6 * 7", monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out[-1])["value"] == "42"


def test_missing_file_is_an_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given a path that does not exist, then an ERROR line and exit code 1
    code, out = run_cli(["rhai", "run", str(tmp_path / "nope.rhai")], capsys)
    assert code == 1 and out[-1].startswith("ERROR ")


def test_bench_prints_time_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    # Given --bench, then the time per run is printed before the result
    code, out = run_cli(["rhai", "run", "--bench", "3", "-e", 'print("quiet"); 1 + 1'], capsys)
    assert code == 0
    assert "ms per run" in out[-2]
    assert "quiet" not in out[-2:]
    assert json.loads(out[-1])["value"] == "2"
