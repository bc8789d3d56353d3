"""`imagine-med fetch JOB --out DIR`: a finished job's public files, written into a folder.

JOB is what `submit`, `jobs` or a chat message shows (a job id or a unique start of one), or
the id `verify` reads from an image's invisible mark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch", help="write a finished job's files (grid, variants, labels, case.json)",
        description="Write a finished job's public files into a folder. JOB: a job id, a "
                    "unique start of one, or the id `imagine-med verify` prints for an image.")
    p.add_argument("job", metavar="JOB")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.commands.outdir import out_dir_problem
    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.types import QueueError

    problem = out_dir_problem(args.out)
    if problem:
        return fail(f"{problem}", Exit.USAGE)
    try:
        jq = JobQueue()
        found = jq.resolve(args.job)
    except QueueError as exc:
        return fail(exc.message, Exit.REFUSED)
    if not found:
        return fail(f"there is no job {args.job!r} (see `imagine-med jobs`)", Exit.USAGE)
    done = [j for j in found if j.status == "done" and j.result]
    if not done:
        job = found[0]
        if job.status in ("failed", "cancelled"):
            why = job.error or job.status
            return fail(f"job {job.id} {job.status}: {why}", Exit.FAILED)
        print(f"error: job {job.id} is {job.status}; fetch it once it is done "
              "(or `imagine-med submit --wait`)", file=sys.stderr)
        return Exit.NOT_FINISHED
    if len(done) > 1:
        others = ", ".join(j.id for j in done[1:4])
        print(f"note: {len(done)} finished jobs match {args.job}; writing the newest "
              f"({done[0].id}); others: {others}", file=sys.stderr)
    job = done[0]
    written = jq.export(job.id, args.out)
    if not written:
        return fail(f"job {job.id}'s files are gone from the file store", Exit.FAILED)
    for name in sorted(written):
        print(args.out / name)
    return Exit.OK
