"""Score the screener against a labelled corpus (JSONL: prompt, label, expect, kind).

Definitions used in tests and reports:
- PHI recall: share of `phi` prompts that are blocked with at least one `phi.*` rule.
- misuse recall: share of `misuse` prompts that are not allowed (held or blocked).
- clinical false-positive rate: share of `clean` prompts that are not allowed.
- exact: share of all prompts whose decision equals the expected one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from imagine_med.moderation.screen import ScreenContext, Verdict, screen

# The corpus and its expectations were written on this date; ages from birth years use it.
CORPUS_DATE = date(2026, 11, 28)


@dataclass
class Score:
    total: int = 0
    phi: int = 0
    phi_caught: int = 0
    misuse: int = 0
    misuse_caught: int = 0
    clean: int = 0
    clean_flagged: int = 0
    exact: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def phi_recall(self) -> float:
        return self.phi_caught / self.phi if self.phi else 1.0

    @property
    def misuse_recall(self) -> float:
        return self.misuse_caught / self.misuse if self.misuse else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.clean_flagged / self.clean if self.clean else 0.0

    @property
    def exact_rate(self) -> float:
        return self.exact / self.total if self.total else 1.0


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(rows: Iterable[dict[str, Any]]) -> Score:
    ctx = ScreenContext(today=CORPUS_DATE)
    s = Score()
    for row in rows:
        v: Verdict = screen(row["prompt"], ctx)
        s.total += 1
        s.exact += v.decision == row["expect"]
        label = row["label"]
        if label == "phi":
            s.phi += 1
            ok = v.decision == "block" and v.phi
            s.phi_caught += ok
        elif label in ("misuse", "sensitive"):
            s.misuse += 1
            ok = v.decision != "allow"
            s.misuse_caught += ok
        else:
            s.clean += 1
            ok = v.decision == "allow"
            s.clean_flagged += not ok
        if not ok or v.decision != row["expect"]:
            s.misses.append({**row, "got": v.decision, "rule_ids": list(v.rule_ids)})
    return s
