"""Every Redis key the queue uses, under one prefix (tests run side by side with their own)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def pending(self, lane: str, user_key: str) -> str:
        return f"{self.prefix}:pending:{lane}:{user_key}"

    def ring(self, lane: str) -> str:
        return f"{self.prefix}:ring:{lane}"

    def running(self, user_key: str) -> str:
        return f"{self.prefix}:running:{user_key}"

    def lease(self, job_id: str) -> str:
        return f"{self.prefix}:lease:{job_id}"

    def cancel(self, job_id: str) -> str:
        return f"{self.prefix}:cancel:{job_id}"

    def user_jobs(self, user_key: str) -> str:
        return f"{self.prefix}:userjobs:{user_key}"

    def events(self, platform: str) -> str:
        return f"{self.prefix}:events:{platform}"

    def stat(self, name: str) -> str:
        return f"{self.prefix}:stats:{name}"

    def served(self, engine: str) -> str:
        """Present while some live worker serves a route: an engine ('*': a worker of any) or
        engine:modality."""
        return f"{self.prefix}:served:{engine}"

    def offers(self, worker: str) -> str:
        """What a live worker renders: its registry rows as JSON (expires with the worker)."""
        return f"{self.prefix}:offers:{worker}"

    @property
    def live(self) -> str:
        """Present while any worker is live (jobs for an engine none serves are refused)."""
        return f"{self.prefix}:live"

    @property
    def inflight(self) -> str:
        return f"{self.prefix}:inflight"

    @property
    def held(self) -> str:
        return f"{self.prefix}:held"

    @property
    def wake(self) -> str:
        return f"{self.prefix}:wake"

    @property
    def platforms(self) -> str:
        return f"{self.prefix}:platforms"

    @property
    def rq_queue(self) -> str:
        """The rq queue name (rq stores it as rq:queue:<name>, so it carries the prefix)."""
        return f"{self.prefix}.jobs"
