"""`imagine-med discord` and `imagine-med slack [--http --port N]`: run one chat adapter.

Tokens come from the environment (DISCORD_TOKEN; SLACK_BOT_TOKEN with SLACK_APP_TOKEN for
Socket Mode or SLACK_SIGNING_SECRET for HTTP mode); see docs/bots.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable

from imagine_med.commands.exitcodes import Exit, fail


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN); "
                       "`discord invite-url` prints the URL that adds it to a server")
    d.add_argument("action", nargs="?", choices=("invite-url",),
                   help="invite-url: print the OAuth2 URL with exactly the permissions the bot "
                        "uses (the application id from --client-id, DISCORD_APPLICATION_ID or "
                        "DISCORD_TOKEN)")
    d.add_argument("--client-id", help="the application id (Developer Portal -> General)")
    d.set_defaults(func=run_discord)
    s = sub.add_parser(
        "slack", help="run the Slack bot (Socket Mode; --http to serve /slack/events instead)"
    )
    s.add_argument("--http", action="store_true",
                   help="HTTP mode: serve Slack's requests at /slack/events (needs "
                        "SLACK_SIGNING_SECRET) instead of Socket Mode (needs SLACK_APP_TOKEN)")
    s.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")
    s.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    s.set_defaults(func=run_slack)


def _run(make: Callable[[], Awaitable[None]]) -> int:
    import asyncio

    from imagine_med.bot.runner import BotSetupError

    try:
        asyncio.run(make())
    except BotSetupError as exc:
        return fail(exc.message, Exit.USAGE)
    except KeyboardInterrupt:
        return 0
    return 0


def invite_url(args: argparse.Namespace) -> int:
    import os

    from imagine_med.bot.install import client_id_from_token, invite_url

    cid = (args.client_id or os.environ.get("DISCORD_APPLICATION_ID")
           or client_id_from_token(os.environ.get("DISCORD_TOKEN", "")))
    if not cid or not cid.isdigit():
        print("error: give --client-id (the application id, Developer Portal -> General "
              "Information), or set DISCORD_APPLICATION_ID or DISCORD_TOKEN", file=sys.stderr)
        return 2
    print(invite_url(cid))
    return 0


def run_discord(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "invite-url":
        return invite_url(args)
    from imagine_med.bot import runner
    from imagine_med.settings import get_settings

    settings = get_settings()

    async def main() -> None:
        runner.check_discord(settings)  # say what is missing before connecting to anything
        await runner.run_discord(runner.build_core(settings), settings)

    return _run(main)


def run_slack(args: argparse.Namespace) -> int:
    from imagine_med.bot import runner
    from imagine_med.settings import get_settings

    settings = get_settings()
    mode = runner.SlackMode(http=args.http, host=args.host, port=args.port)

    async def main() -> None:
        runner.check_slack(settings, mode)
        await runner.run_slack(runner.build_core(settings), settings, mode)

    return _run(main)
