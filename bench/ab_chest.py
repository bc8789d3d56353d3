"""A/B CPU timing of two source trees on the chest rows of bench/engine.py, in ONE process.

Runs `python bench/ab_chest.py BEFORE_TREE AFTER_TREE [--rounds 10] [--only pa,ct_axial]`.
A tree is a folder holding the `imagine_med` package (e.g. `git archive REV imagine_med |
tar -x -C /tmp/before`). Both trees are imported side by side (each keeps its own modules;
they are swapped into `sys.modules` before each of its jobs, so imports made at call time find
the tree's own), and their 4-variant 512 px jobs alternate A, B, B, A, ... in this process
(`render_case`, IMAGINE_MED_RENDER_PROCESSES=1, after a warm-up job of each; seeds 1000-1002
in turn). Each job's CPU time (time.process_time) is taken; the min per tree and the median
of the per-pair ratios after/before are printed, with the load. On a shared machine both
trees meet the same load within a second of each other, so the ratio is what to read.
Used for bench/results-chest-speed.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from types import ModuleType  # noqa: E402

ROWS = {  # bench/engine.py's chest rows
    "pa": {"modality": "xray", "view": "pa"},
    "ap": {"modality": "xray", "view": "ap"},
    "lateral": {"modality": "xray", "view": "lateral"},
    "ct_axial": {"modality": "ct", "plane": "axial", "level": "carina"},
    "ct_coronal": {"modality": "ct", "plane": "coronal"},
    "ct_sagittal": {"modality": "ct", "plane": "sagittal"},
}


def _ours() -> list[str]:
    return [k for k in sys.modules if k.split(".")[0] == "imagine_med"]


def load(tree: str) -> dict[str, ModuleType]:
    """Import `tree`'s package (render path and spec) and return its modules."""
    for k in _ours():
        del sys.modules[k]
    sys.path.insert(0, tree)
    import imagine_med.case
    import imagine_med.engine.phantom.regions.chest.renderer
    import imagine_med.prompt.spec

    assert imagine_med.case.__file__.startswith(str(Path(tree).resolve())), tree
    sys.path.remove(tree)
    return {k: sys.modules[k] for k in _ours()}


def job(mods: dict[str, ModuleType], row: str, seed: int) -> float:
    """CPU seconds of one 4-variant 512 px job of `row` on the tree whose modules these are."""
    for k in _ours():
        del sys.modules[k]
    sys.modules.update(mods)
    spec = mods["imagine_med.prompt.spec"].CaseSpec(region="chest", width=512, height=512,
                                                    **ROWS[row])
    c0 = time.process_time()
    mods["imagine_med.case"].render_case(spec, seed=seed)
    return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--only", default=",".join(ROWS))
    args = ap.parse_args()
    os.environ["IMAGINE_MED_RENDER_PROCESSES"] = "1"
    trees = [load(str(Path(t).resolve())) for t in (args.before, args.after)]
    print(f"{'row':12} {'before s':>9} {'after s':>8} {'ratio':>6} {'pairs':>12} {'load':>5}")
    for row in args.only.split(","):
        for mods in trees:
            job(mods, row, 1)  # warm: first-call caches
        times: list[list[float]] = [[], []]
        for i in range(args.rounds):
            for k in ((0, 1) if i % 2 == 0 else (1, 0)):
                times[k].append(job(trees[k], row, 1000 + i % 3))
        pairs = sorted(b / a for a, b in zip(*times, strict=True))
        print(f"{row:12} {min(times[0]):9.3f} {min(times[1]):8.3f} "
              f"{statistics.median(pairs):6.3f} {pairs[0]:5.3f}-{pairs[-1]:5.3f} "
              f"{os.getloadavg()[0]:5.2f}", flush=True)


if __name__ == "__main__":
    main()
