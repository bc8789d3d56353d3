"""The job queue between chat adapters and engines (Redis + rq workers + the durable store).

Public API (see docs/queue.md): `JobQueue` (submit, submit_followup, cancel, status, position,
user_jobs, hold/release/reject, mark_posted/posted, consumer, watch, files/export), `Requester`,
`JobRef`, `JobInfo`, `Event`, `EventConsumer`, and the errors `QueueError`, `LimitExceeded`,
`QueueUnavailable`, `NotAllowed`, `JobNotFound` (each with a user-facing `.message`).
Imports are lazy so `import imagine_med.queue` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import Any

from imagine_med.queue.types import (
    Event,
    JobInfo,
    JobNotFound,
    JobRef,
    LimitExceeded,
    NotAllowed,
    QueueError,
    QueueUnavailable,
    Requester,
)

__all__ = [
    "Event",
    "EventConsumer",
    "JobInfo",
    "JobNotFound",
    "JobQueue",
    "JobRef",
    "LimitExceeded",
    "NotAllowed",
    "QueueError",
    "QueueUnavailable",
    "Requester",
]


def __getattr__(name: str) -> Any:
    if name == "JobQueue":
        from imagine_med.queue.api import JobQueue

        return JobQueue
    if name == "EventConsumer":
        from imagine_med.queue.events import EventConsumer

        return EventConsumer
    raise AttributeError(name)
