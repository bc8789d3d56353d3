"""`imagine-med moderate PROMPT`: print the screening verdict as JSON (moderators, testing)."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "moderate",
        help="screen a prompt (allow/hold/block) and print the verdict as JSON",
        description="Screen a prompt exactly as the bot does before queueing it. Prints decision, "
        "rule ids, the reason shown to the user, the redacted prompt and its SHA-256. "
        "Nothing is stored.",
    )
    p.add_argument("prompt", nargs="?", help="the prompt; '-' or nothing reads standard input")
    p.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 0 for allow, 3 for hold, 4 for block (for scripts)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.moderation import screen

    prompt = args.prompt
    if prompt is None or prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        print("error: the prompt is empty; give it as an argument or on standard input",
              file=sys.stderr)
        return 2
    verdict = screen(prompt)
    print(json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False))
    if args.exit_code:
        return {"allow": 0, "hold": 3, "block": 4}[verdict.decision]
    return 0
