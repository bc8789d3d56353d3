"""ModerationService: screening with a record, moderators' review, appeals, strikes and bans,
and the audit log. The chat adapters and the `imagine-med mod` CLI both go through it.

    svc = ModerationService(queue=JobQueue())
    sub = svc.submit(prompt, specs, requester)   # screen -> record -> queue (held or not) or refuse
    svc.pending()                                # held prompts and appeals awaiting a moderator
    svc.decide(job_or_case_or_appeal_id, moderator, roles, approve=True, reason="")
    svc.appeal(case_id, requester, "it is a teaching eponym")
    svc.export_audit("csv", file)

The raw prompt is screened and handed to the queue only when it may run; what is written here is
the redacted prompt and its SHA-256. Every write transaction starts by locking the audit head
row, so moderation writes are serialised on SQLite and PostgreSQL alike and the audit hash chain
never forks.
"""

from __future__ import annotations

import csv
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from imagine_med.errors import UserError
from imagine_med.moderation.config import ModerationSettings, get_moderation_settings
from imagine_med.moderation.models import (
    AUDIT_FIELDS,
    Appeal,
    AuditEntry,
    AuditHead,
    Ban,
    CaseJob,
    ModerationCase,
    Strike,
    chain_hash,
)
from imagine_med.moderation.screen import ScreenContext, Verdict, screen
from imagine_med.queue.types import Requester
from imagine_med.settings import Settings, get_settings
from imagine_med.store.db import make_engine, session_scope, utcnow

log = logging.getLogger("imagine_med.moderation")


# A decision claimed longer ago than this by a process that never finished it is free again.
STALE_CLAIM = timedelta(minutes=5)


class ModerationError(UserError):
    """A refusal or failure; `message` is written for the person who asked."""


class NotModerator(ModerationError):
    pass


class NotFound(ModerationError):
    pass


class AlreadyDecided(ModerationError):
    pass


class AppealRefused(ModerationError):
    pass


@dataclass(frozen=True)
class Screening:
    """The effective verdict for one request (bans and upheld appeals applied) and its case.
    Has the same `decision`, `reason`, `rule_ids`, `redacted` as a Verdict."""

    verdict: Verdict
    case_id: str | None = None
    banned_until: datetime | None = None
    strikes: int = 0

    @property
    def decision(self) -> str:
        return self.verdict.decision

    @property
    def reason(self) -> str:
        return self.verdict.reason

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.verdict.rule_ids

    @property
    def redacted(self) -> str:
        return self.verdict.redacted_prompt


@dataclass(frozen=True)
class Submission:
    screening: Screening
    jobs: list[Any] = field(default_factory=list)  # queue JobRefs; empty when refused


@dataclass(frozen=True)
class ReviewItem:
    """Something awaiting a moderator: a held prompt (`kind="hold"`) or an appeal."""

    id: str
    kind: str
    case_id: str
    created_at: datetime
    user_key: str
    platform: str
    channel: str | None
    prompt_redacted: str
    rule_ids: tuple[str, ...]
    reason: str
    case_status: str
    job_ids: tuple[str, ...] = ()
    appeal_text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["created_at"] = self.created_at.isoformat()
        d["rule_ids"], d["job_ids"] = list(self.rule_ids), list(self.job_ids)
        return d


@dataclass(frozen=True)
class ReviewResult:
    """What a decision did, and what to tell the requester (`message`)."""

    item_id: str
    kind: str
    approved: bool
    case_id: str
    case_status: str
    user_key: str
    platform: str
    channel: str | None
    reply_target: dict[str, Any] | None
    message: str
    released: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    problem: str = ""
    bad_seq: int | None = None


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (a prompt starting with `=`, `+`, `-`,
    `@`) gets a leading apostrophe in the CSV export; jsonl keeps the exact text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_audit(rows: list[dict[str, Any]], fmt: str, out: IO[str]) -> None:
    """Audit rows as `jsonl` (exact text) or `csv` (rule ids joined, formula cells quoted): one
    writer for the service's export and the web's download, so the two files never differ."""
    if fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=[*AUDIT_FIELDS, "prev_hash", "row_hash"])
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_cell(v) for k, v in
                         {**r, "rule_ids": ";".join(r["rule_ids"])}.items()})


