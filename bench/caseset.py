"""Case-set throughput: the issue's 500-film chest set (25 findings x 20, PA, 512 px) rendered,
written and zipped end to end, as `imagine-med caseset` does it.

Prints wall seconds (render+write, tables, ZIP), images per second, CPU seconds, the peak
resident memory of this process and of its render processes, and the load average (the
machine is shared: read the CPU seconds too). Goal (issue 20): <= 300 s end to end on 2 cores.
Run: `python bench/caseset.py [--per-finding 20] [--size 512] [--normal 0] [--out DIR]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py that would shadow the standard library's `queue`: drop this folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

GOAL_S = 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-finding", type=int, default=20)
    ap.add_argument("--findings", type=int, default=25, help="the first N of the 25")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--normal", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the set here (default: temp)")
    args = ap.parse_args()

    from imagine_med.engine.parallel import process_count, shutdown
    from imagine_med.teaching.caseset import build_caseset
    from imagine_med.teaching.plan import EXAMPLE_CHEST_FINDINGS, CaseSetRequest

    findings = EXAMPLE_CHEST_FINDINGS[: args.findings]
    request = CaseSetRequest("PA chest x-ray", findings, args.per_finding, args.normal,
                             args.seed, args.size)
    out = args.out or Path(tempfile.mkdtemp(prefix="imagine-med-bench-caseset-"))
    marks: dict[str, float] = {}
    t0 = time.monotonic()

    def progress(fraction: float, stage: str) -> None:
        marks.setdefault(stage.split()[0], time.monotonic() - t0)
        print(f"\r{fraction:6.1%} {stage:<20} {time.monotonic() - t0:7.1f} s", end="",
              file=sys.stderr, flush=True)

    load0 = os.getloadavg()
    procs = process_count()
    result = build_caseset(request, out, progress)
    wall = time.monotonic() - t0
    print(file=sys.stderr)
    shutdown()
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = len(result.rows)
    zip_mb = result.zip_path.stat().st_size / 1e6
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(f"case set: {len(findings)} findings x {args.per_finding} + normal {args.normal:g} = "
          f"{n} PA films at {args.size} px; render processes at start: {procs}")
    print(f"wall {wall:.1f} s (render+write {marks.get('zip', wall):.1f} s, "
          f"tables+zip {wall - marks.get('zip', wall):.1f} s); {n / wall:.2f} images/s; "
          f"goal {GOAL_S:.0f} s: {'met' if wall <= GOAL_S else 'NOT met'}")
    print(f"cpu {cpu:.1f} s ({cpu / n:.3f} s per image); ZIP {zip_mb:.0f} MB")
    print(f"peak RSS: this process {me.ru_maxrss / 1024:.0f} MB, largest render process "
          f"{kids.ru_maxrss / 1024:.0f} MB")
    print(f"load average at start {load0[0]:.1f}, at end {os.getloadavg()[0]:.1f} "
          f"({len(os.sched_getaffinity(0))} cores)")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
