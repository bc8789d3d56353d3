"""Teaching commands on written cases: `export` (PPTX, PDF, DICOM ZIP), `pacs` (STOW-RS or
C-STORE) and `series` (the same patient in another study, or later).

SOURCE is a case-set folder (it has manifest.json), a case folder (it has case.json), or a
finished job (`JOB` or `JOB:N` for variant N), as many as given, in order.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("export", help="cases to a PowerPoint deck, a PDF handout or DICOM ZIP")
    e.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="case-set folder, case folder, or JOB[:VARIANT]")
    _collection_options(e)
    e.add_argument("--pptx", type=Path, help="write a deck (question slide, answer slide)")
    e.add_argument("--pdf", type=Path, help="write a handout (answers at the back)")
    e.add_argument("--dicom-zip", type=Path, help="write a ZIP of DICOM studies")
    e.add_argument("--title", default=None, help="deck/handout title")
    e.set_defaults(func=run_export)
    p = sub.add_parser("pacs", help="send cases' DICOM to a PACS (STOW-RS or C-STORE)")
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    _collection_options(p)
    p.add_argument("--to", metavar="URL",
                   help="http(s)://host:port/dicom-web or dicom://AE_TITLE@host:port "
                        "(default: IMAGINE_MED_PACS_URL)")
    p.add_argument("--calling-ae", default=None,
                   help="our AE title for C-STORE (default: IMAGINE_MED_PACS_CALLING_AE)")
    p.set_defaults(func=run_pacs)
    s = sub.add_parser("series", help="the same patient: another study, or a follow-up")
    s.add_argument("prompt", help="the first study, e.g. 'PA chest x-ray with RLL consolidation'")
    s.add_argument("--then", action="append", required=True, metavar="TEXT",
                   help="'CT of this patient', 'follow-up at 6 weeks', 'after treatment' "
                        "(repeatable, in order)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, default=Path("series"))
    s.set_defaults(func=run_series)


def _collection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", metavar="NAME",
                   help="a course-library collection's items, in saved order (with --platform "
                        "and --team)")
    p.add_argument("--platform", choices=("discord", "slack"))
    p.add_argument("--team", help="Discord guild id or Slack team id of the collection")


def collection_jobs(name: str, platform: str | None, team: str | None) -> list[str]:
    """The job ids of a library collection (teaching.library), oldest item first."""
    from imagine_med.settings import get_settings
    from imagine_med.teaching.library import Library, Member

    if not (platform and team):
        raise FileNotFoundError("--collection needs --platform and --team")
    library = Library(get_settings().resolved_database_url())
    items = library.items_of(Member(platform, team, "imagine-med-cli"), name)
    if not items:
        raise FileNotFoundError(f"collection {name!r} has no items on {platform} {team}")
    return [item.job_id for item in items]


def _sources(args: argparse.Namespace) -> list[str]:
    sources = list(args.sources)
    if args.collection:
        sources += collection_jobs(args.collection, args.platform, args.team)
    if not sources:
        raise FileNotFoundError("give a SOURCE or --collection")
    return sources


def load_cases(sources: list[str]) -> list[Any]:
    from imagine_med.teaching.cases import case_from_folder, case_from_job, cases_from_caseset

    cases: list[Any] = []
    queue = None
    for src in sources:
        path = Path(src)
        if (path / "manifest.json").is_file():
            cases += cases_from_caseset(path)
        elif (path / "case.json").is_file():
            cases.append(case_from_folder(path, title=f"Case {len(cases) + 1}"))
        elif "/" in src or path.exists():  # a path (job ids have no slash)
            raise FileNotFoundError(f"{src} has no manifest.json (case set) or case.json")
        else:
            from imagine_med.queue.api import JobQueue

            queue = queue or JobQueue()
            ref, _, variant = src.partition(":")
            found = [j for j in queue.resolve(ref) if j.status == "done"]
            if not found:
                raise FileNotFoundError(f"{src} is neither a case folder nor a finished job")
            case = case_from_job(queue, found[0].id, int(variant or 1))
            case.title = f"Case {len(cases) + 1}"
            cases.append(case)
    return cases


def run_export(args: argparse.Namespace) -> int:
    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.errors import UserError
    from imagine_med.teaching import export

    if not (args.pptx or args.pdf or args.dicom_zip):
        return fail("say what to write: --pptx, --pdf and/or --dicom-zip", Exit.USAGE)
    try:
        cases = load_cases(_sources(args))
    except FileNotFoundError as exc:
        return fail(f"{exc}", Exit.USAGE)
    except UserError as exc:  # the queue unreachable, a job without files
        return fail(exc.message, Exit.REFUSED)
    title = args.title or export.TITLE
    if args.pptx:
        print(export.export_pptx(cases, args.pptx, title))
    if args.pdf:
        print(export.export_pdf(cases, args.pdf, title))
    if args.dicom_zip:
        print(export.export_dicom_zip(cases, args.dicom_zip))
    return Exit.OK


def run_pacs(args: argparse.Namespace) -> int:
    import tempfile

    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.errors import UserError
    from imagine_med.settings import get_settings
    from imagine_med.teaching import pacs
    from imagine_med.teaching.export import dicom_files

    settings = get_settings()
    to = args.to or (settings.pacs_url.get_secret_value() if settings.pacs_url else "")
    if not to:
        return fail("say where to send: --to URL, or set IMAGINE_MED_PACS_URL", Exit.USAGE)
    try:
        target = pacs.parse_target(to)
        cases = load_cases(_sources(args))
    except pacs.PacsError as exc:
        return fail(exc.message, Exit.USAGE)
    except FileNotFoundError as exc:
        return fail(f"{exc}", Exit.USAGE)
    except UserError as exc:
        return fail(exc.message, Exit.REFUSED)
    with tempfile.TemporaryDirectory(prefix="imagine-med-pacs-") as tmp:
        try:
            report = pacs.send(dicom_files(cases, tmp), target,
                               args.calling_ae or settings.pacs_calling_ae)
        except pacs.PacsError as exc:
            return fail(exc.message, Exit.REFUSED)
    print(f"{target.describe()}: {len(report.sent)} sent, {len(report.failed)} failed")
    for uid, why in report.failed.items():
        print(f"  {uid}: {why}")
    return Exit.OK if report.ok else Exit.FAILED


def run_series(args: argparse.Namespace) -> int:
    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.errors import UserError
    from imagine_med.teaching.series import render_series

    try:
        blocks = render_series(args.prompt, args.then, args.out, args.seed)
    except UserError as exc:
        return fail(exc.message, Exit.USAGE)
    for b in blocks:
        print(f"{args.out}/step-{b['step']}  ({b['relation']}; series {b['series_id']})"
              + "".join(f"\n  {c}" for c in b["changes"]))
    return Exit.OK
