"""`JobService` over the real queue (`imagine_med.queue.JobQueue`) and, when given, the
moderation service (`imagine_med.moderation.service.ModerationService`), which screens and
records every prompt and carries out moderators' decisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagine_med.bot.jobs import JobEvent, JobRefused, JobView, Screened, Who
from imagine_med.bot.limits import UserLimits
from imagine_med.prompt.spec import CaseSpec
from imagine_med.queue import JobQueue, QueueError, Requester
from imagine_med.queue.types import JobInfo

FOLLOWUPS = ("upscale", "variation", "reroll", "refine", "dicom", "stack")


def requester(who: Who, reply_target: dict[str, Any] | None = None) -> Requester:
    """The queue's view of `who`. Its roles come only from configuration (BotCore.identify):
    a configured moderator of their own guild/workspace, or a configured priority user (the
    queue's "instructor" role: the priority lane), never from a platform permission."""
    roles = (("moderator",) if who.is_moderator else ()) + (
        ("instructor",) if who.priority else ())
    return Requester(platform=who.platform, user=who.user_id, team=who.team_id,
                     channel=who.channel_id, roles=roles, reply_target=reply_target,
                     user_name=who.user_name or None)


def _screened(verdict: Any, case_id: str | None = None) -> Screened:
    return Screened(decision=verdict.decision, reason=verdict.reason or "",
                    rule_ids=tuple(verdict.rule_ids), redacted=verdict.redacted,
                    case_id=case_id if case_id is not None else getattr(verdict, "case_id", None))


class QueueJobs:
    def __init__(self, queue: JobQueue, moderation: Any | None = None) -> None:
        self.queue = queue
        self.moderation = moderation
        self.limits = UserLimits(queue)
        self._consumers: dict[tuple[str, str, str], Any] = {}

    # ---- jobs ----------------------------------------------------------------------------

    def submit_screened(self, prompt: str, specs: Sequence[CaseSpec], who: Who, *,
                        kind: str = "imagine", parent: str | None = None,
                        index: int | None = None,
                        reply_target: dict[str, Any] | None = None
                        ) -> tuple[Screened, list[JobView]]:
        req = requester(who, reply_target)
        with self.limits.admitting(req, len(specs)):  # held jobs count too
            return self._submit_screened(prompt, specs, who, req, kind=kind, parent=parent,
                                         index=index, reply_target=reply_target)

    def _submit_screened(self, prompt: str, specs: Sequence[CaseSpec], who: Who,
                         req: Requester, *, kind: str, parent: str | None,
                         index: int | None, reply_target: dict[str, Any] | None
                         ) -> tuple[Screened, list[JobView]]:
        try:
            if kind in FOLLOWUPS:  # a refine: screened, but a follow-up cannot be parked
                sc = self._check(prompt, req)
                if sc.decision == "hold":
                    return Screened("block", f"{sc.reason} A refinement cannot wait for a "
                                    "moderator; start it with /imagine-med instead.",
                                    sc.rule_ids, sc.redacted, sc.case_id), []
                if sc.decision == "block":
                    return sc, []
                return sc, self._submit(specs, who, kind=kind, parent=parent, index=index,
                                        reply_target=reply_target)
            if self.moderation is not None:  # screen, record, queue (parked when held)
                sub = self.moderation.submit(prompt, list(specs), req, kind=kind)
                return _screened(sub.screening), self._views(sub.jobs)
            sc = self._check(prompt, req)
            if sc.decision == "block":
                return sc, []
            refs = self.queue.submit(list(specs), req, kind=kind, hold=sc.decision == "hold",
                                     prompt=prompt)
            return sc, self._views(refs)
        except QueueError as exc:
            raise JobRefused(exc.message) from exc
        except Exception as exc:  # the moderation service's errors carry `.message` too
            message = getattr(exc, "message", None)
            if not isinstance(message, str):
                raise
            raise JobRefused(message) from exc

    def submit_caseset(self, prompt: str, request: Any, who: Who, *,
                       reply_target: dict[str, Any] | None = None
                       ) -> tuple[Screened, list[JobView]]:
        """A case set (imagine_med.teaching): screened like a prompt, planned, then one job
        on the batch lane. A set cannot wait for a moderator, so a hold refuses it."""
        from imagine_med.teaching.jobs import submit_caseset

        req = requester(who, reply_target)
        with self.limits.admitting(req, 1):
            sc = self._check(prompt, req)
            if sc.decision == "hold":
                return Screened("block", f"{sc.reason} A case set cannot wait for a "
                                "moderator's review.", sc.rule_ids, sc.redacted), []
            if sc.decision == "block":
                return sc, []
            try:
                return sc, self._views([submit_caseset(self.queue, request, req)])
            except Exception as exc:  # CaseSetError, registry.Unavailable, QueueError
                message = getattr(exc, "message", None)
                if not isinstance(message, str):
                    raise
                raise JobRefused(message) from exc

    def check_renderable(self, specs: Sequence[CaseSpec]) -> None:
        try:
            self.queue.check_renderable(specs)
        except QueueError as exc:
            raise JobRefused(exc.message) from exc
        except Exception as exc:  # registry.Unavailable: what is missing, what is available
            message = getattr(exc, "message", None)
            if not isinstance(message, str):
                raise
            raise JobRefused(message) from exc

    def _check(self, prompt: str, req: Requester) -> Screened:
        if self.moderation is not None:
            return _screened(self.moderation.check(prompt, req))
        from imagine_med.moderation import ScreenContext, screen

        return _screened(screen(prompt, ScreenContext(user_id=req.user, platform=req.platform,
                                                      channel_id=req.channel)))

    def submit(self, specs: Sequence[CaseSpec], who: Who, *, kind: str = "imagine",
               parent: str | None = None, index: int | None = None,
               params: dict[str, Any] | None = None,
               reply_target: dict[str, Any] | None = None) -> list[JobView]:
        with self.limits.admitting(requester(who), len(specs)):  # held jobs count too
            return self._submit(specs, who, kind=kind, parent=parent, index=index,
                                params=params, reply_target=reply_target)

    def _submit(self, specs: Sequence[CaseSpec], who: Who, *, kind: str = "imagine",
                parent: str | None = None, index: int | None = None,
                params: dict[str, Any] | None = None,
                reply_target: dict[str, Any] | None = None) -> list[JobView]:
        req = requester(who, reply_target)
        p = params or {}
        try:
            if kind in FOLLOWUPS:
                if parent is None:
                    raise JobRefused(f"A {kind} needs the job it starts from.")
                refs = self.queue.submit_followup(
                    parent, kind, req, variant=index, scale=int(p.get("scale", 2)),
                    strength=str(p.get("strength", "subtle")),
                    spec=specs[0] if kind == "refine" else None,
                )
            else:
                refs = self.queue.submit(list(specs), req, kind=kind, params=p or None)
        except QueueError as exc:
            raise JobRefused(exc.message) from exc
        return self._views(refs)

    def _views(self, refs: Sequence[Any]) -> list[JobView]:
        views = [self.get(ref.id) for ref in refs]
        return [v for v in views if v is not None]

    def get(self, job_id: str) -> JobView | None:
        try:
            info = self.queue.status(job_id)
        except QueueError as exc:
            raise JobRefused(exc.message) from exc
        return None if info is None else self._view(info)

    def _view(self, info: JobInfo) -> JobView:
        spec = CaseSpec.model_validate(info.spec) if info.spec else None
        files = self.queue.files(info.id, internal=False) if info.status == "done" else {}
        position = self.queue.position(info.id) if info.status == "queued" else None
        variant = info.params.get("variant")
        return JobView(
            id=info.id, kind=info.kind, state=info.status, owner=info.user,
            platform=info.platform, channel=info.channel, prompt=info.prompt, spec=spec,
            position=position, fraction=info.progress or 0.0, stage=info.stage or "",
            error=info.error, files=files, parent_id=info.params.get("parent_id"),
            parent_index=int(variant) if variant else None, params=info.params,
            reply_target=info.reply_target, created_at=info.created_at,
            seeds=[int(x) for x in (info.result or {}).get("seeds") or []],
            team=info.team,
        )

    def cancel(self, job_id: str, who: Who) -> str:
        try:
            return self.queue.cancel(job_id, by=requester(who))
        except QueueError as exc:
            raise JobRefused(exc.message) from exc

    def review(self, job_id: str, moderator: Who, approve: bool, reason: str) -> None:
        if self.moderation is not None:
            try:
                self.moderation.decide(job_id, moderator.user_id, ("moderator",), approve,
                                       reason)
            except Exception as exc:
                message = getattr(exc, "message", None)
                if not isinstance(message, str):
                    raise
                raise JobRefused(message) from exc
            return
        if not approve and not reason.strip():
            raise JobRefused("Give a reason for the rejection; the requester will see it.")
        for jid in self._held_with(job_id):  # one review post stands for the whole prompt
            state = (self.queue.release(jid) if approve
                     else self.queue.reject(jid, f"Rejected by a moderator: {reason}"))
            if jid == job_id and state != ("queued" if approve else "cancelled"):
                raise JobRefused(f"Job {job_id} is {state}; it was not held any more.")

    def _held_with(self, job_id: str) -> list[str]:
        """`job_id` first, then the other held jobs of the same prompt (its group)."""
        info = self.queue.status(job_id)
        if info is None or not info.group_id:
            return [job_id]
        return [job_id] + [j.id for j in self.queue.user_jobs(info.user_key, active_only=True,
                                                              limit=200)
                           if j.group_id == info.group_id and j.id != job_id
                           and j.status == "held"]

    def user_jobs(self, who: Who) -> list[JobView]:
        return [self._view(i) for i in self.queue.user_jobs(requester(who), active_only=True)]

    def recent_jobs(self, who: Who, limit: int = 20) -> list[JobView]:
        """The person's jobs, newest first, finished ones too (the web page's history)."""
        return [self._view(i) for i in self.queue.user_jobs(requester(who), limit=limit)]

    def queue_length(self) -> int:
        counts = self.queue.counts()
        return sum(v for k, v in counts.items() if k.startswith("queued_"))

    # ---- events --------------------------------------------------------------------------

    def _consumer(self, platform: str, group: str, consumer: str) -> Any:
        key = (platform, group, consumer)
        if key not in self._consumers:
            self._consumers[key] = self.queue.consumer(platform, group, consumer)
        return self._consumers[key]

    def read_events(self, platform: str, group: str, consumer: str,
                    block_ms: int) -> list[JobEvent]:
        events = self._consumer(platform, group, consumer).read(block_ms=block_ms)
        return [
            JobEvent(e.id, e.job_id, e.type, float(e.data.get("progress") or 0.0),
                     str(e.data.get("stage") or ""))
            for e in events
        ]

    def retry_pending(self, platform: str, group: str, consumer: str) -> None:
        self._consumer(platform, group, consumer).retry_pending()

    def ack(self, platform: str, group: str, consumer: str, event: JobEvent) -> None:
        stream = self._consumer(platform, group, consumer).stream
        self.queue.redis.xack(stream, group, event.entry_id)

    def mark_posted(self, job_id: str, platform: str, kind: str, message_ref: str) -> bool:
        return self.queue.mark_posted(job_id, platform, message_ref, kind=kind)

    def posted(self, job_id: str, platform: str, kind: str) -> str | None:
        return self.queue.posted(job_id, platform, kind)
