"""The command line as a user runs it: exit codes, JSON, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from imagine_med.cli import main


def test_parse_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "PA chest x-ray, right upper lobe consolidation, adult male --seed 7"])
    out, err = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)
    assert doc["modality"] == "xray" and doc["seed"] == 7
    assert doc["findings"][0]["location"] == "rul"
    assert "interpreted as: PA chest X-ray" in err


def test_parse_permutations_print_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "axial {t1, flair} brain mri"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["sequence"] for d in docs] == ["t1", "flair"]


def test_parse_error_exits_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "chest x-ray --sead 7"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Did you mean --seed?" in err and "Traceback" not in err


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "imagine_med.cli", "parse", "brain MRI --stain he"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "stain (he) does not apply to MRI" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_generate_unknown_renderer_is_a_clear_error(tmp_path, capsys) -> None:
    code = main(["generate", "AP breast x-ray", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 7
    assert "X-ray breast (AP view) is not available yet" in err and "available: phantom" in err
    assert not (tmp_path / "grid.png").exists(), "never a placeholder image"


def test_unexpected_errors_are_one_line_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mod", "--database-url", "not-a-database-url", "queue"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ArgumentError: Could not parse") and err.count("\n") == 1
    assert "Traceback" not in err
