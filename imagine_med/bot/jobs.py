"""What the bot needs from the job queue, as one narrow interface.

The core talks only to `JobService`; `imagine_med.bot.queue_backend.QueueJobs` implements it
over `imagine_med.queue.JobQueue`. Keeping the seam this narrow keeps queue details out of the
adapters (and adapters' details out of the queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imagine_med.errors import UserError
from imagine_med.prompt.spec import CaseSpec

ACTIVE: frozenset[str] = frozenset({"held", "queued", "running"})


class JobRefused(UserError):
    """The queue refused (a limit, an unknown or unfinished parent, Redis down); `message` says
    which and what to do, and is shown to the user as is."""


@dataclass(frozen=True)
class Who:
    """The person behind an event, as the adapter saw them."""

    platform: str  # "discord" | "slack"
    user_id: str
    channel_id: str
    team_id: str | None = None  # Discord guild / Slack workspace
    user_name: str = ""  # display name: typed by the user, so quoted with markup.said
    is_moderator: bool = False  # set by BotCore.identify from configuration, for team_id only
    can_manage_channel: bool = False  # the platform's own "manage this channel" permission
    roles: tuple[str, ...] = ()  # platform role ids (Discord), for role grants
    priority: bool = False  # set by BotCore.identify: the priority lane is configured for them
    # (platform, team, user) whose rate-limit buckets apply, when not this identity's own: a
    # web user signed in with Slack or Discord shares their chat buckets
    limit_as: tuple[str, str | None, str] | None = None


@dataclass
class JobView:
    """A job as the bot shows it."""

    id: str
    kind: str
    state: str  # held | queued | running | done | failed | cancelled
    owner: str  # user id on the job's platform
    platform: str
    channel: str | None
    prompt: str
    spec: CaseSpec | None
    position: int | None = None  # 1 = next to start; None when not waiting
    fraction: float = 0.0
    stage: str = ""
    error: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # grid.png, variant-N.png, case.json
    parent_id: str | None = None
    parent_index: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    reply_target: dict[str, Any] | None = None
    created_at: float | None = None
    seeds: list[int] = field(default_factory=list)  # of the rendered variants, once done
    team: str | None = None  # the owner's Discord guild / Slack workspace

    def owned_by(self, who: Who) -> bool:
        return (who.platform, who.team_id, who.user_id) == (self.platform, self.team, self.owner)

    def same_team(self, who: Who) -> bool:
        return (who.platform, who.team_id) == (self.platform, self.team)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass(frozen=True)
class Screened:
    """Moderation's word on a prompt: allow | hold | block, why, and the prompt with any
    identifiers redacted (what moderators are shown)."""

    decision: str
    reason: str = ""
    rule_ids: tuple[str, ...] = ()
    redacted: str = ""
    case_id: str | None = None


@dataclass(frozen=True)
class JobEvent:
    """One entry of the queue's event stream; acknowledge it only after it has been shown."""

    entry_id: str
    job_id: str
    type: str  # queued | held | started | progress | requeued | done | failed | cancelled
    fraction: float = 0.0
    stage: str = ""


class JobService(Protocol):
    def submit_screened(self, prompt: str, specs: Sequence[CaseSpec], who: Who, *,
                        kind: str = "imagine", parent: str | None = None,
                        index: int | None = None,
                        reply_target: dict[str, Any] | None = None
                        ) -> tuple[Screened, list[JobView]]:
        """A new prompt: screen it (and record that), then queue its jobs (parked when held,
        none when blocked). Raises JobRefused."""
        ...

    def submit_caseset(self, prompt: str, request: Any, who: Who, *,
                       reply_target: dict[str, Any] | None = None
                       ) -> tuple[Screened, list[JobView]]:
        """A case set (imagine_med.teaching.plan.CaseSetRequest): screened, planned and
        queued as one batch-lane job, or refused (JobRefused) before anything is queued."""
        ...

    def check_renderable(self, specs: Sequence[CaseSpec]) -> None:
        """Raise JobRefused, naming what is available, for a spec nothing here renders: asked
        before screening and queueing, so such a prompt never waits in line to fail."""
        ...

    def submit(self, specs: Sequence[CaseSpec], who: Who, *, kind: str = "imagine",
               parent: str | None = None, index: int | None = None,
               params: dict[str, Any] | None = None,
               reply_target: dict[str, Any] | None = None) -> list[JobView]:
        """Follow-ups of a screened job (upscale, variation, reroll): all or nothing."""
        ...

    def review(self, job_id: str, moderator: Who, approve: bool, reason: str) -> None:
        """A moderator's decision on a held job; raises JobRefused (not held any more, no
        reason for a rejection, ...)."""
        ...

    def get(self, job_id: str) -> JobView | None: ...

    def cancel(self, job_id: str, who: Who) -> str:
        """'cancelled', 'cancelling', or the state of a job that had already ended; raises
        JobRefused when `who` may not."""
        ...

    def user_jobs(self, who: Who) -> list[JobView]: ...

    def recent_jobs(self, who: Who, limit: int = 20) -> list[JobView]:
        """Newest first, finished ones too (the web page's history)."""
        ...

    def queue_length(self) -> int: ...

    def read_events(self, platform: str, group: str, consumer: str,
                    block_ms: int) -> list[JobEvent]: ...

    def retry_pending(self, platform: str, group: str, consumer: str) -> None:
        """Offer this consumer's unacknowledged events again on the next read."""
        ...

    def ack(self, platform: str, group: str, consumer: str, event: JobEvent) -> None: ...

    def mark_posted(self, job_id: str, platform: str, kind: str, message_ref: str) -> bool: ...

    def posted(self, job_id: str, platform: str, kind: str) -> str | None: ...
