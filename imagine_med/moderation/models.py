"""Moderation tables on the store's Base: cases, their jobs, appeals, strikes, bans, audit log.

No column ever holds a raw prompt: only the redacted text and the SHA-256 of the raw text.
The audit log is append-only (the ORM refuses updates and deletes; the migration adds database
triggers that refuse them too) and hash-chained: each entry's `row_hash` covers its content and
the previous entry's hash, so an edit or a removal made behind the application's back shows up in
`ModerationService.verify_audit()`. Appends are serialised through the one-row head table.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from imagine_med.store.db import Base, UTCDateTime, utcnow


class ModerationCase(Base):
    """One screened request that was held or blocked: what moderators review and users appeal."""

    __tablename__ = "moderation_cases"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    platform: Mapped[str] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(128))
    user_key: Mapped[str] = mapped_column(String(300), index=True)
    user_name: Mapped[str | None] = mapped_column(String(256))
    reply_target: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompt_redacted: Mapped[str] = mapped_column(Text)
    prompt_sha256: Mapped[str] = mapped_column(String(64), index=True)
    decision: Mapped[str] = mapped_column(String(8))  # the screen's: hold | block
    rule_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    policy_version: Mapped[str] = mapped_column(String(32), default="")
    # pending (held, awaiting a moderator) | approved | rejected | blocked | overturned
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class CaseJob(Base):
    """A queue job parked for a held case (a prompt's permutations are several jobs)."""

    __tablename__ = "moderation_case_jobs"

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="CASCADE"), index=True
    )


class Appeal(Base):
    __tablename__ = "moderation_appeals"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="CASCADE"), index=True
    )
    user_key: Mapped[str] = mapped_column(String(300), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    text_redacted: Mapped[str] = mapped_column(Text, default="")
    text_sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | upheld | overturned
    decided_by: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Strike(Base):
    __tablename__ = "moderation_strikes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    case_id: Mapped[str | None] = mapped_column(String(24), index=True)
    rule_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(300))


class Ban(Base):
    """A temporary pause on a user's prompts after repeated blocks."""

    __tablename__ = "moderation_bans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(300), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(300), default="system")
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(300))


class AuditHead(Base):
    """One row: the last sequence number and hash of the audit chain (the append lock)."""

    __tablename__ = "moderation_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


AUDIT_FIELDS = (
    "seq", "at", "event", "actor", "subject", "platform", "channel", "case_id", "job_id",
    "appeal_id", "prompt_redacted", "prompt_sha256", "rule_ids", "decision", "reason",
)  # fmt: skip


class AuditEntry(Base):
    """Who did what, when: one immutable line per decision."""

    __tablename__ = "moderation_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(24), index=True)
    actor: Mapped[str] = mapped_column(String(300))  # "system" or the moderator
    subject: Mapped[str | None] = mapped_column(String(300), index=True)  # the requester
    platform: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(128))
    case_id: Mapped[str | None] = mapped_column(String(24), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40))
    appeal_id: Mapped[str | None] = mapped_column(String(24))
    prompt_redacted: Mapped[str | None] = mapped_column(Text)
    prompt_sha256: Mapped[str | None] = mapped_column(String(64))
    rule_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    def as_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in AUDIT_FIELDS}
        out["at"] = self.at.isoformat()
        out["rule_ids"] = list(self.rule_ids or [])
        out["prev_hash"] = self.prev_hash
        out["row_hash"] = self.row_hash
        return out


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash of one audit entry: its fields (canonical JSON) chained to the previous hash."""
    doc = {f: fields.get(f) for f in AUDIT_FIELDS}
    if isinstance(doc["at"], datetime):
        doc["at"] = doc["at"].isoformat()
    doc["rule_ids"] = list(doc["rule_ids"] or [])
    body = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _no_update(*_args: Any) -> None:
    raise AppendOnlyError("the moderation audit log is append-only: entries cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _no_delete(*_args: Any) -> None:
    raise AppendOnlyError("the moderation audit log is append-only: entries cannot be deleted")
