"""Component ids that survive a restart: everything a button needs is in its custom id.

Format: ``im1:<action>:<job id>:<index>`` (e.g. ``im1:u:7f3a9c2e:2``). The version prefix lets a
later format coexist with buttons already posted; ids stay far under Discord's 100-character and
Slack's 255-character limits because job ids are capped at 64 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "im1"
MAX_JOB_ID = 64
DISCORD_LIMIT = 100
SLACK_LIMIT = 255


class Action(StrEnum):
    UPSCALE = "u"  # re-render variant N at 2x
    UPSCALE4 = "u4"  # re-render variant N at 4x (offered where it fits)
    VARY = "v"  # subtle variation of variant N
    VARY_STRONG = "vx"  # strong variation of variant N
    REROLL = "r"  # same spec, new seeds
    REFINE = "f"  # edit the prompt, keep variant N's anatomy (opens a form)
    ANSWER = "k"  # answer key, shown to the clicker only
    CANCEL = "c"  # cancel while queued or running
    APPROVE = "ma"  # moderator: release a held prompt
    REJECT = "mr"  # moderator: reject a held prompt (opens a form for the reason)
    DICOM = "d"  # DICOM export of the case (variant N, or all four), to the clicker only
    QUIZ_CHOICE = "qa"  # quiz: choice N (0-4) of quiz <id> (the id field holds the quiz id)
    QUIZ_TYPE = "qt"  # quiz: type an answer (opens a form)
    QUIZ_REVEAL = "qr"  # quiz: close and reveal (its host or an instructor)


# Actions that need a variant number 1-4; REFINE, ANSWER and DICOM also accept 0 (the whole
# grid); the others carry 0.
INDEXED = frozenset({Action.UPSCALE, Action.UPSCALE4, Action.VARY, Action.VARY_STRONG})
GRID_OR_INDEXED = frozenset({Action.REFINE, Action.ANSWER, Action.DICOM, Action.QUIZ_CHOICE})
# Actions whose id field is a quiz id (never the job behind it: that would lead to its key).
QUIZ_ACTIONS = frozenset({Action.QUIZ_CHOICE, Action.QUIZ_TYPE, Action.QUIZ_REVEAL})

_JOB_RE = r"[A-Za-z0-9_.-]{1,64}"
_ACTIONS = "|".join(sorted((a.value for a in Action), key=len, reverse=True))
# For discord.ui.DynamicItem templates and anyone matching ids with a regex.
PATTERN = rf"{VERSION}:(?P<action>{_ACTIONS}):(?P<job>{_JOB_RE}):(?P<index>[0-4])"
_PATTERN = re.compile(rf"^{PATTERN}$")


class ComponentIdError(ValueError):
    """A custom id that is not one of ours (or from a format this version cannot read)."""


@dataclass(frozen=True)
class ComponentId:
    action: Action
    job_id: str
    index: int = 0

    def __post_init__(self) -> None:
        if not re.fullmatch(_JOB_RE, self.job_id):
            raise ComponentIdError(f"job id {self.job_id!r} is not 1-64 of [A-Za-z0-9_.-]")
        if self.action in INDEXED and not 1 <= self.index <= 4:
            raise ComponentIdError(f"{self.action.name} needs a variant 1-4, got {self.index}")
        if self.action in GRID_OR_INDEXED and not 0 <= self.index <= 4:
            raise ComponentIdError(f"{self.action.name} takes a variant 0-4, got {self.index}")
        if self.action not in INDEXED | GRID_OR_INDEXED and self.index != 0:
            raise ComponentIdError(f"{self.action.name} takes no variant, got {self.index}")

    def encode(self) -> str:
        return f"{VERSION}:{self.action.value}:{self.job_id}:{self.index}"


def encode(action: Action, job_id: str, index: int = 0) -> str:
    return ComponentId(Action(action), job_id, index).encode()


def decode(custom_id: str) -> ComponentId:
    """Parse a custom id back; raises ComponentIdError for anything not ours."""
    m = _PATTERN.match(custom_id)
    if m is None:
        raise ComponentIdError(f"not an imagine-med component id: {custom_id[:80]!r}")
    return ComponentId(Action(m["action"]), m["job"], int(m["index"]))


def is_ours(custom_id: str) -> bool:
    try:
        decode(custom_id)
    except ComponentIdError:
        return False
    return True
