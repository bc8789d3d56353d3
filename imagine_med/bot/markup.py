"""Text someone typed, kept apart from the bot's own markup.

The core composes messages as strings in its own markup (Discord-flavoured markdown, `<@id>`
mentions). Anything a person typed (a prompt, the words the parser ignored, a moderator's
reason, a display name) goes in through `said()`, which brackets it with two private-use
characters. Each adapter then renders those spans as the characters typed: Slack escapes `&`,
`<`, `>` and shows them in plain-text elements (code formatting where only mrkdwn is allowed),
Discord escapes markdown and mentions. So `<!channel>`, `@everyone` or "*SYSTEM: auto-approved*"
in a prompt never becomes a ping or a bold notice, wherever the core quotes it.

Marks survive f-strings and concatenation, which is why they are characters rather than a str
subclass. A stray mark in unmarked text can only widen a span (more escaping), never close one
early, because `said()` removes marks from what it wraps.
"""

from __future__ import annotations

from collections.abc import Callable

OPEN, CLOSE = "\ue000", "\ue001"
_MARKS = str.maketrans("", "", OPEN + CLOSE)

Span = tuple[str, bool]  # (text, typed by a user)


def said(text: str) -> str:
    """`text` as typed by a user: shown literally on every platform."""
    return f"{OPEN}{text.translate(_MARKS)}{CLOSE}"


def spans(text: str) -> list[Span]:
    """`text` cut into (chunk, is_user_text) in order; empty chunks are dropped. An opening
    mark without its closing one runs to the end (user text)."""
    out: list[Span] = []
    rest = text
    while rest:
        start = rest.find(OPEN)
        if start < 0:
            out.append((rest.replace(CLOSE, ""), False))
            break
        if start:
            out.append((rest[:start].replace(CLOSE, ""), False))
        end = rest.find(CLOSE, start + 1)
        end = len(rest) if end < 0 else end
        out.append((rest[start + 1:end].replace(OPEN, ""), True))
        rest = rest[end + 1:]
    return [(chunk, user) for chunk, user in out if chunk]


def lines(text: str) -> list[list[Span]]:
    """`spans` per line (a user span over several lines is cut at each newline)."""
    out: list[list[Span]] = [[]]
    for chunk, user in spans(text):
        parts = chunk.split("\n")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part:
                out[-1].append((part, user))
    return out


def render(text: str, trusted: Callable[[str], str], user: Callable[[str], str]) -> str:
    """Render each span with the platform's function for the bot's own text or user text."""
    return "".join(user(c) if u else trusted(c) for c, u in spans(text))


def plain(text: str) -> str:
    """The text without marks (logs, length checks, modal prefills)."""
    return text.translate(_MARKS)
