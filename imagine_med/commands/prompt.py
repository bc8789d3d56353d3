"""`imagine-med parse PROMPT`: show how a prompt is understood."""

from __future__ import annotations

import argparse
import json
import sys

from imagine_med.commands.exitcodes import Exit, fail


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="parse a prompt and print the case spec(s) as JSON")
    p.add_argument("prompt", help='e.g. "PA chest x-ray, right upper lobe consolidation --seed 7"')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.prompt import PromptError, parse

    try:
        specs = parse(args.prompt)
    except PromptError as exc:
        return fail(exc.message, Exit.USAGE)
    docs = [s.model_dump(mode="json") for s in specs]
    print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, ensure_ascii=False))
    for s in specs:
        print(f"interpreted as: {s.describe()}", file=sys.stderr)
        if s.unparsed:
            print(f"ignored: {', '.join(s.unparsed)}", file=sys.stderr)
    return 0
