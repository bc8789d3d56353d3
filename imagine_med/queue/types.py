"""The queue's public vocabulary: who asks (Requester), what comes back (JobRef, JobInfo, Event),
and the errors whose `.message` an adapter can show as is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from imagine_med.errors import UserError

JobStatus = Literal["queued", "running", "done", "failed", "cancelled", "held"]
TERMINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})
JobKind = Literal["imagine", "upscale", "variation", "reroll", "refine", "ping", "dicom",
                  "caseset", "series", "stack"]
JOB_KINDS: tuple[str, ...] = ("imagine", "upscale", "variation", "reroll", "refine", "ping",
                              "dicom", "caseset", "series", "stack")
Lane = Literal["priority", "normal", "batch"]


@dataclass(frozen=True)
class Requester:
    """Who submitted a job and where to answer.

    `reply_target` is adapter-defined, JSON-serialisable (a Discord interaction/message id, a Slack
    thread ts); the queue stores and echoes it in every event without looking inside.
    """

    platform: str
    user: str
    team: str | None = None
    channel: str | None = None
    roles: tuple[str, ...] = ()
    reply_target: dict[str, Any] | None = None
    user_name: str | None = None

    @property
    def user_key(self) -> str:
        """The identity limits and fairness apply to (a user is per platform and workspace)."""
        return f"{self.platform}:{self.team or '-'}:{self.user}"


@dataclass(frozen=True)
class JobRef:
    id: str
    status: str
    lane: str
    group_id: str
    index: int = 0  # position inside the submission (permutations), 0-based
    size: int = 1


@dataclass
class JobInfo:
    """A job as seen by status/user_jobs (from Redis while live, else from the store)."""

    id: str
    kind: str
    status: str
    lane: str
    user_key: str
    platform: str
    user: str
    team: str | None
    channel: str | None
    prompt: str
    spec: dict[str, Any] | None
    params: dict[str, Any]
    group_id: str | None
    group_index: int
    group_size: int
    tries: int
    max_tries: int
    worker: str | None
    error: str | None
    result: dict[str, Any] | None
    created_at: float | None
    started_at: float | None
    finished_at: float | None
    progress: float | None = None
    stage: str | None = None
    reply_target: dict[str, Any] | None = None
    roles: tuple[str, ...] = ()

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobInfo:
        def f(key: str) -> float | None:
            v = h.get(key)
            return float(v) if v not in (None, "") else None

        def j(key: str) -> Any:
            v = h.get(key)
            return json.loads(v) if v not in (None, "") else None

        return cls(
            id=h["id"], kind=h.get("kind", "imagine"), status=h.get("status", "queued"),
            lane=h.get("lane", "normal"), user_key=h.get("user_key", ""),
            platform=h.get("platform", ""), user=h.get("user", ""), team=h.get("team") or None,
            channel=h.get("channel") or None, prompt=h.get("prompt", ""), spec=j("spec"),
            params=j("params") or {}, group_id=h.get("group_id") or None,
            group_index=int(h.get("group_index") or 0), group_size=int(h.get("group_size") or 1),
            tries=int(h.get("tries") or 0), max_tries=int(h.get("max_tries") or 1),
            worker=h.get("worker") or None, error=h.get("error") or None, result=j("result"),
            created_at=f("created_at"), started_at=f("started_at"), finished_at=f("finished_at"),
            progress=f("progress"), stage=h.get("stage") or None, reply_target=j("reply_target"),
            roles=tuple(j("roles") or ()),
        )


@dataclass
class Event:
    """One entry of a platform's event stream.

    type: queued | held | started | progress | requeued | done | failed | cancelled.
    `data` holds every field, JSON ones decoded (reply_target, result).
    """

    id: str
    type: str
    job_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL


class QueueError(UserError):
    """Anything the queue refuses or cannot do; `message` is written for the end user."""


class LimitExceeded(QueueError):
    """A user's job limit is reached (running + waiting)."""


class QueueUnavailable(QueueError):
    """Redis (or the store) could not be reached; nothing was written."""


class JobNotFound(QueueError):
    pass


class NotAllowed(QueueError):
    pass
