"""Reads and writes of the queue's tables, in one place, so callers never hand-write queries."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imagine_med.store.db import utcnow
from imagine_med.store.models import ImageRow, JobRow, PostedMessage

_JOB_COLUMNS = {c.key for c in JobRow.__table__.columns}


def upsert_job(session: Session, fields: dict[str, Any]) -> None:
    """Create or update a job row from a mapping of column values (unknown keys are ignored)."""
    values = {k: v for k, v in fields.items() if k in _JOB_COLUMNS}
    job_id = values["id"]
    if len(values) > 1:  # one UPDATE in the common case (a worker finishing a known job)
        changed = session.execute(
            update(JobRow).where(JobRow.id == job_id).values(
                {k: v for k, v in values.items() if k != "id"}
            ).execution_options(synchronize_session=False)
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            return None
    session.add(JobRow(**values))
    session.flush()
    return None


@functools.cache
def _update_job_statement(columns: tuple[str, ...]) -> Any:
    """UPDATE jobs SET <columns> WHERE id = :job_id, built once per column set, so its
    compiled form is reused by every job (statement construction costs more than SQLite)."""
    jobs = JobRow.__table__
    return update(jobs).where(jobs.c.id == bindparam("job_id")).values(
        {c: bindparam(c) for c in columns}
    )


def record_outcome(engine: Engine, fields: dict[str, Any], images: list[dict[str, Any]]) -> None:
    """A worker's end-of-job write (job row + its images) in one short Core transaction:
    the hot path of every job, so it skips the ORM unit of work."""
    values = {k: v for k, v in fields.items() if k in _JOB_COLUMNS}
    job_id = values["id"]
    rest = {k: v for k, v in sorted(values.items()) if k != "id"}
    image_table = ImageRow.__table__
    with engine.begin() as conn:
        changed = conn.execute(_update_job_statement(tuple(rest)), {"job_id": job_id, **rest})
        if not changed.rowcount:
            conn.execute(insert(JobRow.__table__), values)
        if images:
            conn.execute(delete(image_table).where(image_table.c.job_id == job_id))
            conn.execute(insert(image_table), [{"job_id": job_id, **i} for i in images])


def insert_jobs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new job rows on a Core connection (the submit path; unknown keys are ignored)."""
    now = utcnow()
    conn.execute(
        insert(JobRow.__table__),
        [{"created_at": now, "roles": [], "params": {}, "tries": 0, "max_tries": 3,
          "group_index": 0, "group_size": 1, "prompt": "",
          **{k: v for k, v in r.items() if k in _JOB_COLUMNS}} for r in rows],
    )


def get_job(session: Session, job_id: str) -> JobRow | None:
    return session.get(JobRow, job_id)


def list_jobs(
    session: Session,
    *,
    user_id: str | None = None,
    statuses: tuple[str, ...] = (),
    limit: int = 50,
) -> list[JobRow]:
    """Newest first."""
    query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
    if user_id is not None:
        query = query.where(JobRow.user_id == user_id)
    if statuses:
        query = query.where(JobRow.status.in_(statuses))
    return list(session.scalars(query))


def team_job_ids(session: Session, platform: str, team: str | None, *, prefix: str = "",
                 status: str | None = None, limit: int = 5000) -> list[str]:
    """Ids of one workspace's (guild's) jobs, newest first; `prefix`: only ids starting so (a
    short id as shown in chat)."""
    query = select(JobRow.id).where(JobRow.platform == platform)
    if team:
        query = query.where(JobRow.team == team)
    else:
        query = query.where(or_(JobRow.team.is_(None), JobRow.team == ""))
    if prefix:
        query = query.where(JobRow.id.startswith(prefix, autoescape=True))
    if status is not None:
        query = query.where(JobRow.status == status)
    return list(session.scalars(query.order_by(JobRow.created_at.desc()).limit(limit)))


def replace_images(session: Session, job_id: str, images: list[dict[str, Any]]) -> None:
    """Record the images of a job (a retried job replaces the rows of its earlier try)."""
    session.execute(delete(ImageRow).where(ImageRow.job_id == job_id))
    for image in images:
        session.add(ImageRow(job_id=job_id, **image))
    session.flush()


def job_images(session: Session, job_id: str) -> list[ImageRow]:
    return list(session.scalars(select(ImageRow).where(ImageRow.job_id == job_id)))


def mark_posted(
    session: Session, job_id: str, platform: str, message_ref: str, kind: str = "result"
) -> bool:
    """Record a post; False (and nothing changed) if this job already has one of this kind."""
    try:
        with session.begin_nested():
            session.add(
                PostedMessage(job_id=job_id, platform=platform, kind=kind, message_ref=message_ref)
            )
    except IntegrityError:
        return False
    return True


def posted(session: Session, job_id: str, platform: str, kind: str = "result") -> str | None:
    """The message reference posted for this job, if any."""
    return session.scalar(
        select(PostedMessage.message_ref).where(
            PostedMessage.job_id == job_id,
            PostedMessage.platform == platform,
            PostedMessage.kind == kind,
        )
    )
