"""`imagine-med jobs [ID]` (list or show) and `imagine-med cancel ID`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from imagine_med.commands.exitcodes import Exit, fail


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list queued/running/recent jobs, or show one")
    p.add_argument("job_id", nargs="?", metavar="JOB",
                   help="a job id, a unique start of one, or the id `verify` prints")
    p.add_argument("--status", action="append", default=[],
                   choices=("queued", "running", "done", "failed", "cancelled", "held"))
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_jobs)
    c = sub.add_parser("cancel", help="cancel a job (yours, or anyone's with --moderator)")
    c.add_argument("job_id")
    c.add_argument("--user", help="cancel as this user (default: your login name)")
    c.add_argument("--moderator", action="store_true", help="act as a moderator")
    c.set_defaults(func=run_cancel)


def _queue():  # type: ignore[no-untyped-def]
    from imagine_med.queue.api import JobQueue

    return JobQueue()


def _age(ts: float | None) -> str:
    if ts is None:
        return "-"
    s = max(0, int(time.time() - ts))
    return f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h"


def run_jobs(args: argparse.Namespace) -> int:
    from imagine_med.queue.types import QueueError

    try:
        jq = _queue()
        if args.job_id:  # an id, a unique start of one, or the id `verify` prints
            found = jq.resolve(args.job_id)
            if not found:
                return fail(f"there is no job {args.job_id}", Exit.USAGE)
            info = found[0]
            if len(found) > 1:
                print(f"note: {len(found)} jobs match {args.job_id}; showing the newest; "
                      f"others: {', '.join(j.id for j in found[1:6])}", file=sys.stderr)
            doc = {k: v for k, v in vars(info).items() if v not in (None, "", {}, ())}
            if "reply_target" in doc:  # may hold a platform's interaction token: show keys only
                doc["reply_target"] = {k: "…" for k in doc["reply_target"]}
            doc["position"] = jq.position(info.id)
            print(json.dumps(doc, indent=2, default=str))
            return 0
        jobs = jq.list_jobs(statuses=tuple(args.status), limit=args.limit)
        counts = jq.counts()
    except QueueError as exc:
        return fail(exc.message, Exit.REFUSED)
    if args.json:
        print(json.dumps([{**vars(j), "reply_target": {k: "…" for k in j.reply_target or {}}}
                          for j in jobs], default=str))
        return 0
    print("waiting: " + ", ".join(f"{k[7:]} {v}" for k, v in counts.items() if k.startswith(
        "queued_")) + f"; running {counts['running']}; held {counts['held']}")
    for j in jobs:
        extra = ""
        if j.status == "queued":
            extra = f"#{jq.position(j.id)} in line"
        elif j.status == "running":
            extra = f"{round(100 * (j.progress or 0))}% on {j.worker}"
        elif j.status in ("failed", "cancelled"):
            extra = (j.error or "")[:60]
        prompt = (j.prompt or "")[:48]
        print(f"{j.id}  {j.status:<9} {j.lane:<8} {j.user_key:<24} {_age(j.created_at):>4}  "
              f"{prompt!r} {extra}")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    from imagine_med.commands.submit import cli_requester
    from imagine_med.queue.types import QueueError

    try:
        jq = _queue()
        who = cli_requester(args.user, ["moderator"] if args.moderator else [])
        outcome = jq.cancel(args.job_id, who, roles=who.roles)
    except QueueError as exc:
        return fail(exc.message, Exit.REFUSED)
    text = {"cancelled": "cancelled", "cancelling": "cancelling (it stops at its next step)"}
    print(f"{args.job_id}: {text.get(outcome, f'already {outcome}; nothing to cancel')}")
    return 0
