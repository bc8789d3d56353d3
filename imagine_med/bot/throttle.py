"""Progress edits, throttled: chat platforms rate-limit message edits (Discord about 5 per
5 s per message, Slack about 1 per second per channel), and a user needs only a few updates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ProgressThrottle:
    """Decides whether a progress event is worth an edit.

    An update goes out when at least `min_interval` seconds passed since the last one AND the
    fraction moved by `min_step` or the stage changed. Completion (fraction 1.0) is never sent
    as progress: the result message replaces it.
    """

    min_interval: float = 2.5
    min_step: float = 0.05
    clock: Callable[[], float] = field(default=time.monotonic)
    _last_time: float | None = None
    _last_fraction: float = -1.0
    _last_stage: str | None = None

    def should_emit(self, fraction: float, stage: str = "") -> bool:
        if fraction >= 1.0:
            return False
        now = self.clock()
        if self._last_time is not None and now - self._last_time < self.min_interval:
            return False
        moved = fraction - self._last_fraction >= self.min_step
        if not moved and stage == self._last_stage:
            return False
        self._last_time, self._last_fraction, self._last_stage = now, fraction, stage
        return True


class ThrottleBank:
    """One throttle per job, forgotten when the job's result arrives."""

    def __init__(self, min_interval: float = 2.5, min_step: float = 0.05,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._args = (min_interval, min_step, clock)
        self._by_job: dict[str, ProgressThrottle] = {}

    def should_emit(self, job_id: str, fraction: float, stage: str = "") -> bool:
        t = self._by_job.get(job_id)
        if t is None:
            interval, step, clock = self._args
            t = self._by_job[job_id] = ProgressThrottle(interval, step, clock)
        return t.should_emit(fraction, stage)

    def forget(self, job_id: str) -> None:
        self._by_job.pop(job_id, None)
