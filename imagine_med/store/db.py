"""SQLAlchemy plumbing shared by every table: the declarative Base, engines, sessions.

Engines are cached per URL so the many short transactions of a worker reuse one pool. SQLite is
put in WAL mode with a busy timeout, because several processes (workers, adapters, the CLI)
write to the same file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Modules that declare tables on Base; Alembic's env imports them (add yours here).
MODEL_MODULES: list[str] = [
    "imagine_med.store.models",
    "imagine_med.moderation.models",
    "imagine_med.bot.prefs",
    "imagine_med.bot.targets",
    "imagine_med.web.accounts",
    "imagine_med.teaching.library",
    "imagine_med.teaching.quiz",
]


class Base(DeclarativeBase):
    """Declarative base of every table in the store."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


_engines: dict[str, Engine] = {}
_makers: dict[int, sessionmaker[Session]] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    """The (cached) engine for a database URL; SQLite files get their folder created."""
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        if url.startswith("sqlite"):
            from pathlib import Path

            from sqlalchemy.engine import make_url

            db = make_url(url).database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 15})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
        return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    with _lock:
        maker = _makers.get(id(engine))
        if maker is None:
            maker = _makers[id(engine)] = sessionmaker(engine, expire_on_commit=False)
        return maker


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engine(url: str) -> None:
    """Close and forget the cached engine for `url` (tests dropping a database, shutdown)."""
    with _lock:
        engine = _engines.pop(url, None)
        if engine is not None:
            _makers.pop(id(engine), None)
    if engine is not None:
        engine.dispose()
