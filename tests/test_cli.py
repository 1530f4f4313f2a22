"""The ``msa`` command's answers to bad input: a clear message, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from msa.cli import build_parser, main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "99999"], "a port is 1-65535"),
        (["serve", "--port", "eighty"], "not a port number"),
        (["simulate", "press", "--victim", "0"], "must be 1 or more"),
        (["simulate", "press"], "--victim"),
        (["launch"], "invalid choice"),
    ],
)
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_simulate_an_unknown_victim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "press", "--victim", "9"]) == 2
    assert "no demo victim 9" in capsys.readouterr().err


def test_simulate_without_a_server_says_so() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "msa.cli",
            "simulate",
            "press",
            "--victim",
            "1",
            "--url",
            "http://127.0.0.1:9",
            "--give-up-after",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "could not reach the centre" in result.stderr
