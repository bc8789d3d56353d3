"""Platform-neutral messages: the core returns these, each adapter renders them.

Keeping one neutral shape is what lets the Discord and Slack adapters stay thin and guarantees
that both platforms say the same thing (the same "interpreted as" line, the same buttons).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imagine_med.bot.ids import Action, encode

Style = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True)
class Button:
    label: str
    custom_id: str
    style: Style = "secondary"


@dataclass
class Attachment:
    """A file to upload. `alt` describes the synthetic findings (Slack alt text, Discord
    description); `spoiler` hides it behind a click where the platform can."""

    path: Path
    filename: str
    alt: str = ""
    spoiler: bool = False


@dataclass
class Reply:
    """One message. `ephemeral` replies are shown to the user concerned only (errors, answer
    keys); `rows` are button rows in display order; `job_id` marks a job's status message.

    `text` is in the core's markup, with user-typed text marked by `markup.said`. `mentions`
    are the user ids this message means to ping (a job's owner when its status or result
    comes); every other mention in the text is shown without notifying anyone, and
    @everyone/@here/channel/role pings never fire."""

    text: str
    attachments: list[Attachment] = field(default_factory=list)
    rows: list[list[Button]] = field(default_factory=list)
    ephemeral: bool = False
    job_id: str | None = None
    notes: list[str] = field(default_factory=list)
    replaces: bool = False  # replaces the message whose button was pressed (Cancel, review)
    mentions: tuple[str, ...] = ()

    @property
    def buttons(self) -> list[Button]:
        return [b for row in self.rows for b in row]

    def full_text(self) -> str:
        return "\n".join([self.text, *(f"_{n}_" for n in self.notes)])


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    initial: str = ""
    placeholder: str = ""
    max_length: int = 1000
    multiline: bool = True


@dataclass(frozen=True)
class Form:
    """A small form (Discord modal, Slack modal view): Refine and Reject-with-reason. Its
    custom id is the button's, so the submission carries the job and variant."""

    custom_id: str
    title: str
    fields: tuple[FormField, ...]


def grid_rows(job_id: str, *, cancellable: bool = False) -> list[list[Button]]:
    """The buttons under a 2x2 grid: U1-U4, V1-V4, then reroll / Refine / Answer key."""
    ups = [Button(f"U{i}", encode(Action.UPSCALE, job_id, i)) for i in range(1, 5)]
    vars_ = [Button(f"V{i}", encode(Action.VARY, job_id, i)) for i in range(1, 5)]
    tools = [
        Button("🔄 Reroll", encode(Action.REROLL, job_id)),
        Button("✏️ Refine", encode(Action.REFINE, job_id, 0)),
        Button("🔑 Answer key", encode(Action.ANSWER, job_id, 0)),
        Button("DICOM", encode(Action.DICOM, job_id, 0)),
    ]
    rows = [ups, vars_, tools]
    if cancellable:
        rows.append(cancel_row(job_id)[0])
    return rows


def single_rows(job_id: str, parent_id: str, index: int, *,
                offer_4x: bool) -> list[list[Button]]:
    """The buttons under one upscaled variant: 4x and variations work from the original grid's
    variant (`parent_id`, `index`); the answer key and DICOM are this image's own."""
    row = [
        Button("Vary (subtle)", encode(Action.VARY, parent_id, index)),
        Button("Vary (strong)", encode(Action.VARY_STRONG, parent_id, index)),
        Button("✏️ Refine", encode(Action.REFINE, parent_id, index)),
        Button("🔑 Answer key", encode(Action.ANSWER, job_id, 1)),
    ]
    if offer_4x:
        row.insert(0, Button("Upscale 4x", encode(Action.UPSCALE4, parent_id, index),
                             "primary"))
    return [row, [Button("DICOM", encode(Action.DICOM, job_id, 1)),
                  Button("🧑 Same patient…", encode(Action.SERIES, job_id, 1))]]


def try_rows(labels: list[str], per_row: int = 5, rows: int = 5) -> list[list[Button]]:
    """/imagine-med-help's "try this" buttons, one per example (at most 25, as Discord)."""
    buttons = [Button(f"Try {i}: {label}"[:80], encode(Action.TRY, f"ex{i}"), "primary")
               for i, label in enumerate(labels[:per_row * rows], start=1)]
    return [buttons[k:k + per_row] for k in range(0, len(buttons), per_row)]


def cancel_row(job_id: str) -> list[list[Button]]:
    return [[Button("Cancel", encode(Action.CANCEL, job_id), "danger")]]


def moderation_rows(item_id: str) -> list[list[Button]]:
    return [[
        Button("Approve", encode(Action.APPROVE, item_id), "success"),
        Button("Reject…", encode(Action.REJECT, item_id), "danger"),
    ]]
