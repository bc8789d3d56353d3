"""The `imagine-med` command line.

Each subcommand lives in its own module under `imagine_med.commands` exposing
`add_parser(subparsers)`, which registers it and sets `func` (parsed args -> exit code). The
table below is the only list of them; those modules import heavy things inside `func` only,
so `imagine-med parse` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from imagine_med.commands.exitcodes import Exit, epilog

# Long-running services log their INFO lines (a worker's jobs, a bot's connections); the other
# commands print results, and only warnings besides, unless -v.
SERVICES = frozenset({"run", "worker", "discord", "slack", "web"})

# subcommand -> module providing add_parser(subparsers)
COMMANDS: dict[str, str] = {
    "parse": "imagine_med.commands.prompt",
    "generate": "imagine_med.commands.generate",
    "run": "imagine_med.commands.run",
    "worker": "imagine_med.commands.worker",
    "submit": "imagine_med.commands.submit",
    "jobs": "imagine_med.commands.jobs",
    "fetch": "imagine_med.commands.fetch",
    "cancel": "imagine_med.commands.jobs",
    "verify": "imagine_med.commands.verify",
    "moderate": "imagine_med.commands.moderate",
    "mod": "imagine_med.commands.mod",
    "discord": "imagine_med.commands.bots",
    "slack": "imagine_med.commands.bots",
    "web": "imagine_med.commands.web",
    "library": "imagine_med.commands.library",
    "caseset": "imagine_med.commands.caseset",
    "export": "imagine_med.commands.teach",
    "pacs": "imagine_med.commands.teach",
    "series": "imagine_med.commands.teach",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagine-med",
        description="Synthetic medical images for teaching. Visualizes, never diagnoses.",
        epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    seen: set[str] = set()
    for module_name in COMMANDS.values():
        if module_name in seen:
            continue
        seen.add(module_name)
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = logging.INFO if args.command in SERVICES else logging.WARNING
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, so a closed pipe is caught below and not at exit
        return code
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except Exception as exc:  # one line, never a traceback (-v shows it)
        if args.verbose:
            raise
        from imagine_med.errors import UserError

        text = exc.message if isinstance(exc, UserError) else (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )  # first line only: a database error's later lines echo the statement's parameters
        print(f"error: {text} (rerun with -v for details)", file=sys.stderr)
        return Exit.ERROR


def _pipe_closed() -> int:
    """The reader of stdout left (`imagine-med jobs | head -1`): stop quietly, as `cat` would.
    stdout now points at /dev/null so the interpreter's final flush cannot complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return Exit.PIPE_CLOSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
