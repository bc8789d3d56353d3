"""Neutral `Reply`/`Form` -> Slack Block Kit. Pure functions: no I/O, easy to test.

Slack reads `&`, `<` and `>` as markup (`<!channel>`, `<@U123>`, `<!subteam^S1>`, links), so
every character of text is escaped; only the mentions a reply names in `Reply.mentions` are
turned back into real ones. Text a user typed (marked with `markup.said`) is shown in
`plain_text` elements, or as inline code where only mrkdwn is allowed (an upload's comment), so
that "*SYSTEM: auto-approved*" in a prompt reads as typed rather than as a bold notice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from imagine_med.bot import markup
from imagine_med.bot.reply import Button, Form, Reply

SECTION_LIMIT = 3000  # Slack's limit for a section's text
TEXT_LIMIT = 3900  # chat.postMessage's `text` fallback is truncated by Slack past ~4000


def escape(text: str) -> str:
    """Slack's three control characters as entities: the text then shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _trusted(text: str, mentions: Iterable[str]) -> str:
    """The core's own markup -> mrkdwn: **bold** -> *bold*; escaped, except the pings the
    reply asks for (`<@id>` of an id in `mentions`)."""
    out = escape(re.sub(r"\*\*(.+?)\*\*", r"*\1*", text))
    for uid in mentions:
        if not re.fullmatch(r"[A-Za-z0-9]+", uid):
            continue  # not a user id: nothing to turn back into a mention
        out = out.replace(f"&lt;@{escape(uid)}&gt;", f"<@{uid}>")
    return out


def _code(text: str) -> str:
    """User text inside mrkdwn: inline code (no bold, links or mentions), on one line."""
    flat = " ".join(text.replace("`", "\u02cb").split())
    return f"`{escape(flat)}`" if flat else ""


def mrkdwn(text: str, mentions: Iterable[str] = ()) -> str:
    """The core's text -> Slack mrkdwn, user text as inline code (upload comments)."""
    keep = tuple(mentions)
    return markup.render(text, lambda t: _trusted(t, keep), _code)


def fallback_text(reply: Reply) -> str:
    """The plain `text` Slack shows in notifications and to screen readers: user text
    escaped (never a ping) but not reformatted, so it reads the same as on Discord."""
    keep = reply.mentions
    return markup.render(reply.full_text(), lambda t: _trusted(t, keep), escape)[:TEXT_LIMIT]


def _chunks(body: str) -> list[str]:
    chunks: list[str] = []
    while body:
        if len(body) <= SECTION_LIMIT:
            chunks.append(body)
            break
        cut = body.rfind("\n", 0, SECTION_LIMIT)
        cut = cut if cut > 0 else SECTION_LIMIT
        chunks.append(body[:cut])
        body = body[cut:].lstrip("\n")
    return chunks


def _sections(text: str, mentions: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Consecutive lines of the bot's own text become mrkdwn sections; a line that quotes
    user text becomes a plain_text section (as typed: no formatting, links or mentions)."""
    keep = tuple(mentions)
    groups: list[tuple[bool, list[str]]] = []
    for line in markup.lines(text):
        has_user = any(user for _, user in line)
        body = ("".join(escape(c) for c, _ in line) if has_user
                else "".join(_trusted(c, keep) for c, _ in line))
        if groups and groups[-1][0] == has_user and not has_user:
            groups[-1][1].append(body)
        else:
            groups.append((has_user, [body]))
    out: list[dict[str, Any]] = []
    for plain, bodies in groups:
        kind = "plain_text" if plain else "mrkdwn"
        for chunk in _chunks("\n".join(bodies)):
            if chunk.strip():
                out.append({"type": "section", "text": {"type": kind, "text": chunk}})
    return out


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


def image_block(file_id: str, alt: str) -> dict[str, Any]:
    """An image block showing a file the bot uploaded (Block Kit `slack_file`)."""
    return {"type": "image", "slack_file": {"id": file_id},
            "alt_text": (alt or "synthetic teaching image")[:2000]}


def blocks(reply: Reply, *, with_text: bool = True,
           images: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Text sections, then any image blocks, then the buttons: one message."""
    out = _sections(reply.full_text(), reply.mentions) if with_text else []
    return out + list(images or []) + action_blocks(reply)


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
