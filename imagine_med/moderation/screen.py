"""`screen(prompt)`: the verdict every prompt gets before it may be queued.

Pure and fast (a few hundred microseconds): no I/O, no state. The verdict carries the
decision, the rule ids that fired, a reason the user can read, the prompt with PHI replaced by
tags, and the SHA-256 of the raw prompt. Only the redacted text and the hash may be stored or
logged; the raw prompt stays with the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from imagine_med.moderation.eponyms import protected_spans
from imagine_med.moderation.misuse import REASONS, find_misuse
from imagine_med.moderation.normalize import Normalized, normalize
from imagine_med.moderation.person import split_word
from imagine_med.moderation.phi import LABELS, TAGS, find_phi
from imagine_med.moderation.rules import SEVERITY, Decision, Hit
from imagine_med.prompt.text import MAX_PROMPT_CHARS

POLICY_VERSION = "2026.11-1"

_PHI_REASON = (
    "This prompt seems to contain patient identifiers ({what}). imagine-med makes synthetic "
    "teaching images and must never receive real patient details: remove them and try again."
)
_HOLD_SUFFIX = " Your request is waiting for a moderator."
# screen() reads at most this many normalised characters: the parser refuses longer prompts,
# and a cap of its own keeps every screen linear and bounded whoever calls it.
MAX_SCREEN_CHARS = MAX_PROMPT_CHARS
TOO_LONG = "input.too_long"
_TOO_LONG_REASON = (
    "This prompt is longer than {limit} characters once invisible characters and repeated "
    "spaces are removed; shorten it and try again."
)
_TOO_LONG_TAG = "[TOO LONG]"


@dataclass(frozen=True)
class ScreenContext:
    """Who is asking and where; `today` fixes the date for age-from-birth-year checks."""

    user_id: str | None = None
    platform: str | None = None
    channel_id: str | None = None
    today: date | None = None


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    rule_ids: tuple[str, ...]
    reason: str
    redacted_prompt: str
    prompt_sha256: str
    hits: tuple[Hit, ...] = field(default=(), repr=False)
    policy_version: str = POLICY_VERSION

    @property
    def phi(self) -> bool:
        return any(r.startswith("phi.") for r in self.rule_ids)

    @property
    def redacted(self) -> str:
        """Alias of `redacted_prompt` (the chat adapters' name for it)."""
        return self.redacted_prompt

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule_ids": list(self.rule_ids),
            "reason": self.reason,
            "redacted_prompt": self.redacted_prompt,
            "prompt_sha256": self.prompt_sha256,
            "phi": self.phi,
            "policy_version": self.policy_version,
        }


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()


def redact(text: str, hits: list[Hit]) -> str:
    """Replace every PHI span with its tag; overlapping spans merge into the first one's tag."""
    spans = sorted((h.start, h.end, TAGS[h.kind]) for h in hits if h.rule_id.startswith("phi."))
    out: list[str] = []
    pos = 0
    cur: tuple[int, int, str] | None = None
    for start, end, tag in spans:
        if cur is not None and start < cur[1]:
            cur = (cur[0], max(cur[1], end), cur[2])
            continue
        if cur is not None:
            out.append(text[pos : cur[0]] + cur[2])
            pos = cur[1]
        cur = (start, end, tag)
    if cur is not None:
        out.append(text[pos : cur[0]] + cur[2])
        pos = cur[1]
    out.append(text[pos:])
    return "".join(out)


def _reason(decision: Decision, hits: list[Hit]) -> str:
    if decision == "allow":
        return "OK"
    parts: list[str] = []
    phi_kinds = list(dict.fromkeys(h.kind for h in hits if h.rule_id.startswith("phi.")))
    if phi_kinds:
        parts.append(_PHI_REASON.format(what=", ".join(LABELS[k] for k in phi_kinds)))
    worst = [h for h in hits if SEVERITY[h.decision] == SEVERITY[decision]] or hits
    for rule_id in dict.fromkeys(h.rule_id for h in worst if not h.rule_id.startswith("phi.")):
        if rule_id == TOO_LONG:
            parts.append(_TOO_LONG_REASON.format(limit=MAX_SCREEN_CHARS))
        else:
            parts.append(REASONS[rule_id])
    text = " ".join(dict.fromkeys(parts))
    return text + _HOLD_SUFFIX if decision == "hold" else text


def _detect(norm: Normalized, today: date) -> list[Hit]:
    hits = find_phi(norm.text, norm.folded, today)
    hits.extend(find_misuse(norm.folded, protected_spans(norm.folded)))
    return hits


def _mapped(hit: Hit, to_text: tuple[int, ...], text: str) -> Hit:
    """A hit of the joined view as a span of the main text, widened to whole words."""
    start, end = to_text[hit.start], to_text[max(hit.end - 1, hit.start)] + 1
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return Hit(hit.rule_id, hit.kind, start, end, hit.decision)


def _not_split_words(hits: list[Hit], norm: Normalized, joined: list[Hit]) -> list[Hit]:
    """Drop hits made of the fragments of a word that a format character split: the parser
    reads "ute\u200brine" as "ute rine" (not a name: it is "uterine") and "spondy\u200bloli
    \u200bsthesis" as holding "loli". A name hit over a split counts unless the joined word is
    clinical; any other hit at a split counts only if the joined view found the same rule."""
    splits = norm.splits()
    if not splits:
        return hits
    joined_rules = {h.rule_id for h in joined}
    out = []
    for h in hits:
        touching = any(i in splits for i in range(h.start - 1, h.end + 1))
        if touching and h.rule_id == "phi.name":
            glued = "".join(c for i, c in enumerate(norm.text[h.start : h.end], h.start)
                            if i not in splits)
            if any(split_word(w) for w in glued.split()):
                continue
        elif touching and not h.rule_id.startswith("phi.") and h.rule_id not in joined_rules:
            continue
        out.append(h)
    return out


def screen(prompt: str, context: ScreenContext | None = None) -> Verdict:
    """Screen one raw prompt: allow, hold (a moderator decides) or block.

    Reads at most MAX_SCREEN_CHARS normalised characters; a longer prompt is blocked as
    `input.too_long` before any detector runs, and its redacted form keeps none of it."""
    today = (context.today if context and context.today else None) or date.today()
    norm = normalize(prompt, limit=MAX_SCREEN_CHARS)
    if norm.length > MAX_SCREEN_CHARS:
        # Refused before any detector runs, and nothing of the text is kept: it was not read.
        hits = [Hit(TOO_LONG, "length", 0, 0, "block")]
        return Verdict(decision="block", rule_ids=(TOO_LONG,), reason=_reason("block", hits),
                       redacted_prompt=_TOO_LONG_TAG, prompt_sha256=prompt_hash(prompt),
                       hits=tuple(hits))
    hits = _detect(norm, today)
    if norm.joined is not None:
        joined = _detect(norm.joined, today)
        hits = _not_split_words(hits, norm, joined)
        seen = {h.rule_id for h in hits}
        for h in joined:
            if h.rule_id.startswith("phi.") or h.rule_id not in seen:
                hits.append(_mapped(h, norm.joined_to_text, norm.text))
    decision: Decision = "allow"
    for h in hits:
        if SEVERITY[h.decision] > SEVERITY[decision]:
            decision = h.decision
    rule_ids = tuple(dict.fromkeys(h.rule_id for h in hits))
    return Verdict(
        decision=decision,
        rule_ids=rule_ids,
        reason=_reason(decision, hits),
        redacted_prompt=redact(norm.text, hits),
        prompt_sha256=prompt_hash(prompt),
        hits=tuple(hits),
    )
