"""The core's neutral `Reply` -> what the web page shows: safe HTML and plain data.

Trusted text (the core's own words) gets its light markdown (**bold**, `code`, _italic_);
text a person typed (`markup.said`) is escaped and shown as typed, never as markup. Mentions
(`<@id>`) are dropped: on the web page there is no one to ping."""

from __future__ import annotations

import html
import re
from typing import Any

from imagine_med.bot import markup
from imagine_med.bot.reply import Button, Form, Reply

_MENTION = re.compile(r"<@[^>\s]{1,80}>\s?")


def _trusted(text: str) -> str:
    out = html.escape(_MENTION.sub("", text))
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"(?<![\w])_([^_]+)_(?![\w])", r"<em>\1</em>", out)


def _user(text: str) -> str:
    return f'<span class="said">{html.escape(text)}</span>'


def to_html(text: str) -> str:
    return "<br>".join(markup.render(line, _trusted, _user)
                       for line in text.split("\n") if line.strip() or True)


def button(b: Button) -> dict[str, str]:
    label = b.label.replace("🔄 ", "").replace("✏️ ", "").replace("🔑 ", "")
    return {"label": label, "id": b.custom_id, "style": b.style}


def reply(r: Reply, file_url: Any) -> dict[str, Any]:
    """`file_url(path) -> str | None`: where the page fetches an attachment."""
    return {
        "html": to_html(r.full_text()),
        "text": markup.plain(_MENTION.sub("", r.full_text())),
        "ephemeral": r.ephemeral,
        "job_id": r.job_id,
        "rows": [[button(b) for b in row] for row in r.rows],
        "attachments": [{"url": file_url(a.path), "name": a.filename, "alt": a.alt,
                         "spoiler": a.spoiler} for a in r.attachments],
    }


def form(f: Form) -> dict[str, Any]:
    return {"id": f.custom_id, "title": f.title,
            "fields": [{"key": x.key, "label": x.label, "initial": x.initial,
                        "placeholder": x.placeholder, "max_length": x.max_length,
                        "multiline": x.multiline} for x in f.fields]}
