"""Per-user job limits that count held jobs.

The queue's own check counts a user's running and waiting jobs and lets held (parked) jobs
through, so ten prompts that moderation held made 120 jobs and 120 review posts. Here, before
anything is queued, all of the user's live jobs count, held ones included:

* running + waiting + held + new <= the queue's per-user limit (running + waiting, 3 + 10);
* held jobs never run, so they may fill the waiting allowance (10) but not the running slots:
  with that many held, nothing new is taken until a moderator decides.

Check and submit happen under a short per-user lock in Redis, so two bot processes (or two
quick clicks) cannot both pass the check with the last free place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import redis

from imagine_med.bot.jobs import JobRefused
from imagine_med.queue import JobQueue, QueueError, Requester
from imagine_med.queue.connection import wrap_errors

LOCK_S = 30  # longest a check + submit may hold the lock (then it expires by itself)
WAIT_S = 10  # how long a second request of the same user waits for the first


class UserLimits:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    @contextmanager
    def admitting(self, who: Requester, n: int) -> Iterator[None]:
        """Raise JobRefused when `n` more jobs would break `who`'s limits; otherwise hold the
        user's lock while the caller submits them."""
        lock: Any = self.queue.redis.lock(f"{self.queue.prefix}:bot:admit:{who.user_key}",
                                          timeout=LOCK_S, blocking_timeout=WAIT_S)
        acquired = False
        try:
            try:
                acquired = bool(lock.acquire())
                if not acquired:
                    raise JobRefused("Another request of yours is still being queued; try "
                                     "again in a moment.")
                self.check(who, n)
            except redis.RedisError as exc:
                raise JobRefused(wrap_errors(exc, self.queue.redis_url).message) from exc
            except QueueError as exc:
                raise JobRefused(exc.message) from exc
            yield
        finally:
            if acquired:
                with suppress(redis.RedisError):  # LockError: it expired after LOCK_S
                    lock.release()

    def check(self, who: Requester, n: int) -> None:
        conf = self.queue.conf
        live = self.queue.user_jobs(who, active_only=True, limit=200)
        held = sum(1 for j in live if j.status == "held")
        if held >= conf.max_queued_per_user:
            raise JobRefused(
                f"You have {held} jobs waiting for a moderator's review, the most one person "
                "may have. Wait for a decision before asking for more.")
        limit = self.queue.user_limit
        if len(live) + n > limit:
            what = "a job" if n == 1 else f"{n} jobs"
            held_note = f", {held} of them held for review" if held else ""
            raise JobRefused(
                f"Your queue is full: you have {len(live)} job(s) running or waiting"
                f"{held_note}, and each person may have at most {conf.max_running_per_user} "
                f"running and {conf.max_queued_per_user} more waiting. "
                f"{what.capitalize()} could not be added; wait for one to finish or cancel "
                "one, then try again.")
