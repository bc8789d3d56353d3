"""The delivery loop: the queue's event stream -> edits and posts on one platform.

Each adapter runs one loop over its platform's stream through a consumer group, so a restarted
bot picks up where it stopped. An event is acknowledged only after its message went out, and a
final message is posted at most once: the queue's record of posted messages is checked before
posting and written right after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from imagine_med.bot.core import BotCore
from imagine_med.bot.jobs import JobEvent, JobView
from imagine_med.bot.reply import Reply
from imagine_med.bot.throttle import ThrottleBank
from imagine_med.errors import UserError

log = logging.getLogger(__name__)
MAX_FAILURES = 3
# How long a final event waits for its job's status message to be recorded (the adapter posts
# it right after submit; a very fast job can finish first).
STATUS_GRACE_S = 15.0
QUIZ_SWEEP_S = 1.0  # how often the loop looks for quizzes whose time is up


class NotReady(Exception):
    """The event cannot be shown yet; leave it pending and retry."""


class Poster(Protocol):
    """What an adapter does with a job's messages. `target` is the job's reply target merged
    with its status message's location (see BotCore.target_of)."""

    platform: str

    async def edit_status(self, job: JobView, target: dict[str, Any], reply: Reply) -> None: ...

    async def post_result(self, job: JobView, target: dict[str, Any], reply: Reply) -> str:
        """Post the finished job; return a reference to the posted message."""
        ...

    async def post_private(self, job: JobView, target: dict[str, Any], reply: Reply) -> None:
        """Tell the job's owner something only they should see (auto answer key, a rejected
        held prompt)."""
        ...

    async def post_channel(self, channel: str, reply: Reply) -> str:
        """Post a new public message in `channel` with the bot token (a quiz, its reveal);
        return a reference to it."""
        ...


