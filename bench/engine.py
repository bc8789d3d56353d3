"""Phantom engine latency: one 4-variant job per modality and view, at 512 and 1024 px.

Prints median and p95 seconds per job, the goal where the issue sets one, and the process's
peak resident memory. Run: `python bench/engine.py [--repeats N] [--sizes 512,1024]`.
The machine is shared, so the load average is printed too, and the median CPU seconds of a
job (what the wall time would be on an idle core: the engine is single-threaded).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py that would shadow the standard library's `queue` (which thread pools
# need) when this script runs as `python bench/engine.py`: drop the script's folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from imagine_med.case import render_case  # noqa: E402
from imagine_med.prompt.spec import CaseSpec, Finding  # noqa: E402

JOBS = [
    ("xray", "PA", {"view": "pa"}, 0.5),
    ("xray", "AP", {"view": "ap"}, None),
    ("xray", "lateral", {"view": "lateral"}, None),
    ("ct", "axial", {"plane": "axial", "level": "carina"}, 1.0),
    ("ct", "coronal", {"plane": "coronal"}, 1.0),
    ("ct", "sagittal", {"plane": "sagittal"}, 1.0),
]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(repeats: int, sizes: list[int], with_finding: bool) -> None:
    findings = (Finding(name="consolidation", laterality="right", location="rul"),) \
        if with_finding else ()
    what = "RUL consolidation" if findings else "none"
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{repeats} jobs of 4 variants each; findings: {what}")
    print(f"{'modality':8} {'view':9} {'size':>5} {'median s':>9} {'p95 s':>7} {'cpu s':>7} "
          f"{'goal s':>7}")
    for size in sizes:
        for modality, name, extra, goal in JOBS:
            spec = CaseSpec(modality=modality, region="chest", width=size, height=size,
                            findings=findings, **extra)
            render_case(spec, seed=1)  # warm: imports, registry, first-call caches
            times, cpu = [], []
            for i in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                render_case(spec, seed=1000 + i)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            g = f"{goal:.1f}" if goal is not None and size == 512 else "-"
            print(f"{modality:8} {name:9} {size:5d} {statistics.median(times):9.3f} "
                  f"{p95:7.3f} {statistics.median(cpu):7.3f} {g:>7}")
    print(f"peak resident memory: {_peak_mb():.0f} MB (goal 1536 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--finding", action="store_true", help="add a RUL consolidation")
    args = ap.parse_args()
    bench(args.repeats, [int(s) for s in args.sizes.split(",")], args.finding)


if __name__ == "__main__":
    main()
