"""Screening cost per prompt, over the labelled corpora (goal: p95 <= 2 ms), and the worst of
30 hostile 50 kB inputs (goal: < 50 ms each).

Each prompt is screened `--repeat` times; the table gives per-prompt median and p95 of the best
of those runs, for the full `screen` and for its stages, plus a same-run baseline (one
`str.lower()` and one precompiled regex search) so the numbers can be compared across machines.
Also prints the corpus scores (PHI recall, misuse recall, clinical false-positive rate).

    .venv/bin/python bench/moderation.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/ holds queue.py: keep the standard library's `queue` visible
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imagine_med.moderation import screen
from imagine_med.moderation.eponyms import protected_spans
from imagine_med.moderation.evaluate import CORPUS_DATE, load, score
from imagine_med.moderation.misuse import find_misuse
from imagine_med.moderation.normalize import normalize
from imagine_med.moderation.phi import find_phi
from imagine_med.moderation.screen import ScreenContext

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_UNITS = [
    "a. ", "a.", "1", "1 ", "1.", "ab-", "a", "Abc ", "a at ", "a@", "a.b@c.", "a.com/", "1:",
    "ab:", "a b ", "Jane Roe ", "jane roe ", "Roe, Jane, ", "J. ", "one two ", "12/12/",
    "third of ", "12 Elm ", "+1 ", "a#1", "(1)", "O'", "Kerley B lines ", "a\u200b", "@a ",
]


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]
_BASELINE = re.compile(r"\b(?:ssn|mrn|dob)\b")


def _per_prompt_ms(fn: Callable[[str], object], prompts: list[str], repeat: int) -> list[float]:
    out = []
    for p in prompts:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(p)
            best = min(best, time.perf_counter() - t0)
        out.append(best * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = load(ROOT / "tests/data/moderation_corpus.jsonl")
    holdout = load(ROOT / "tests/data/moderation_holdout.jsonl")
    holdout2 = load(ROOT / "tests/data/moderation_holdout2.jsonl")
    holdout3 = load(ROOT / "tests/data/moderation_holdout3.jsonl")
    regression = load(ROOT / "tests/data/moderation_regression.jsonl")
    holdout4 = load(ROOT / "tests/data/moderation_holdout4.jsonl")
    prompts = [r["prompt"] for r in rows + holdout + holdout2 + holdout3 + regression + holdout4]
    ctx = ScreenContext(today=CORPUS_DATE)
    screen(prompts[0], ctx)  # warm imports and regex caches

    def phi_stage(p: str) -> object:
        n = normalize(p)
        return find_phi(n.text, n.folded, CORPUS_DATE)

    def misuse_stage(p: str) -> object:
        n = normalize(p)
        return find_misuse(n.folded, protected_spans(n.folded))

    stages: list[tuple[str, Callable[[str], object]]] = [
        ("baseline: lower() + 1 regex", lambda p: _BASELINE.search(p.lower())),
        ("normalize", normalize),
        ("normalize + PHI", phi_stage),
        ("normalize + misuse", misuse_stage),
        ("screen (full)", lambda p: screen(p, ctx)),
    ]
    print(f"{len(prompts)} prompts, best of {args.repeat} runs each\n")
    print(f"{'stage':32} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'x baseline':>11}")
    base = None
    for name, fn in stages:
        ms = _per_prompt_ms(fn, prompts, args.repeat)
        med = statistics.median(ms)
        p95 = statistics.quantiles(ms, n=20)[-1]
        base = base or med
        print(f"{name:32} {med:10.3f} {p95:8.3f} {max(ms):8.3f} {med / base:11.1f}")
    print()
    # Hostile input: 50 kB of one repeated unit each (capped inside screen()), and the same
    # units at 3,900 characters, under the cap, where every detector runs.
    print(f"{'hostile input (x30)':32} {'50 kB ms':>10} {'3.9 kB ms':>10} {'x 390 chars':>12}")
    worst_big = worst_cap = 0.0
    for unit in HOSTILE_UNITS:
        big = min(_per_prompt_ms(lambda p: screen(p, ctx), [_fill(unit, 50_000)], 3))
        cap = min(_per_prompt_ms(lambda p: screen(p, ctx), [_fill(unit, 3_900)], 3))
        small = min(_per_prompt_ms(lambda p: screen(p, ctx), [_fill(unit, 390)], 3))
        worst_big, worst_cap = max(worst_big, big), max(worst_cap, cap)
        print(f"{unit!r:32} {big:10.1f} {cap:10.1f} {cap / small:12.1f}")
    print(f"{'worst':32} {worst_big:10.1f} {worst_cap:10.1f}")
    print()
    print(f"{'corpus':10} {'n':>4} {'PHI recall':>11} {'misuse recall':>14} {'clinical FPR':>13}")
    for name, data in (("corpus", rows), ("holdout", holdout), ("holdout2", holdout2),
                       ("holdout3", holdout3), ("regression", regression),
                       ("holdout4", holdout4)):
        s = score(data)
        print(f"{name:10} {s.total:4d} {s.phi_recall:11.3f} {s.misuse_recall:14.3f} "
              f"{s.false_positive_rate:13.3%}")


if __name__ == "__main__":
    main()
