"""Token buckets in Redis: how many commands one person, or one channel, may send.

A bucket holds up to N tokens and refills at N per period; each command takes one. Buckets live
in Redis (the queue's), so the limit holds across bot processes and restarts, and one Lua script
checks and takes from all of a command's buckets at once: a command refused by the channel's
bucket costs the person nothing.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# KEYS: buckets. ARGV: now (ms), then per bucket: capacity, refill (tokens per ms).
# Returns 0 (a token was taken from each bucket) or the milliseconds until all have one.
TAKE = r"""
local now = tonumber(ARGV[1])
local tokens, wait = {}, 0
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local h = redis.call('HMGET', key, 'tokens', 'ts')
  local have = tonumber(h[1]) or cap
  local since = math.max(0, now - (tonumber(h[2]) or now))
  have = math.min(cap, have + since * rate)
  tokens[i] = have
  if have < 1 then wait = math.max(wait, math.ceil((1 - have) / rate)) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(cap / rate) + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Rate:
    """`count` tokens per `per_s` seconds (and at most `count` at once)."""

    count: int
    per_s: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """"20/600" -> 20 per 600 s; "0", "" or "off" -> None (no limit)."""
        text = text.strip().lower()
        if text in ("", "0", "off", "none"):
            return None
        m = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?", text)
        if m is None or int(m[1]) < 1 or float(m[2]) <= 0:
            raise ValueError(f"{text!r} is not a rate like 20/600 (20 per 600 seconds), or 0")
        return cls(int(m[1]), float(m[2]))

    def describe(self, what: str = "commands") -> str:
        return f"{self.count} {what} per {_duration(self.per_s)}"


@dataclass(frozen=True)
class Bucket:
    key: str
    rate: Rate


class RateLimiter:
    """Takes tokens from Redis-held buckets; `take` answers 0 (go ahead) or seconds to wait."""

    def __init__(self, redis: Any, prefix: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._script = redis.register_script(TAKE)

    def bucket(self, name: str, rate: Rate | None) -> Bucket | None:
        return None if rate is None else Bucket(f"{self.prefix}:rate:{name}", rate)

    def take(self, buckets: Sequence[Bucket | None]) -> float:
        live = [b for b in buckets if b is not None]
        if not live:
            return 0.0
        args: list[Any] = [int(self.clock() * 1000)]
        for b in live:
            args += [b.rate.count, repr(b.rate.count / (b.rate.per_s * 1000))]
        wait_ms = int(self._script(keys=[b.key for b in live], args=args))
        return wait_ms / 1000


def _duration(seconds: float) -> str:
    """600 -> "10 minutes", 90 -> "90 seconds", 3600 -> "hour"."""
    if seconds == 3600:
        return "hour"
    if seconds >= 120 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


def wait_text(seconds: float) -> str:
    """How long to wait, rounded up for people: "40 s", "3 min"."""
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} s"
    return f"{math.ceil(seconds / 60)} min"
