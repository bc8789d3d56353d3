"""`imagine-med submit PROMPT [--wait] [--out DIR]`: send a prompt through the job queue."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="queue a prompt for the workers (--wait to get the files)")
    p.add_argument("prompt")
    p.add_argument("--wait", action="store_true", help="show progress and write the files")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder with --wait")
    p.add_argument("--user", help="submit as this user (default: your login name)")
    p.add_argument("--role", action="append", default=[], help="a role, e.g. instructor")
    p.add_argument("--lane", choices=("priority", "normal", "batch"))
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")
    p.add_argument("--reconnect", type=float, default=300.0, metavar="SECONDS",
                   help="with --wait: keep trying to reach a lost Redis this long (default 300)")
    p.set_defaults(func=run)


def cli_requester(user: str | None, roles: list[str]):  # type: ignore[no-untyped-def]
    import getpass
    import socket

    from imagine_med.queue.types import Requester

    return Requester(
        platform="cli", user=user or getpass.getuser(), team=socket.gethostname(),
        channel="terminal", roles=tuple(roles),
    )


def run(args: argparse.Namespace) -> int:
    import logging

    from imagine_med.errors import UserError
    from imagine_med.prompt import PromptError, parse

    if not args.verbose:  # the queue's per-job log lines are for servers, not this terminal
        logging.getLogger("imagine_med.queue").setLevel(logging.WARNING)

    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.commands.outdir import out_dir_problem
    from imagine_med.engine.registry import Unavailable

    problem = out_dir_problem(args.out) if args.wait else None
    if problem:
        return fail(f"{problem}", Exit.USAGE)
    try:
        specs = parse(args.prompt)
    except PromptError as exc:
        return fail(exc.message, Exit.USAGE)
    try:
        from imagine_med.moderation.service import ModerationService
        from imagine_med.queue.api import JobQueue

        jq = JobQueue()
        jq.check_renderable(specs)  # before screening and queueing: never queued to fail
        requester = cli_requester(args.user, args.role)
        since = jq.stream_tail("cli") if args.wait else "0-0"
        # Screened like a chat prompt: a blocked one (patient identifiers) never reaches the
        # queue or the store, a held one waits for a moderator.
        sub = ModerationService(queue=jq).submit(args.prompt, specs, requester, lane=args.lane)
    except Unavailable as exc:
        return fail(exc.message, Exit.UNAVAILABLE)
    except UserError as exc:
        return fail(exc.message, Exit.REFUSED)
    except Exception as exc:  # Redis reachable at first but failing, store errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # not the SQL params
        return fail(f"could not queue the job: {first}", Exit.REFUSED)
    if sub.screening.decision == "block":
        return fail(f"refused: {sub.screening.reason}", Exit.REFUSED)
    refs = sub.jobs
    if sub.screening.decision == "hold":
        print(f"held: {sub.screening.reason}", file=sys.stderr)
    for ref, spec in zip(refs, specs, strict=True):
        where = jq.position(ref.id)
        line = f"{ref.status} {ref.id}  ({spec.describe()})"
        print(line + (f"  #{where} in line" if where else ""))
    if not args.wait:
        print("follow with: imagine-med jobs   (cancel: imagine-med cancel ID)")
        return 0
    return _wait(jq, refs, specs, args.out, since, args.timeout, args.reconnect)


def _wait(jq, refs, specs, out: Path, since: str, timeout: float | None,  # type: ignore[no-untyped-def]
          reconnect_s: float = 300.0) -> int:
    import redis

    index = {r.id: i for i, r in enumerate(refs)}
    failures = 0
    shown: dict[str, int] = {}
    tty = sys.stderr.isatty()
    lost = False

    def on_reconnect(exc: BaseException | None, delay: float) -> None:
        """Say once that the connection is lost and once that it is back (Redis restarted, or
        the stack restarting a child), not on every retry."""
        nonlocal lost
        if exc is not None and not lost:
            print(f"\nlost the connection to Redis ({exc}); reconnecting (for up to "
                  f"{reconnect_s:g}s)...", file=sys.stderr)
        elif exc is None and lost:
            print("reconnected; still waiting", file=sys.stderr)
        lost = exc is not None

    try:
        for ev in jq.watch(list(index), "cli", since, timeout_s=timeout,
                           reconnect_s=reconnect_s, on_reconnect=on_reconnect):
            i = index[ev.job_id]
            label = f"[{i + 1}/{len(refs)}] " if len(refs) > 1 else ""
            if ev.type == "progress":
                pct = round(100 * float(ev.data.get("progress") or 0))
                if shown.get(ev.job_id) == pct:
                    continue
                shown[ev.job_id] = pct
                msg = f"{label}Generating... {pct}%"
                print(("\r" + msg) if tty else msg, end="" if tty else "\n", file=sys.stderr)
            elif ev.type in ("started", "requeued", "held", "queued"):
                text = {"started": "started", "requeued": "worker lost; queued again",
                        "held": "held for review", "queued": "queued"}[ev.type]
                print(f"{label}{text}", file=sys.stderr)
            elif ev.type == "done":
                if tty:
                    print(file=sys.stderr)
                dest = out if len(refs) == 1 else out / f"case-{i + 1}"
                jq.export(ev.job_id, dest)
                seed = (ev.data.get("result") or {}).get("seed")
                print(f"{dest}/grid.png  ({specs[i].describe()}; seed {seed})")
                if specs[i].unparsed:
                    print(f"  ignored: {', '.join(specs[i].unparsed)}")
            else:
                failures += 1
                why = ev.data.get("error") or ev.data.get("message") or ev.type
                print(f"\n{label}{ev.type}: {why}", file=sys.stderr)
    except TimeoutError:
        print(f"\nstill not finished after {timeout:g}s; see `imagine-med jobs`", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        print("\nstopped waiting; the jobs stay queued (imagine-med cancel ID)", file=sys.stderr)
        return 130
    except redis.RedisError as exc:
        print(f"\nlost the connection to Redis while waiting ({exc}) and could not reconnect; "
              "jobs already queued are kept and finish when it is back: see `imagine-med jobs`",
              file=sys.stderr)
        return 6
    return 3 if failures else 0