class DeliveryLoop:
    def __init__(self, core: BotCore, poster: Poster, *, group: str | None = None,
                 consumer: str = "bot-1", interval: float | None = None) -> None:
        self.core = core
        self.poster = poster
        self.platform = poster.platform
        self.group = group or f"bot-{poster.platform}"
        self.consumer = consumer
        self.throttle = ThrottleBank(
            min_interval=core.config.progress_interval_s if interval is None else interval
        )
        self._failures: dict[str, int] = {}
        self._stop = asyncio.Event()
        self._next_sweep = 0.0

    async def run_once(self, block_ms: int = 1000) -> int:
        """Read and handle one batch of events; returns how many were acknowledged."""
        jobs = self.core.jobs
        await self.reveal_due_quizzes()
        events = await asyncio.to_thread(
            jobs.read_events, self.platform, self.group, self.consumer, block_ms
        )
        done = 0
        waiting: set[str] = set()  # jobs with an event left pending: keep their order
        for event in events:
            if event.job_id in waiting:
                continue
            try:
                await self.handle(event)
            except NotReady:
                waiting.add(event.job_id)
                continue
            except Exception:
                n = self._failures[event.entry_id] = self._failures.get(event.entry_id, 0) + 1
                log.exception("delivering %s of job %s failed (%d/%d)", event.type,
                              event.job_id, n, MAX_FAILURES)
                if n < MAX_FAILURES:
                    waiting.add(event.job_id)
                    continue
            self._failures.pop(event.entry_id, None)
            await asyncio.to_thread(jobs.ack, self.platform, self.group, self.consumer, event)
            done += 1
        if waiting:  # offer the pending ones again on the next read, after a short pause
            await asyncio.to_thread(jobs.retry_pending, self.platform, self.group,
                                    self.consumer)
            await asyncio.sleep(0.2)
        return done

    async def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                if not await self.run_once():
                    await asyncio.sleep(0.05)
            except Exception:  # Redis down: wait and retry, never kill the bot
                log.exception("delivery loop error; retrying in 5 s")
                await asyncio.sleep(5)

    def stop(self) -> None:
        self._stop.set()

    async def handle(self, event: JobEvent) -> None:
        core, jobs = self.core, self.core.jobs
        if event.type not in ("started", "progress", "done", "failed", "cancelled"):
            return
        job = await asyncio.to_thread(jobs.get, event.job_id)
        if job is None or job.reply_target is None:
            return  # not submitted from a chat, or already forgotten
        target = await asyncio.to_thread(core.target_of, job)
        quiz_id = (job.reply_target or {}).get("quiz")
        if quiz_id and event.type in ("done", "failed", "cancelled"):
            await self._deliver_quiz(job, target, event, str(quiz_id))
            return
        if job.kind == "dicom":
            await self._deliver_export(job, target, event)
            return
        if event.type in ("started", "progress"):
            if job.state != "running" or not _has_status(target):
                return  # stale (the job has ended) or no status message to edit
            if self.throttle.should_emit(job.id, event.fraction, event.stage):
                reply = core.progress_reply(job, event.fraction, event.stage)
                await self.poster.edit_status(job, target, reply)
            return
        fresh = time.time() - (job.created_at or 0) < STATUS_GRACE_S
        if not _has_status(target) and not target.get("held") and fresh:
            raise NotReady(job.id)  # its status message is being posted right now
        self.throttle.forget(job.id)
        kind = "result" if event.type == "done" else "ended"
        if await asyncio.to_thread(jobs.posted, job.id, self.platform, kind) is not None:
            return  # posted before a restart; just acknowledge
        if event.type == "done" and job.state == "done":
            ref = await self.poster.post_result(job, target, core.result_reply(job))
            await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, ref)
            if await self._answer_key_auto(job):
                try:  # best effort: the grid is out and recorded; never post it twice for this
                    for reply in core.answer_key(job, 0).replies:
                        await self.poster.post_private(job, target, reply)
                except Exception:
                    log.exception("automatic answer key for job %s failed", job.id)
            return
        reply = core.ended_reply(job)
        if _has_status(target):
            await self.poster.edit_status(job, target, reply)
        else:  # e.g. held, then rejected: only its owner hears about it
            reply.ephemeral = True
            await self.poster.post_private(job, target, reply)
        await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, "status")

    async def _deliver_export(self, job: JobView, target: dict[str, Any],
                              event: JobEvent) -> None:
        """A DICOM export has no status message: its requester gets the zip, or why not,
        privately, once."""
        if event.type not in ("done", "failed", "cancelled"):
            return
        jobs = self.core.jobs
        kind = "result" if event.type == "done" else "ended"
        if await asyncio.to_thread(jobs.posted, job.id, self.platform, kind) is not None:
            return
        if event.type == "done" and job.state == "done":
            reply = self.core.dicom_ready(job)
        else:
            reply = self.core.ended_reply(job)
            reply.ephemeral = True
        await self.poster.post_private(job, target, reply)
        await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, "private")

    async def _deliver_quiz(self, job: JobView, target: dict[str, Any], event: JobEvent,
                            quiz_id: str) -> None:
        """A quiz's case is ready: open the quiz and post it (no key, no job id) in the
        channel; its status message just says so. A failed case fails the quiz."""
        core, jobs = self.core, self.core.jobs
        fresh = time.time() - (job.created_at or 0) < STATUS_GRACE_S
        if not _has_status(target) and not target.get("held") and fresh:
            raise NotReady(job.id)
        self.throttle.forget(job.id)
        kind = "result" if event.type == "done" else "ended"
        if await asyncio.to_thread(jobs.posted, job.id, self.platform, kind) is not None:
            return
        channel = str(target.get("channel") or job.channel or "")
        if event.type == "done" and job.state == "done":
            try:
                reply = await asyncio.to_thread(core.quiz.opened, quiz_id, job)
            except (ValueError, OSError, UserError) as exc:  # e.g. no label map to measure
                log.warning("quiz %s over job %s cannot open: %s", quiz_id, job.id, exc)
                await asyncio.to_thread(core.quiz.store.fail, quiz_id)
                if _has_status(target):
                    await self.poster.edit_status(job, target, Reply(
                        f"The quiz case has no answer to measure ({exc}); the quiz is off."))
                await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, "status")
                return
            ref = await self.poster.post_channel(channel, reply)
            await asyncio.to_thread(core.quiz.store.posted, quiz_id, ref)
            if _has_status(target):
                await self.poster.edit_status(job, target, Reply(
                    "Quiz case ready: the quiz is below."))
            await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, ref)
            return
        await asyncio.to_thread(core.quiz.store.fail, quiz_id)
        reply = core.ended_reply(job)
        if _has_status(target):
            await self.poster.edit_status(job, target, reply)
        await asyncio.to_thread(jobs.mark_posted, job.id, self.platform, kind, "status")

    async def reveal_due_quizzes(self, now: float | None = None) -> int:
        """Post the reveal of every quiz of this platform whose timer ran out (checked at
        most once a second); returns how many were posted."""
        now = time.monotonic() if now is None else now
        if now < self._next_sweep:
            return 0
        self._next_sweep = now + QUIZ_SWEEP_S
        posted = 0
        for quiz, reply in await asyncio.to_thread(self.core.quiz.due_reveals, self.platform):
            try:
                await self.poster.post_channel(quiz.channel, reply)
                posted += 1
            except Exception:  # closed already: never posted twice, so say it in the log
                log.exception("posting the reveal of quiz %s failed", quiz.id)
        return posted

    async def _answer_key_auto(self, job: JobView) -> bool:
        prefs = await asyncio.to_thread(
            self.core.prefs.effective, job.platform, job.owner, job.channel or ""
        )
        return bool(prefs.answer_key_auto)


def _has_status(target: dict[str, Any]) -> bool:
    return bool(target.get("message") or target.get("ts"))