def _fmt(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


class ModerationService:
    """See the module docstring. `queue` (a `JobQueue`) is needed to submit, release and reject
    jobs; without one, decisions are only recorded. `now` is injectable for tests."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        queue: Any | None = None,
        settings: Settings | None = None,
        mod_settings: ModerationSettings | None = None,
        moderator_roles: Iterable[str] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.conf = mod_settings or get_moderation_settings()
        self.queue = queue
        self.database_url = (
            database_url
            or getattr(queue, "database_url", None)
            or self.settings.resolved_database_url()
        )
        self.engine = make_engine(self.database_url)
        if moderator_roles is None:
            if queue is not None:
                moderator_roles = queue.conf.moderator_roles
            else:
                from imagine_med.queue.config import get_queue_settings

                moderator_roles = get_queue_settings().moderator_roles
        self.moderator_roles = frozenset(moderator_roles)
        self.now = now or utcnow

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction that first locks the audit head row (see module docstring)."""
        with session_scope(self.engine) as s:
            res = s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
            if res.rowcount == 0:  # tables made by create_all rather than the migration
                s.add(AuditHead(id=1, seq=0, last_hash=""))
                s.flush()
            yield s

    def _audit(self, s: Session, event: str, *, actor: str = "system",
               case: ModerationCase | None = None, **fields: Any) -> AuditEntry:
        head = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        row: dict[str, Any] = {f: None for f in AUDIT_FIELDS}
        if case is not None:
            row.update(
                subject=case.user_key, platform=case.platform, channel=case.channel,
                case_id=case.id, prompt_redacted=case.prompt_redacted,
                prompt_sha256=case.prompt_sha256, rule_ids=list(case.rule_ids or []),
            )
        row.update(fields)
        row.update(seq=head.seq + 1, at=self.now(), event=event, actor=actor)
        row["rule_ids"] = list(row["rule_ids"] or [])
        digest = chain_hash(head.last_hash, row)
        entry = AuditEntry(**row, prev_hash=head.last_hash, row_hash=digest)
        s.add(entry)
        head.seq, head.last_hash = row["seq"], digest
        log.info("moderation %s by %s: case=%s job=%s decision=%s rules=%s", event, actor,
                 row["case_id"], row["job_id"], row["decision"], ",".join(row["rule_ids"]))
        return entry

    def is_moderator(self, roles: Iterable[str]) -> bool:
        return bool(self.moderator_roles & set(roles))

    def _require_moderator(self, roles: Iterable[str]) -> None:
        if not self.is_moderator(roles):
            raise NotModerator("Only moderators can decide held prompts and appeals.")

    # ------------------------------------------------------------------ screening

    def check(self, prompt: str, who: Requester, *, context: ScreenContext | None = None
              ) -> Screening:
        """Screen a request and record it: every request gets an audit entry; a held or
        blocked one gets a case (reviewable, appealable); a block earns a strike."""
        ctx = context or ScreenContext(user_id=who.user, platform=who.platform,
                                       channel_id=who.channel)
        verdict = screen(prompt, ctx)
        now = self.now()
        with self._tx() as s:
            ban = self._active_ban(s, who.user_key, now)
            if ban is not None:
                verdict = replace(
                    verdict, decision="block",
                    rule_ids=(*verdict.rule_ids, "moderation.banned"),
                    reason=(f"Your prompts are paused until {_fmt(ban.ends_at)} after repeated "
                            "refused requests. A moderator can lift the pause."),
                )
            elif verdict.decision != "allow" and self._overridden(s, who.user_key, verdict, now):
                verdict = replace(
                    verdict, decision="allow",
                    rule_ids=(*verdict.rule_ids, "moderation.override"),
                    reason="Allowed: a moderator accepted your appeal for this prompt.",
                )
            case = None
            if verdict.decision != "allow":
                case = ModerationCase(
                    id=_new_id("c"), created_at=now, platform=who.platform, team=who.team,
                    channel=who.channel, user_key=who.user_key, user_name=who.user_name,
                    reply_target=who.reply_target, prompt_redacted=verdict.redacted_prompt,
                    prompt_sha256=verdict.prompt_sha256, decision=verdict.decision,
                    rule_ids=list(verdict.rule_ids), reason=verdict.reason,
                    policy_version=verdict.policy_version,
                    status="pending" if verdict.decision == "hold" else "blocked",
                )
                s.add(case)
            self._audit(
                s, "screen", subject=who.user_key, platform=who.platform, channel=who.channel,
                case_id=case.id if case else None, prompt_redacted=verdict.redacted_prompt,
                prompt_sha256=verdict.prompt_sha256, rule_ids=verdict.rule_ids,
                decision=verdict.decision, reason=verdict.reason,
            )
            strikes = 0
            banned_until = ban.ends_at if ban is not None else None
            if case is not None and verdict.decision == "block" and ban is None:
                strikes, new_ban = self._strike(s, case, now)
                banned_until = new_ban.ends_at if new_ban is not None else None
        return Screening(verdict, case.id if case else None, banned_until, strikes)

    def screen(self, prompt: str, who: Requester | None = None) -> Screening | Verdict:
        """`check` when the requester is known, else the pure screen (nothing recorded)."""
        return self.check(prompt, who) if who is not None else screen(prompt)

    def submit(self, prompt: str, specs: Sequence[Any], who: Requester, **queue_kwargs: Any
               ) -> Submission:
        """Screen, record, then queue: allowed jobs are queued, held ones parked for review,
        blocked ones never reach the queue."""
        if self.queue is None:
            raise ModerationError("The moderation service has no queue to submit to.")
        sc = self.check(prompt, who)
        if sc.decision == "block":
            return Submission(sc)
        hold = sc.decision == "hold"
        try:
            refs = self.queue.submit(specs, who, hold=hold, prompt=prompt, **queue_kwargs)
        except Exception:
            if sc.case_id:
                self._close_unqueued(sc.case_id)
            raise
        if hold and sc.case_id:
            self.attach_jobs(sc.case_id, [r.id for r in refs])
        return Submission(sc, list(refs))

    def attach_jobs(self, case_id: str, job_ids: Iterable[str]) -> None:
        """Link parked queue jobs to a held case, so deciding the case releases or rejects them."""
        with self._tx() as s:
            case = s.get(ModerationCase, case_id)
            if case is None:
                raise NotFound(f"There is no moderation case {case_id}.")
            for job_id in job_ids:
                s.add(CaseJob(job_id=job_id, case_id=case_id))
                self._audit(s, "hold", case=case, job_id=job_id, decision="hold",
                            reason=case.reason)

    def _close_unqueued(self, case_id: str) -> None:
        with self._tx() as s:
            case = s.get(ModerationCase, case_id)
            if case is not None and case.status == "pending":
                case.status = "cancelled"
                self._audit(s, "cancel", case=case, decision="cancel",
                            reason="the queue refused the held jobs")

    # ------------------------------------------------------------------ review

    def pending(self, limit: int = 50) -> list[ReviewItem]:
        """Held prompts and appeals awaiting a moderator, oldest first."""
        items: list[ReviewItem] = []
        with session_scope(self.engine) as s:
            cases = s.scalars(
                select(ModerationCase).where(
                    (ModerationCase.status == "pending")
                    | ((ModerationCase.status == "deciding")
                       & (ModerationCase.decided_at < self.now() - STALE_CLAIM))
                ).order_by(ModerationCase.created_at).limit(limit)
            ).all()
            for c in cases:
                items.append(self._item(s, c, c.id, "hold", c.created_at))
            appeals = s.scalars(
                select(Appeal).where(Appeal.status == "pending")
                .order_by(Appeal.created_at).limit(limit)
            ).all()
            for a in appeals:
                c = s.get(ModerationCase, a.case_id)
                if c is not None:
                    items.append(self._item(s, c, a.id, "appeal", a.created_at, a.text_redacted))
        return sorted(items, key=lambda i: i.created_at)[:limit]

    def _item(self, s: Session, c: ModerationCase, item_id: str, kind: str,
              created_at: datetime, appeal_text: str | None = None) -> ReviewItem:
        jobs = s.scalars(select(CaseJob.job_id).where(CaseJob.case_id == c.id)).all()
        return ReviewItem(
            id=item_id, kind=kind, case_id=c.id, created_at=created_at, user_key=c.user_key,
            platform=c.platform, channel=c.channel, prompt_redacted=c.prompt_redacted,
            rule_ids=tuple(c.rule_ids or ()), reason=c.reason, case_status=c.status,
            job_ids=tuple(jobs), appeal_text=appeal_text,
        )

    def case_jobs(self, case_id: str) -> list[str]:
        with session_scope(self.engine) as s:
            return list(s.scalars(select(CaseJob.job_id).where(CaseJob.case_id == case_id)))

    def find_case(self, item_id: str) -> str | None:
        """The case behind a case id, a job id or an appeal id."""
        with session_scope(self.engine) as s:
            return self._case_id(s, item_id)

    def _case_id(self, s: Session, item_id: str) -> str | None:
        if s.get(ModerationCase, item_id) is not None:
            return item_id
        link = s.get(CaseJob, item_id)
        if link is not None:
            return link.case_id
        appeal = s.get(Appeal, item_id)
        return appeal.case_id if appeal is not None else None

    def decide(self, item_id: str, moderator: str, roles: Iterable[str], approve: bool,
               reason: str = "") -> ReviewResult:
        """A moderator's decision on a held prompt (by case or job id) or an appeal (by appeal
        id). Approving a hold releases its jobs into the queue; rejecting one cancels them with
        `reason` shown to the requester. A rejection needs a reason.

        The case is claimed first (pending -> deciding) and the queue is called outside any
        transaction of ours (the queue writes the same database); if the queue fails, the case
        goes back to pending and the error is raised."""
        self._require_moderator(roles)
        reason = (reason or "").strip()
        if not approve and not reason:
            raise ModerationError("Give a reason for the rejection; the requester will see it.")
        with self._tx() as s:
            appeal = s.get(Appeal, item_id)
            if appeal is not None:
                if appeal.status != "pending":
                    raise AlreadyDecided(f"Appeal {appeal.id} is already {appeal.status}.")
                case = s.get(ModerationCase, appeal.case_id)
                assert case is not None  # foreign key
                if case.status != "pending":  # an appeal of a block: no jobs to move
                    return self._decide_appeal(s, appeal, case, moderator, approve, reason)
                kind = "appeal"
            else:
                case_id = self._case_id(s, item_id)
                case = s.get(ModerationCase, case_id) if case_id else None
                if case is None:
                    raise NotFound(f"Nothing to decide under {item_id!r}: no held prompt, job "
                                   "or appeal has that id (see `imagine-med mod queue`).")
                kind = "hold"
            if case.status != "pending" and not self._stale_claim(case):
                raise AlreadyDecided(f"Case {case.id} is already {case.status}.")
            case.status = "deciding"
            case.decided_at = self.now()  # when claimed; overwritten when decided
            case_id = case.id
            job_ids = list(s.scalars(select(CaseJob.job_id).where(CaseJob.case_id == case.id)))
        try:
            released, rejected = self._move_jobs(job_ids, approve, reason)
        except Exception as exc:
            with self._tx() as s:
                claimed = s.get(ModerationCase, case_id)
                if claimed is not None and claimed.status == "deciding":
                    claimed.status = "pending"
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise ModerationError(
                f"The queue could not carry out the decision ({detail}); case {case_id} is "
                "still pending, so try again once the queue is back."
            ) from exc
        with self._tx() as s:
            case = s.get(ModerationCase, case_id)
            assert case is not None
            result = self._finish_hold(s, case, moderator, approve, reason, item_id, kind,
                                       job_ids, released, rejected)
            for a in s.scalars(select(Appeal).where(Appeal.case_id == case.id,
                                                    Appeal.status == "pending")):
                self._close_appeal(s, a, case, moderator, approve, reason)
            return result

    def _stale_claim(self, case: ModerationCase) -> bool:
        """A claim left by a process that died mid-decision: free again after STALE_CLAIM.
        Re-deciding is safe, as releasing or rejecting an already moved job changes nothing."""
        return (case.status == "deciding" and case.decided_at is not None
                and self.now() - case.decided_at > STALE_CLAIM)

    def _move_jobs(self, job_ids: list[str], approve: bool, reason: str
                   ) -> tuple[list[str], list[str]]:
        released: list[str] = []
        rejected: list[str] = []
        if self.queue is None:
            return released, rejected
        for job_id in job_ids:
            if approve:
                if self.queue.release(job_id) == "queued":
                    released.append(job_id)
            elif self.queue.reject(job_id, f"Rejected by a moderator: {reason}") == "cancelled":
                rejected.append(job_id)
        return released, rejected

    def record_review(self, job_id: str, action: str, moderator: str, reason: str = "") -> None:
        """Record a decision an adapter already carried out on the queue (release/reject)."""
        approve = action in ("approve", "approved", "release")
        with self._tx() as s:
            case_id = self._case_id(s, job_id)
            case = s.get(ModerationCase, case_id) if case_id else None
            if case is None:
                self._audit(s, "approve" if approve else "reject", actor=moderator,
                            job_id=job_id, decision="approve" if approve else "reject",
                            reason=reason or None)
                return
            if case.status == "pending":
                jobs = list(s.scalars(select(CaseJob.job_id).where(CaseJob.case_id == case.id)))
                self._finish_hold(s, case, moderator, approve, reason, job_id, "hold", jobs,
                                  [], [])

    def _finish_hold(self, s: Session, case: ModerationCase, moderator: str, approve: bool,
                     reason: str, item_id: str, kind: str, job_ids: list[str],
                     released: list[str], rejected: list[str]) -> ReviewResult:
        case.status = "approved" if approve else "rejected"
        case.decided_by, case.decided_at, case.decision_note = moderator, self.now(), reason
        for job_id in job_ids or [None]:
            self._audit(s, "approve" if approve else "reject", actor=moderator, case=case,
                        job_id=job_id, decision="approve" if approve else "reject",
                        reason=reason or None)
        message = (
            "A moderator approved your request; it is in the queue now."
            if approve else f"A moderator rejected your request: {reason}"
        )
        return self._result(case, item_id, kind, approve, message, released, rejected)

    def _result(self, case: ModerationCase, item_id: str, kind: str, approve: bool, message: str,
                released: list[str], rejected: list[str]) -> ReviewResult:
        return ReviewResult(
            item_id=item_id, kind=kind, approved=approve, case_id=case.id,
            case_status=case.status, user_key=case.user_key, platform=case.platform,
            channel=case.channel, reply_target=case.reply_target, message=message,
            released=tuple(released), rejected=tuple(rejected),
        )

    # ------------------------------------------------------------------ appeals

    def appeal(self, case_id: str, who: Requester, text: str = "") -> str:
        """File an appeal against a block or a hold; returns the appeal id. Limited to
        `appeals_per_day` per user per rolling 24 hours."""
        now = self.now()
        note = screen(text) if text.strip() else None
        with self._tx() as s:
            resolved = self._case_id(s, case_id)
            case = s.get(ModerationCase, resolved) if resolved else None
            if case is None:
                raise NotFound(f"There is no refused or held request {case_id!r} to appeal.")
            if case.user_key != who.user_key:
                raise AppealRefused("Only the person who made a request can appeal it.")
            if case.status in ("approved", "overturned"):
                raise AppealRefused("That request was already allowed; there is nothing to "
                                    "appeal.")
            if s.scalar(select(Appeal.id).where(Appeal.case_id == case.id,
                                                Appeal.status == "pending")):
                raise AppealRefused("An appeal of that request is already waiting for a "
                                    "moderator.")
            since = now - timedelta(hours=24)
            recent = s.scalars(
                select(Appeal.created_at).where(Appeal.user_key == who.user_key,
                                                Appeal.created_at >= since)
                .order_by(Appeal.created_at)
            ).all()
            if len(recent) >= self.conf.appeals_per_day:
                again = recent[0] + timedelta(hours=24)
                raise AppealRefused(
                    f"You can appeal {self.conf.appeals_per_day} times per 24 hours; you can "
                    f"appeal again after {_fmt(again)}."
                )
            appeal = Appeal(
                id=_new_id("a"), case_id=case.id, user_key=who.user_key, created_at=now,
                text_redacted=note.redacted_prompt if note else "",
                text_sha256=note.prompt_sha256 if note else "", status="pending",
            )
            s.add(appeal)
            self._audit(s, "appeal", actor=who.user_key, case=case, appeal_id=appeal.id,
                        decision="appeal", reason=appeal.text_redacted or None)
            return appeal.id

    def _decide_appeal(self, s: Session, appeal: Appeal, case: ModerationCase, moderator: str,
                       approve: bool, reason: str) -> ReviewResult:
        """An appeal of a refused request (an appeal of a hold is decided with the hold)."""
        self._close_appeal(s, appeal, case, moderator, approve, reason)
        if approve:
            case.status = "overturned"
            case.decided_by, case.decided_at, case.decision_note = moderator, self.now(), reason
            self._revoke_strikes(s, case, moderator)
            message = ("A moderator accepted your appeal: you can send the same prompt again "
                       f"within {self.conf.override_days:g} days.")
        else:
            message = f"A moderator reviewed your appeal and kept the decision: {reason}"
        return self._result(case, appeal.id, "appeal", approve, message, [], [])

    def _close_appeal(self, s: Session, appeal: Appeal, case: ModerationCase, moderator: str,
                      approve: bool, reason: str) -> None:
        appeal.status = "overturned" if approve else "upheld"
        appeal.decided_by, appeal.decided_at, appeal.decision_note = moderator, self.now(), reason
        self._audit(s, f"appeal_{appeal.status}", actor=moderator, case=case,
                    appeal_id=appeal.id, decision=appeal.status, reason=reason or None)

    def _overridden(self, s: Session, user_key: str, verdict: Verdict, now: datetime) -> bool:
        since = now - timedelta(days=self.conf.override_days)
        return bool(s.scalar(
            select(ModerationCase.id).where(
                ModerationCase.user_key == user_key,
                ModerationCase.prompt_sha256 == verdict.prompt_sha256,
                ModerationCase.status == "overturned",
                ModerationCase.decided_at >= since,
            ).limit(1)
        ))

    # ------------------------------------------------------------------ strikes and bans

    def _active_strikes(self, s: Session, user_key: str, now: datetime) -> int:
        since = now - timedelta(hours=self.conf.strike_window_hours)
        return int(s.scalar(
            select(func.count(Strike.id)).where(
                Strike.user_key == user_key, Strike.at >= since, Strike.revoked_at.is_(None)
            )
        ) or 0)

    def _active_ban(self, s: Session, user_key: str, now: datetime) -> Ban | None:
        return s.scalars(
            select(Ban).where(Ban.user_key == user_key, Ban.ends_at > now,
                              Ban.lifted_at.is_(None)).order_by(Ban.ends_at.desc()).limit(1)
        ).first()

    def _strike(self, s: Session, case: ModerationCase, now: datetime) -> tuple[int, Ban | None]:
        s.add(Strike(user_key=case.user_key, at=now, case_id=case.id,
                     rule_ids=list(case.rule_ids or [])))
        s.flush()
        count = self._active_strikes(s, case.user_key, now)
        self._audit(s, "strike", case=case, decision="strike",
                    reason=f"{count} of {self.conf.strikes_to_ban} strikes")
        if count < self.conf.strikes_to_ban:
            return count, None
        earlier = int(s.scalar(select(func.count(Ban.id)).where(
            Ban.user_key == case.user_key)) or 0)
        hours = self.conf.ban_hours * self.conf.ban_growth**earlier
        ban = Ban(user_key=case.user_key, starts_at=now, ends_at=now + timedelta(hours=hours),
                  reason=f"{count} refused prompts within {self.conf.strike_window_hours:g} h",
                  created_by="system")
        s.add(ban)
        self._audit(s, "ban", case=case, decision="ban",
                    reason=f"paused until {_fmt(ban.ends_at)} ({hours:g} h): {ban.reason}")
        return count, ban

    def _revoke_strikes(self, s: Session, case: ModerationCase, moderator: str) -> None:
        now = self.now()
        for strike in s.scalars(select(Strike).where(Strike.case_id == case.id,
                                                     Strike.revoked_at.is_(None))):
            strike.revoked_at, strike.revoked_by = now, moderator
        s.flush()
        ban = self._active_ban(s, case.user_key, now)
        if ban is not None and self._active_strikes(s, case.user_key, now) < (
            self.conf.strikes_to_ban
        ):
            ban.lifted_at, ban.lifted_by = now, moderator
            self._audit(s, "unban", actor=moderator, case=case, decision="unban",
                        reason="strike revoked on appeal")

    def strikes(self, user_key: str) -> int:
        with session_scope(self.engine) as s:
            return self._active_strikes(s, user_key, self.now())

    def banned_until(self, user_key: str) -> datetime | None:
        with session_scope(self.engine) as s:
            ban = self._active_ban(s, user_key, self.now())
            return ban.ends_at if ban is not None else None

    def unban(self, user_key: str, moderator: str, roles: Iterable[str], reason: str = ""
              ) -> bool:
        """Lift a user's active pause; returns whether there was one."""
        self._require_moderator(roles)
        now = self.now()
        with self._tx() as s:
            bans = s.scalars(select(Ban).where(Ban.user_key == user_key, Ban.ends_at > now,
                                               Ban.lifted_at.is_(None))).all()
            for ban in bans:
                ban.lifted_at, ban.lifted_by = now, moderator
            if bans:
                self._audit(s, "unban", actor=moderator, subject=user_key, decision="unban",
                            reason=reason or None)
            return bool(bans)

    # ------------------------------------------------------------------ audit log

    def audit_entries(self, since: datetime | None = None, until: datetime | None = None
                      ) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            q = select(AuditEntry).order_by(AuditEntry.seq)
            if since is not None:
                q = q.where(AuditEntry.at >= since)
            if until is not None:
                q = q.where(AuditEntry.at < until)
            return [e.as_dict() for e in s.scalars(q)]

    def export_audit(self, fmt: str, out: IO[str], since: datetime | None = None,
                     until: datetime | None = None) -> int:
        """Write the audit log as `csv` or `jsonl`; returns the number of entries."""
        if fmt not in ("csv", "jsonl"):
            raise ModerationError(f"Unknown audit format {fmt!r}; use csv or jsonl.")
        rows = self.audit_entries(since, until)
        write_audit(rows, fmt, out)
        return len(rows)

    def verify_audit(self) -> AuditCheck:
        """Recompute the hash chain: an edited, removed or reordered entry is reported.

        Runs under the same head-row lock as the writers: read outside it, a write landing
        between reading the entries and the head looked like a broken chain."""
        with self._tx() as s:
            head = s.get(AuditHead, 1)
            prev, n = "", 0
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
                n += 1
                if e.seq != n:
                    return AuditCheck(False, n, f"entry {n} is missing", e.seq)
                if e.prev_hash != prev:
                    return AuditCheck(False, n, f"entry {e.seq} does not follow {e.seq - 1}",
                                      e.seq)
                if chain_hash(prev, e.as_dict()) != e.row_hash:
                    return AuditCheck(False, n, f"entry {e.seq} was altered", e.seq)
                prev = e.row_hash
            if head is not None and (head.seq != n or head.last_hash != prev):
                return AuditCheck(False, n, f"the log ends at {n} but {head.seq} were written",
                                  n + 1)
            return AuditCheck(True, n)

