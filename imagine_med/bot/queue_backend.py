"""`JobService` over the real queue (`imagine_med.queue.JobQueue`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagine_med.bot.jobs import JobEvent, JobRefused, JobView, Who
from imagine_med.prompt.spec import CaseSpec
from imagine_med.queue import JobQueue, QueueError, Requester
from imagine_med.queue.types import JobInfo

FOLLOWUPS = ("upscale", "variation", "reroll", "refine")


def requester(who: Who, reply_target: dict[str, Any] | None = None) -> Requester:
    roles = ("moderator",) if who.is_moderator else ()
    return Requester(platform=who.platform, user=who.user_id, team=who.team_id,
                     channel=who.channel_id, roles=roles, reply_target=reply_target,
                     user_name=who.user_name or None)


class QueueJobs:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._consumers: dict[tuple[str, str, str], Any] = {}

    # ---- jobs ----------------------------------------------------------------------------

    def submit(self, specs: Sequence[CaseSpec], who: Who, *, kind: str = "imagine",
               parent: str | None = None, index: int | None = None,
               params: dict[str, Any] | None = None, hold: bool = False,
               reply_target: dict[str, Any] | None = None,
               prompt: str | None = None) -> list[JobView]:
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
                refs = self.queue.submit(list(specs), req, kind=kind, hold=hold, prompt=prompt)
        except QueueError as exc:
            raise JobRefused(exc.message) from exc
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
        files = self.queue.files(info.id) if info.status == "done" else {}
        position = self.queue.position(info.id) if info.status == "queued" else None
        variant = info.params.get("variant")
        return JobView(
            id=info.id, kind=info.kind, state=info.status, owner=info.user,
            platform=info.platform, channel=info.channel, prompt=info.prompt, spec=spec,
            position=position, fraction=info.progress or 0.0, stage=info.stage or "",
            error=info.error, files=files, parent_id=info.params.get("parent_id"),
            parent_index=int(variant) if variant else None, params=info.params,
            reply_target=info.reply_target, created_at=info.created_at,
        )

    def cancel(self, job_id: str, who: Who) -> str:
        try:
            return self.queue.cancel(job_id, by=requester(who))
        except QueueError as exc:
            raise JobRefused(exc.message) from exc

    def release(self, job_id: str) -> str:
        return self.queue.release(job_id)

    def reject(self, job_id: str, reason: str) -> str:
        return self.queue.reject(job_id, reason=reason or "Rejected by a moderator.")

    def user_jobs(self, who: Who) -> list[JobView]:
        return [self._view(i) for i in self.queue.user_jobs(requester(who), active_only=True)]

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
        self._consumer(platform, group, consumer)._own_pending_done = False

    def ack(self, platform: str, group: str, consumer: str, event: JobEvent) -> None:
        c = self._consumer(platform, group, consumer)
        self.queue.redis.xack(c.stream, group, event.entry_id)

    def mark_posted(self, job_id: str, platform: str, kind: str, message_ref: str) -> bool:
        return self.queue.mark_posted(job_id, platform, message_ref, kind=kind)

    def posted(self, job_id: str, platform: str, kind: str) -> str | None:
        return self.queue.posted(job_id, platform, kind)
