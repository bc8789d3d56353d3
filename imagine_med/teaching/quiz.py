"""Quizzes in a channel: one case, answers until it closes, then the key and who was right.

A quiz moves `rendering` (its case is in the queue) -> `open` (posted without its key; answers
count) -> `closed` (revealed). Each move is one conditional UPDATE, so two bot processes (or
the timer and the instructor's button at the same moment) reveal a quiz once. Answers are one
row per person and quiz (a later answer replaces an earlier one until the reveal); scores are
counted from those rows per channel or per course, so nothing is kept twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from imagine_med.errors import UserError
from imagine_med.store.db import Base, UTCDateTime, make_engine, utcnow

metadata = Base.metadata

quizzes = Table(
    "quizzes",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("team", String(128)),
    Column("channel", String(128), nullable=False),
    Column("course", String(64), index=True),
    Column("host_id", String(128), nullable=False),
    Column("host_name", String(256)),
    Column("job_id", String(40), index=True),
    Column("variant", Integer, nullable=False, default=1),
    Column("seconds", Integer, nullable=False),
    Column("source", String(64), nullable=False, default="prompt"),
    Column("state", String(12), nullable=False, index=True),
    Column("choices", JSON, nullable=False, default=list),
    Column("answers", JSON, nullable=False, default=list),
    Column("answer_key", Text, nullable=False, default=""),
    Column("message_ref", Text),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("opened_at", UTCDateTime),
    Column("closes_at", UTCDateTime, index=True),
    Column("closed_at", UTCDateTime),
)

responses = Table(
    "quiz_answers",
    metadata,
    Column("quiz_id", String(16), ForeignKey("quizzes.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("user_name", String(256)),
    Column("choice", String(64)),  # the finding chosen or read from the typed text
    Column("typed", Text),  # the free text as typed (shown escaped, never as markup)
    Column("correct", Boolean, nullable=False, default=False),
    Column("answered_at", UTCDateTime, nullable=False, default=utcnow),
)

MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 10, 24 * 3600, 120
COURSE_MAX = 64


class QuizError(UserError):
    """A quiz request that cannot be done; `message` says why."""


@dataclass(frozen=True)
class Quiz:
    id: str
    platform: str
    team: str | None
    channel: str
    course: str | None
    host_id: str
    host_name: str | None
    job_id: str | None
    variant: int
    seconds: int
    source: str
    state: str
    choices: tuple[str, ...]
    answers: tuple[str, ...]
    answer_key: str
    message_ref: str | None
    closes_at: datetime | None

    @property
    def open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class Response:
    user_id: str
    user_name: str | None
    choice: str | None
    typed: str | None
    correct: bool


@dataclass(frozen=True)
class Score:
    user_id: str
    user_name: str | None
    points: int
    answered: int


def check_seconds(seconds: int | None) -> int:
    value = DEFAULT_SECONDS if seconds is None else int(seconds)
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        raise QuizError(f"A quiz runs {MIN_SECONDS} seconds to {MAX_SECONDS // 3600} hours; "
                        f"got {value} seconds.")
    return value


def check_course(course: str | None) -> str | None:
    text = " ".join((course or "").split())
    if len(text) > COURSE_MAX:
        raise QuizError(f"A course name is at most {COURSE_MAX} characters.")
    return text or None


def _quiz(r: Any) -> Quiz:
    return Quiz(r.id, r.platform, r.team, r.channel, r.course, r.host_id, r.host_name,
                r.job_id, r.variant, r.seconds, r.source, r.state, tuple(r.choices or ()),
                tuple(r.answers or ()), r.answer_key or "", r.message_ref, r.closes_at)


class QuizStore:
    def __init__(self, engine: Engine | str) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        metadata.create_all(self.engine, tables=[quizzes, responses], checkfirst=True)

    def create(self, *, platform: str, team: str | None, channel: str, host_id: str,
               host_name: str | None, seconds: int, course: str | None = None,
               source: str = "prompt", job_id: str | None = None, variant: int = 1) -> Quiz:
        qid = secrets.token_hex(5)  # unguessable: custom ids carry it, never the job id
        with self.engine.begin() as conn:
            conn.execute(insert(quizzes).values(
                id=qid, platform=platform, team=team, channel=channel, course=course,
                host_id=host_id, host_name=host_name, job_id=job_id, variant=variant,
                seconds=seconds, source=source, state="rendering", choices=[], answers=[],
                answer_key="", created_at=utcnow()))
        got = self.get(qid)
        assert got is not None
        return got

    def set_job(self, qid: str, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(quizzes).where(quizzes.c.id == qid).values(job_id=job_id))

    def drop(self, qid: str) -> None:
        """Forget a quiz whose case was never queued (refused, blocked, held)."""
        with self.engine.begin() as conn:
            conn.execute(delete(quizzes).where(quizzes.c.id == qid))

    def fail(self, qid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(quizzes).where(quizzes.c.id == qid,
                                               quizzes.c.state == "rendering")
                         .values(state="failed", closed_at=utcnow()))

    def get(self, qid: str) -> Quiz | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(quizzes).where(quizzes.c.id == qid)).first()
        return None if row is None else _quiz(row)

    def for_job(self, job_id: str) -> Quiz | None:
        """The newest quiz over `job_id` (a saved case can be quizzed again later)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(quizzes).where(quizzes.c.job_id == job_id)
                               .order_by(quizzes.c.created_at.desc()).limit(1)).first()
        return None if row is None else _quiz(row)

    def unrevealed_job(self, job_id: str) -> bool:
        """Whether some quiz over this job has not been revealed yet (its key stays hidden)."""
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(quizzes).where(
                quizzes.c.job_id == job_id,
                quizzes.c.state.in_(("rendering", "open")))).scalar_one()
        return bool(n)

    def open(self, qid: str, *, choices: list[str], answers: list[str], answer_key: str,
             variant: int, now: datetime | None = None) -> Quiz:
        """rendering -> open, with its choices and (hidden) answers; the timer starts now.
        A second call (a redelivered event) changes nothing."""
        now = now or utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(quizzes.c.seconds).where(quizzes.c.id == qid)).first()
            if row is None:
                raise QuizError(f"No quiz {qid}.")
            conn.execute(update(quizzes).where(quizzes.c.id == qid,
                                               quizzes.c.state == "rendering").values(
                state="open", choices=choices, answers=answers, answer_key=answer_key,
                variant=variant, opened_at=now, closes_at=now + timedelta(seconds=row.seconds)))
        got = self.get(qid)
        assert got is not None
        return got

    def posted(self, qid: str, message_ref: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(quizzes).where(quizzes.c.id == qid)
                         .values(message_ref=message_ref))

    def answer(self, qid: str, user_id: str, user_name: str | None, choice: str | None,
               typed: str | None, correct: bool, now: datetime | None = None) -> bool:
        """Record (or replace) a person's answer; False when the quiz is not open any more."""
        now = now or utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(quizzes.c.state, quizzes.c.closes_at)
                               .where(quizzes.c.id == qid)).first()
            if row is None or row.state != "open" or (row.closes_at and row.closes_at <= now):
                return False
            values = {"user_name": user_name, "choice": choice, "typed": typed,
                      "correct": correct, "answered_at": now}
            try:
                with conn.begin_nested():
                    conn.execute(insert(responses).values(quiz_id=qid, user_id=user_id,
                                                          **values))
            except IntegrityError:
                conn.execute(update(responses).where(responses.c.quiz_id == qid,
                                                     responses.c.user_id == user_id)
                             .values(**values))
        return True

    def close(self, qid: str, now: datetime | None = None) -> bool:
        """open -> closed; True for the one caller that closed it."""
        with self.engine.begin() as conn:
            done = conn.execute(update(quizzes).where(quizzes.c.id == qid,
                                                      quizzes.c.state == "open")
                                .values(state="closed", closed_at=now or utcnow()))
        return done.rowcount == 1

    def responses(self, qid: str) -> list[Response]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(responses).where(responses.c.quiz_id == qid)
                                .order_by(responses.c.answered_at, responses.c.user_id)).all()
        return [Response(r.user_id, r.user_name, r.choice, r.typed, bool(r.correct))
                for r in rows]

    def due(self, platform: str, now: datetime | None = None) -> list[Quiz]:
        """Open quizzes of `platform` whose time is up."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(quizzes).where(
                quizzes.c.platform == platform, quizzes.c.state == "open",
                quizzes.c.closes_at <= (now or utcnow()))).all()
        return [_quiz(r) for r in rows]

    def leaderboard(self, platform: str, team: str | None, *, channel: str | None = None,
                    course: str | None = None, limit: int = 10) -> list[Score]:
        """Points (right answers) and answers given in revealed quizzes, per person, in one
        channel or one course of a guild/workspace; most points first."""
        points = func.sum(case((responses.c.correct.is_(True), 1), else_=0))
        q = (select(responses.c.user_id, func.max(responses.c.user_name).label("name"),
                    points.label("points"), func.count().label("answered"))
             .join(quizzes, quizzes.c.id == responses.c.quiz_id)
             .where(quizzes.c.platform == platform, quizzes.c.state == "closed"))
        q = q.where(quizzes.c.team == team) if team else q.where(quizzes.c.team.is_(None))
        if course:
            q = q.where(quizzes.c.course == course)
        elif channel:
            q = q.where(quizzes.c.channel == channel)
        q = (q.group_by(responses.c.user_id)
             .order_by(points.desc(), func.count().asc(), responses.c.user_id).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [Score(r.user_id, r.name, int(r.points or 0), int(r.answered)) for r in rows]
