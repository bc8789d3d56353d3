"""Queue settings (limits, lanes, timeouts), read from IMAGINE_MED_* environment variables.

Defaults follow Midjourney's: per user at most 3 jobs running and 10 more waiting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LANES: tuple[str, ...] = ("priority", "normal", "batch")  # dispatch order: strict priority


class QueueSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_", extra="ignore")

    max_running_per_user: int = Field(default=3, ge=1)
    max_queued_per_user: int = Field(default=10, ge=0)
    # roles that put a user's jobs in the priority lane
    priority_roles: tuple[str, ...] = ("instructor", "moderator", "admin", "teacher")
    # roles allowed to cancel anyone's job and to moderate
    moderator_roles: tuple[str, ...] = ("moderator", "admin")
    job_timeout_s: int = Field(default=600, ge=1)
    # a running job's lease; a worker that misses it (killed, frozen) loses the job
    lease_s: float = Field(default=15.0, gt=0.2)
    max_tries: int = Field(default=3, ge=1)
    progress_interval_s: float = Field(default=0.5, ge=0.0)
    files_dir: Path | None = None  # default: <data_dir>/files
    metrics_port: int = 9464
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 to let a Prometheus on another machine scrape
    stream_maxlen: int = 100_000
    job_ttl_s: int = 7 * 24 * 3600  # how long Redis keeps a finished job's record
    rq_result_ttl_s: int = 3600


@lru_cache(maxsize=1)
def get_queue_settings() -> QueueSettings:
    return QueueSettings()
