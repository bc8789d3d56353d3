"""`imagine-med moderate`: the verdict as JSON, exit codes for scripts, clear errors."""

from __future__ import annotations

import io
import json

import pytest

from imagine_med.cli import main


def test_moderate_prints_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["moderate", "Mrs Patel, DOB 04/07/1962, knee MRI --seed 3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decision"] == "block" and doc["phi"] is True
    assert set(doc["rule_ids"]) == {"phi.name", "phi.dob"}
    assert doc["redacted_prompt"] == "Mrs [NAME], DOB [DOB], knee MRI --seed 3"
    assert "Patel" not in json.dumps(doc) and len(doc["prompt_sha256"]) == 64
    assert "patient identifiers" in doc["reason"]


@pytest.mark.parametrize("prompt,code", [
    ("H&E liver biopsy macrovesicular steatosis 60%", 0),
    ("a celebrity's knee MRI", 3),
    ("x-ray for my insurance claim", 4),
])
def test_exit_codes(prompt: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["moderate", "--exit-code", prompt]) == code
    decision = json.loads(capsys.readouterr().out)["decision"]
    assert {0: "allow", 3: "hold", 4: "block"}[code] == decision


def test_stdin_and_empty_prompt(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("sexy nurse\n"))
    assert main(["moderate", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["rule_ids"] == ["sexual.explicit"]
    monkeypatch.setattr("sys.stdin", io.StringIO("   "))
    assert main(["moderate"]) == 2
    assert "the prompt is empty" in capsys.readouterr().err
