"""`imagine-med caseset PROMPT --findings ... --per-finding N --normal F --out DIR`: a balanced,
annotated case set rendered locally (the bots' /imagine-med-set runs the same on a worker)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _findings(text: str) -> list[str]:
    """Comma-separated findings ("pneumothorax, right pleural effusion, RUL consolidation")."""
    return [w.strip() for w in text.split(",") if w.strip()]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("caseset", help="render a balanced, annotated case set into a ZIP")
    p.add_argument("prompt", help="the study, e.g. 'PA chest x-ray'")
    p.add_argument("--findings", required=True, action="append", type=_findings,
                   metavar="LIST", help="comma-separated findings (repeatable)")
    p.add_argument("--per-finding", type=int, default=20, metavar="N",
                   help="cases per finding (default 20)")
    p.add_argument("--normal", type=float, default=0.0, metavar="F",
                   help="fraction of the whole set that is normal, e.g. 0.2 (default 0)")
    p.add_argument("--seed", type=int, default=0, help="the set's seed (default 0)")
    p.add_argument("--size", type=int, default=None, metavar="PX",
                   help="image width and height (default: the prompt's, 512)")
    p.add_argument("--out", type=Path, default=Path("caseset"), help="output folder")
    p.add_argument("--queue", action="store_true",
                   help="queue it as a batch-lane job for the workers instead (prints the job "
                        "id; `imagine-med fetch JOB --out DIR` writes the ZIP when done)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.commands.outdir import out_dir_problem
    from imagine_med.engine.registry import Unavailable
    from imagine_med.errors import UserError
    from imagine_med.teaching.caseset import build_caseset, summary_markdown
    from imagine_med.teaching.plan import CaseSetRequest

    problem = out_dir_problem(args.out)
    if problem:
        return fail(f"{problem}", Exit.USAGE)
    findings = tuple(f for group in args.findings for f in group)
    request = CaseSetRequest(args.prompt, findings, args.per_finding, args.normal, args.seed,
                             args.size)
    if args.queue:
        return _queue(request)

    def progress(fraction: float, stage: str) -> None:
        print(f"\r{fraction:6.1%} {stage:<24}", end="", file=sys.stderr, flush=True)

    try:
        result = build_caseset(request, args.out, progress)
    except Unavailable as exc:
        return fail(exc.message, Exit.UNAVAILABLE, after_progress=True)
    except UserError as exc:
        return fail(exc.message, Exit.USAGE, after_progress=True)
    print(file=sys.stderr)
    print(summary_markdown(result.summary), end="")
    print(f"{result.zip_path}  ({len(result.rows)} images in {result.seconds:.1f} s)")
    return Exit.OK


def _queue(request) -> int:
    import getpass

    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.engine.registry import Unavailable
    from imagine_med.errors import UserError
    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.types import QueueError, Requester
    from imagine_med.teaching.jobs import submit_caseset

    try:
        jq = JobQueue()
        ref = submit_caseset(jq, request, Requester(platform="cli", user=getpass.getuser()))
    except Unavailable as exc:
        return fail(exc.message, Exit.UNAVAILABLE)
    except QueueError as exc:
        return fail(exc.message, Exit.REFUSED)
    except UserError as exc:
        return fail(exc.message, Exit.USAGE)
    print(f"{ref.id}  queued on the {ref.lane} lane")
    return Exit.OK
