"""Where each job's status message lives ("Queued (#3 in line)"), per platform.

The queue stores a reply target given at submit time, but the message is posted after the
submit succeeds (an error must never leave a message behind), so its id is recorded here. The
delivery loop reads it to edit that message, also after a restart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from imagine_med.bot.prefs import metadata

status_messages = Table(
    "bot_status_messages",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("target", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class StatusMessages:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        status_messages.create(engine, checkfirst=True)

    def remember(self, job_id: str, platform: str, target: dict[str, Any]) -> None:
        row = {"job_id": job_id, "platform": platform, "target": json.dumps(target),
               "created_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(status_messages.insert().values(**row))
            except IntegrityError:
                conn.execute(status_messages.update().where(
                    status_messages.c.job_id == job_id, status_messages.c.platform == platform,
                ).values(target=row["target"]))

    def get(self, job_id: str, platform: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            raw = conn.execute(select(status_messages.c.target).where(
                status_messages.c.job_id == job_id, status_messages.c.platform == platform,
            )).scalar_one_or_none()
        return None if raw is None else json.loads(raw)
