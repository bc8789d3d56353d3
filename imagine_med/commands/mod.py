"""`imagine-med mod ...`: the moderators' desk from a shell.

    imagine-med mod queue                      held prompts and appeals awaiting a decision
    imagine-med mod approve ID [--reason R]    ID: a case, a held job or an appeal
    imagine-med mod reject ID --reason R
    imagine-med mod audit --format csv|jsonl [--out FILE] [--since DATE] [--until DATE]
    imagine-med mod verify                     check the audit log's hash chain
    imagine-med mod strikes USER_KEY | unban USER_KEY [--reason R]
    imagine-med mod appeal CASE_ID --user USER_KEY [--text T]

Whoever runs this has the database in hand, so the CLI acts as a moderator; `--as NAME` names
them in the audit log (default: cli:<login name>).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from imagine_med.commands.exitcodes import Exit, fail


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mod", help="moderation: review held prompts and appeals, audit log")
    p.add_argument("--as", dest="moderator", help="your name in the audit log")
    p.add_argument("--database-url", help="default: DATABASE_URL or the data dir's SQLite file")
    msub = p.add_subparsers(dest="mod_command", metavar="ACTION")
    msub.required = True

    q = msub.add_parser("queue", help="list held prompts and appeals awaiting a moderator")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true", help="one JSON document")
    q.set_defaults(func=run_queue)

    a = msub.add_parser("approve", help="approve a held prompt (its jobs join the queue) or "
                        "accept an appeal")
    a.add_argument("id", help="case id (c-...), held job id or appeal id (a-...)")
    a.add_argument("--reason", default="")
    a.set_defaults(func=run_decide, approve=True)

    r = msub.add_parser("reject", help="reject a held prompt or an appeal (reason required)")
    r.add_argument("id", help="case id (c-...), held job id or appeal id (a-...)")
    r.add_argument("--reason", required=True, help="shown to the requester")
    r.set_defaults(func=run_decide, approve=False)

    au = msub.add_parser("audit", help="export the audit log")
    au.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    au.add_argument("--out", help="file to write (default: standard output)")
    au.add_argument("--since", type=_date, help="ISO date or time, UTC")
    au.add_argument("--until", type=_date, help="ISO date or time, UTC (exclusive)")
    au.set_defaults(func=run_audit)

    v = msub.add_parser("verify", help="verify the audit log's hash chain")
    v.set_defaults(func=run_verify)

    s = msub.add_parser("strikes", help="a user's active strikes and pause")
    s.add_argument("user_key", help="platform:team:user, e.g. discord:guild-1:1234")
    s.set_defaults(func=run_strikes)

    u = msub.add_parser("unban", help="lift a user's pause")
    u.add_argument("user_key")
    u.add_argument("--reason", default="")
    u.set_defaults(func=run_unban)

    ap = msub.add_parser("appeal", help="file an appeal on a user's behalf")
    ap.add_argument("case_id")
    ap.add_argument("--user", required=True, help="the requester's platform:team:user")
    ap.add_argument("--text", default="")
    ap.set_defaults(func=run_appeal)


def _date(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or time (e.g. 2026-11-28 or 2026-11-28T09:30)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _moderator(args: argparse.Namespace) -> str:
    return args.moderator or f"cli:{getpass.getuser()}"


def _service(args: argparse.Namespace) -> Any:
    from imagine_med.moderation.service import ModerationService
    from imagine_med.settings import get_settings
    from imagine_med.store import migrate

    url = args.database_url or get_settings().resolved_database_url()
    migrate(url)
    return ModerationService(url)


def _guard(fn: Any) -> Any:
    """Turn moderation and queue refusals into one-line errors (never a traceback)."""

    def wrapped(args: argparse.Namespace) -> int:
        import logging

        logging.getLogger("alembic").setLevel(logging.WARNING)  # before its import-time logs
        from imagine_med.moderation.service import ModerationError
        from imagine_med.queue.types import QueueError

        try:
            return int(fn(args) or 0)
        except (ModerationError, QueueError) as exc:
            return fail(exc.message, Exit.ERROR)

    return wrapped


@_guard
def run_queue(args: argparse.Namespace) -> int:
    items = _service(args).pending(limit=args.limit)
    if args.json:
        print(json.dumps([i.as_dict() for i in items], indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("Nothing awaits a moderator.")
        return 0
    for i in items:
        when = i.created_at.strftime("%Y-%m-%d %H:%M")
        print(f"{i.id}  {i.kind:6}  {when}  {i.user_key}  rules: {', '.join(i.rule_ids) or '-'}")
        print(f"    prompt: {i.prompt_redacted}")
        if i.appeal_text:
            print(f"    appeal: {i.appeal_text}")
        if i.job_ids:
            print(f"    jobs: {', '.join(i.job_ids)}")
    return 0


@_guard
def run_decide(args: argparse.Namespace) -> int:
    from imagine_med.moderation.service import NotFound

    svc = _service(args)
    case_id = svc.find_case(args.id)
    if case_id is None:
        raise NotFound(f"Nothing to decide under {args.id!r} (see `imagine-med mod queue`).")
    if svc.case_jobs(case_id):  # held jobs: the queue releases or cancels them
        from imagine_med.queue.api import JobQueue

        svc.queue = JobQueue(database_url=svc.database_url)
    res = svc.decide(args.id, _moderator(args), ("moderator",), args.approve, args.reason)
    verb = "approved" if res.approved else "rejected"
    print(f"{res.kind} {res.item_id} {verb}; case {res.case_id} is now {res.case_status}.")
    if res.released:
        print(f"released into the queue: {', '.join(res.released)}")
    if res.rejected:
        print(f"cancelled: {', '.join(res.rejected)}")
    print(f"the requester ({res.user_key}) is told: {res.message}")
    return 0


@_guard
def run_audit(args: argparse.Namespace) -> int:
    svc = _service(args)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as f:
            n = svc.export_audit(args.format, f, args.since, args.until)
        print(f"wrote {n} audit entries to {args.out}", file=sys.stderr)
    else:
        svc.export_audit(args.format, sys.stdout, args.since, args.until)
    return 0


@_guard
def run_verify(args: argparse.Namespace) -> int:
    check = _service(args).verify_audit()
    if check.ok:
        print(f"audit log intact: {check.entries} entries, hash chain verified")
        return 0
    return fail(f"audit log damaged: {check.problem}", Exit.ERROR)


@_guard
def run_strikes(args: argparse.Namespace) -> int:
    svc = _service(args)
    until = svc.banned_until(args.user_key)
    pause = f"paused until {until:%Y-%m-%d %H:%M} UTC" if until else "not paused"
    print(f"{args.user_key}: {svc.strikes(args.user_key)} active strike(s), {pause}")
    return 0


@_guard
def run_unban(args: argparse.Namespace) -> int:
    lifted = _service(args).unban(args.user_key, _moderator(args), ("moderator",), args.reason)
    print(f"{args.user_key}: pause lifted" if lifted else f"{args.user_key} was not paused")
    return 0


@_guard
def run_appeal(args: argparse.Namespace) -> int:
    from imagine_med.queue.types import Requester

    parts = args.user.split(":")
    if len(parts) != 3 or not all(parts[::2]):
        return fail(f"--user must be platform:team:user (team may be '-'), not {args.user!r}",
                    Exit.ERROR)
    platform, team, user = parts
    who = Requester(platform=platform, user=user, team=None if team == "-" else team)
    appeal_id = _service(args).appeal(args.case_id, who, args.text)
    print(f"appeal {appeal_id} filed; it is in the moderators' queue")
    return 0
