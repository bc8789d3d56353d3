"""Reading a platform's event stream through a consumer group, with exactly-once posting.

Redis keeps every entry a consumer has read but not acknowledged (its pending list), so an
adapter that crashes or restarts re-reads them; entries left by a consumer that never came back
are claimed by another after `claim_idle_s`. Acknowledge only after posting. `deliver()` adds
the other half: before posting a job's final result it consults the store's record of posted
messages, so a result posted just before a crash (but not acknowledged) is not posted twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from imagine_med.queue.types import Event

if TYPE_CHECKING:
    from imagine_med.queue.api import JobQueue

log = logging.getLogger(__name__)


class EventConsumer:
    def __init__(
        self,
        queue: JobQueue,
        platform: str,
        group: str,
        consumer: str,
        *,
        start_id: str = "0",
        claim_idle_s: float = 60.0,
    ) -> None:
        self.queue = queue
        self.platform = platform
        self.group = group
        self.consumer = consumer
        self.stream = queue.keys.events(platform)
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self._own_pending_done = False
        self._last_claim = 0.0
        try:
            queue.redis.xgroup_create(self.stream, group, id=start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _parse(self, entries: list) -> list[Event]:
        """Events of the entries; pending entries the stream has trimmed since (no fields) are
        acknowledged, or they would fill every re-read of the pending list forever."""
        from imagine_med.queue.api import parse_event

        gone = [eid for eid, fields in entries if not fields]
        if gone:
            self.queue.redis.xack(self.stream, self.group, *gone)
        return [parse_event(eid, fields) for eid, fields in entries if fields]

    def read(self, count: int = 32, block_ms: int = 2000) -> list[Event]:
        """Next events for this consumer: first its own unacknowledged ones (after a restart),
        then entries abandoned by dead consumers, then new ones (blocking up to block_ms)."""
        r = self.queue.redis
        while not self._own_pending_done:
            reply = r.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=count)
            entries = reply[0][1] if reply else []
            events = self._parse(entries)
            if events:
                return events
            if not entries:  # else a page of trimmed entries, acknowledged: read on
                self._own_pending_done = True
        now = time.monotonic()
        if now - self._last_claim > max(self.claim_idle_ms / 4000, 1.0):
            self._last_claim = now
            claimed = r.xautoclaim(
                self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0", count=count
            )
            events = self._parse(claimed[1])
            if events:
                return events
        reply = r.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return self._parse(reply[0][1]) if reply else []

    def retry_pending(self) -> None:
        """Offer this consumer's unacknowledged events again on the next read (after a failed
        post, or when an adapter reconnects)."""
        self._own_pending_done = False

    def ack(self, *events: Event) -> None:
        if events:
            self.queue.redis.xack(self.stream, self.group, *[e.id for e in events])

    def deliver(
        self, handler: Callable[[Event], str | None], count: int = 32, block_ms: int = 2000
    ) -> int:
        """Read, post and acknowledge. `handler(event)` posts (or edits) and returns the posted
        message's reference for final events (done/failed/cancelled), which is recorded before
        the acknowledgement. A final event whose job already has a recorded post is acknowledged
        without calling the handler. A handler exception leaves the event unacknowledged; it is
        offered again. Returns the number of events handled."""
        handled = 0
        for event in self.read(count=count, block_ms=block_ms):
            if event.terminal and self.queue.posted(event.job_id, self.platform) is not None:
                self.ack(event)
                continue
            try:
                ref = handler(event)
            except Exception:
                log.exception("posting event %s of job %s failed", event.type, event.job_id)
                self.retry_pending()
                break
            if event.terminal and ref is not None:
                self.queue.mark_posted(event.job_id, self.platform, str(ref))
            self.ack(event)
            handled += 1
        return handled
