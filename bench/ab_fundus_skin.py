"""A/B timing of two source trees on the fundus and skin jobs, for a shared machine.

Runs `python bench/ab_fundus_skin.py BEFORE_TREE AFTER_TREE [--rounds 5] [--jobs 3] [--cpu]`:
each round starts one process per tree, alternating, each rendering `--jobs` 4-variant
jobs of every case at 768 px in one process (after a warm-up job), and the per-round ratio
after/before is reported (median and range): drift in the machine's load cancels out.
A tree is a folder holding the `imagine_med` package (e.g. `git archive REV imagine_med |
tar -x -C /tmp/before`). Used for bench/results-speed-fundus-skin.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

CASES = ("fundus_npdr", "fundus_normal", "derm_melanoma", "derm_clinical", "derm_psoriasis")


def _spec(name: str):
    from imagine_med.prompt.spec import CaseSpec, Finding

    findings = {
        "fundus_npdr": (Finding(name="diabetic_retinopathy", severity="severe"),),
        "fundus_normal": (),
        "derm_melanoma": (Finding(name="melanoma"),),
        "derm_clinical": (Finding(name="melanoma", modifiers=("clinical_photo",)),),
        "derm_psoriasis": (Finding(name="psoriasis"),),
    }[name]
    fundus = name.startswith("fundus")
    return CaseSpec(
        modality="fundus" if fundus else "derm",
        width=768,
        height=768,
        region="retina" if fundus else "skin",
        findings=findings,
        prompt="",
    )


def child(jobs: int, cpu: bool, cases: tuple[str, ...]) -> None:
    os.environ["IMAGINE_MED_RENDER_PROCESSES"] = "1"
    from imagine_med.case import render_case

    clock = time.process_time if cpu else time.perf_counter
    out = []
    for name in cases:
        spec = _spec(name)
        render_case(spec, seed=1)
        times = []
        for i in range(jobs):
            t0 = clock()
            render_case(spec, seed=1000 + i)
            times.append(clock() - t0)
        out.append(f"{name}={statistics.median(times):.4f}")
    print(" ".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--cpu", action="store_true", help="CPU seconds instead of wall")
    ap.add_argument("--cases", default=",".join(CASES),
                    help="comma-separated, of " + ", ".join(CASES))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    cases = tuple(a.cases.split(","))
    if a.child:
        return child(a.jobs, a.cpu, cases)
    res: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(a.rounds):
        for key, tree in (("before", a.before), ("after", a.after)):
            cmd = [
                sys.executable,
                __file__,
                a.before,
                a.after,
                "--child",
                "--jobs",
                str(a.jobs),
                "--cases",
                a.cases,
            ] + (["--cpu"] if a.cpu else [])
            run = subprocess.run(
                cmd,
                env={**os.environ, "PYTHONPATH": tree},
                cwd="/",
                capture_output=True,
                text=True,
                check=True,
            )
            for kv in run.stdout.split():
                n, v = kv.split("=")
                res[key].setdefault(n, []).append(float(v))
    print(
        f"{'CPU' if a.cpu else 'wall'} seconds per 4-variant job, load average "
        f"{os.getloadavg()[0]:.2f}, {a.rounds} rounds x {a.jobs} jobs"
    )
    for n in cases:
        b, f = res["before"][n], res["after"][n]
        r = [x / y for x, y in zip(f, b, strict=True)]
        print(
            f"{n:15} before {statistics.median(b):.3f}  after {statistics.median(f):.3f}  "
            f"ratio {statistics.median(r):.3f} ({min(r):.2f}-{max(r):.2f})"
        )


if __name__ == "__main__":
    main()
