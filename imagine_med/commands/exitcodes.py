"""Every exit status of `imagine-med`, in one table: the code, `--help` and the README say the
same thing, so a script can tell a refused prompt from a failed render without parsing text."""

from __future__ import annotations

import sys
import textwrap
from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # unexpected error (one line; -v shows the traceback); verify: a file not marked
    USAGE = 2  # bad arguments or prompt, --out not a folder, unknown job, service unreachable
    FAILED = 3  # the render failed (generate), a job failed or was cancelled (submit, fetch)
    REFUSED = 4  # refused by the service: moderation, limits, permission, queue not reachable
    NOT_FINISHED = 5  # the job has not finished (submit --timeout passed, fetch too early)
    DISCONNECTED = 6  # lost the connection to Redis while waiting (submit --wait)
    UNAVAILABLE = 7  # no configured engine renders the prompt: refused before rendering/queueing
    PIPE_CLOSED = 141  # the reader of stdout went away (`imagine-med jobs | head -1`)
    INTERRUPTED = 130  # Ctrl-C


MEANINGS: dict[int, str] = {
    Exit.OK: "success",
    Exit.ERROR: "unexpected error (one line; -v for the traceback); verify: a file is not marked",
    Exit.USAGE: "bad arguments or prompt, --out is not a folder, no such job, or a service the "
                "command starts with is unreachable (worker, run)",
    Exit.FAILED: "the render failed (generate; worker: a renderer could not load); "
                 "submit --wait / fetch: the job failed or was cancelled",
    Exit.REFUSED: "refused: patient identifiers (moderation), a limit, a permission, the queue "
                  "is not reachable; generate: the DICOM export failed",
    Exit.NOT_FINISHED: "the job has not finished (submit --timeout passed; fetch too early)",
    Exit.DISCONNECTED: "lost the connection to Redis while waiting (the jobs stay queued)",
    Exit.UNAVAILABLE: "no configured engine renders what the prompt asks for (refused before "
                      "rendering or queueing; the message lists what is available)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
    Exit.PIPE_CLOSED: "stdout was closed early by its reader (e.g. `| head`); nothing is printed",
}


def epilog() -> str:
    """The exit-status table for `imagine-med --help`."""
    lines = ["exit status:"]
    lines += [textwrap.fill(text, 92, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
              for code, text in sorted(MEANINGS.items())]
    return "\n".join(lines)


def fail(message: str, code: Exit, *, after_progress: bool = False) -> Exit:
    """Print `error: message` on stderr (on a fresh line after a progress line) and return
    the exit status, so a command reads `return fail("...", Exit.USAGE)`."""
    print(f"{chr(10) if after_progress else ''}error: {message}", file=sys.stderr)
    return code
