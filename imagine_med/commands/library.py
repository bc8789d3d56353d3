"""`imagine-med library ...`: the course library and quiz scores from the command line.

For course admins and scripts: the same tables the chat adapters use (DATABASE_URL), read as a
member of one guild/workspace (`--platform`, `--team`). Saving and editing stay in chat, where
the adapters know who is asking and what rights they have.
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "library", help="list and search the course library; quiz leaderboards",
        description="Read the course library of one Discord server or Slack workspace, and its "
        "quiz scores. Items are saved and edited in chat (/imagine-med-library).")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--platform", choices=("discord", "slack"), required=True)
    where.add_argument("--team", required=True, help="Discord guild id or Slack team id")
    where.add_argument("--json", action="store_true", help="one JSON object per line")
    lsub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    lsub.add_parser("collections", parents=[where], help="collections and their item counts")
    s = lsub.add_parser("search", parents=[where],
                        help="items by collection, modality, finding, tag or author")
    for name in ("collection", "modality", "finding", "tag", "author"):
        s.add_argument(f"--{name}")
    s.add_argument("--limit", type=int, default=100)
    sc = lsub.add_parser("scores", parents=[where], help="a channel's or a course's leaderboard")
    group = sc.add_mutually_exclusive_group(required=True)
    group.add_argument("--channel")
    group.add_argument("--course")
    sc.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.settings import get_settings
    from imagine_med.store import migrate
    from imagine_med.teaching.library import Library, Member
    from imagine_med.teaching.quiz import QuizStore

    url = get_settings().resolved_database_url()
    migrate(url)
    who = Member(args.platform, args.team, "cli")
    rows: list[dict[str, object]]
    if args.library_command == "collections":
        rows = [{"name": c.name, "items": c.items, "owner": c.owner_name or c.owner_id}
                for c in Library(url).collections(who)]
    elif args.library_command == "search":
        found = Library(url).search(who, collection=args.collection, modality=args.modality,
                                    finding=args.finding, tag=args.tag, author=args.author,
                                    limit=args.limit)
        rows = [{"item": i.id, "collection": i.collection, "job": i.job_id,
                 "modality": i.modality, "region": i.region, "findings": list(i.findings),
                 "tags": list(i.tags), "author": i.author_name or i.author_id, "note": i.note,
                 "summary": i.summary} for i in found]
    else:
        scores = QuizStore(url).leaderboard(args.platform, args.team, channel=args.channel,
                                            course=args.course, limit=args.limit)
        rows = [{"rank": n, "user": s.user_name or s.user_id, "user_id": s.user_id,
                 "points": s.points, "answers": s.answered}
                for n, s in enumerate(scores, start=1)]
    for row in rows:
        if args.json:
            print(json.dumps(row, sort_keys=True, default=str))
        else:
            print("\t".join(_cell(v) for v in row.values()))
    return 0


def _cell(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value) if value not in (None, "") else "-"
