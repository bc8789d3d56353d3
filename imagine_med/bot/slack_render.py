"""Neutral `Reply`/`Form` -> Slack Block Kit. Pure functions: no I/O, easy to test."""

from __future__ import annotations

import json
import re
from typing import Any

from imagine_med.bot.reply import Button, Form, Reply

SECTION_LIMIT = 3000  # Slack's limit for a section's text
TEXT_LIMIT = 3900  # chat.postMessage's `text` fallback is truncated by Slack past ~4000


def mrkdwn(text: str) -> str:
    """Discord-flavoured markdown (the core's) -> Slack mrkdwn: **bold** -> *bold*."""
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)


def _sections(text: str) -> list[dict[str, Any]]:
    body = mrkdwn(text)
    chunks: list[str] = []
    while body:
        if len(body) <= SECTION_LIMIT:
            chunks.append(body)
            break
        cut = body.rfind("\n", 0, SECTION_LIMIT)
        cut = cut if cut > 0 else SECTION_LIMIT
        chunks.append(body[:cut])
        body = body[cut:].lstrip("\n")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


def button(b: Button) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": b.label, "emoji": True},
        "action_id": b.custom_id,
        "value": b.custom_id,
    }
    if b.style == "primary":
        el["style"] = "primary"
    elif b.style == "danger":
        el["style"] = "danger"
    return el


def action_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"type": "actions", "block_id": f"im-row-{i}", "elements": [button(b) for b in row]}
        for i, row in enumerate(reply.rows) if row
    ]


def blocks(reply: Reply, *, with_text: bool = True) -> list[dict[str, Any]]:
    out = _sections(reply.full_text()) if with_text else []
    return out + action_blocks(reply)


def fallback_text(reply: Reply) -> str:
    """The plain `text` Slack shows in notifications and to screen readers."""
    return mrkdwn(reply.full_text())[:TEXT_LIMIT]


def modal(form: Form, metadata: dict[str, Any]) -> dict[str, Any]:
    """A modal view whose callback_id is the form's custom id; `metadata` (the channel) rides
    along in private_metadata because view submissions do not say where they came from."""
    return {
        "type": "modal",
        "callback_id": form.custom_id,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": form.title[:24]},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": f.key,
                "label": {"type": "plain_text", "text": f.label[:2000]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": f.key,
                    "multiline": f.multiline,
                    "max_length": f.max_length,
                    **({"initial_value": f.initial} if f.initial else {}),
                    **({"placeholder": {"type": "plain_text", "text": f.placeholder[:150]}}
                       if f.placeholder else {}),
                },
            }
            for f in form.fields
        ],
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """A submitted view's input values, by field key."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        for action in actions.values():
            out[block_id] = action.get("value") or ""
    return out
