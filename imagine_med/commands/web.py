"""`imagine-med web`: the web app (playground, case viewer, moderators' dashboard).

Binds 127.0.0.1:8080 by default (IMAGINE_MED_WEB_HOST / _PORT); `make run` starts it too."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="the web app on http://127.0.0.1:8080")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8080)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.web.serve import run_web

    run_web(args.host, args.port)
    return 0
