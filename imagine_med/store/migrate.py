"""Alembic, configured in code (no alembic.ini needed): `migrate(url)` upgrades to head.

Every process that uses the store (worker, chat adapters, `run`, `mod`) migrates at start, so
several of them may start at the same moment against a database nobody has created yet. Without
a lock each one reads "no version yet" and runs the first revision, and all but one die on
"table jobs already exists". So the upgrade runs under a lock that lives as long as it does:

* PostgreSQL: a transaction-level advisory lock (`pg_advisory_xact_lock`) taken in the same
  transaction as the DDL, keyed by the current schema (so separate schemas do not wait on each
  other); PostgreSQL releases it at commit, rollback, or when a crashed process's connection
  drops.
* SQLite: an exclusive `flock` on `<database file>.migrate-lock`; the OS releases it when the
  holder exits, however it exits.

Whoever gets the lock second finds the database at head and does nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# First half of the two-key advisory lock: "imagine-med migrate" (any constant int4 would do;
# the second half is the schema's hash, so one lock per schema).
ADVISORY_LOCK_CLASS = 0x1AA6_3ED0


def alembic_config(url: str) -> Config:
    """An Alembic Config for this store (for `alembic.command.revision(cfg, autogenerate=True)`)."""
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)  # quiet its import-time plugin logs
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a URL (quoted passwords) must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` to `revision` ("heads": every branch, since parts of the
    project add revisions after the same parent) (idempotent, and safe when many processes call
    it at once: they take turns under the lock described in the module docstring)."""
    cfg = alembic_config(url)  # first: it quiets alembic before `command` is imported
    from alembic import command

    from imagine_med.store.db import make_engine

    engine = make_engine(url)
    with _sqlite_file_lock(url), engine.begin() as connection:
        _advisory_lock(connection)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _advisory_lock(connection: Connection) -> None:
    """On PostgreSQL, wait for the schema's migration lock (held until this transaction ends)."""
    if connection.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    connection.execute(
        text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema()))"),
        {"cls": ADVISORY_LOCK_CLASS},
    )


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """For a SQLite file, hold an exclusive lock on a file beside it; otherwise nothing.

    A lock file rather than `BEGIN IMMEDIATE`: Alembic and pysqlite both manage transactions on
    SQLite in their own way (pysqlite opens them lazily, Alembic runs SQLite DDL outside a
    transactional block), so a lock that does not depend on either is the dependable one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db in (":memory:", "") or db.startswith(
            "file:"):
        yield
        return
    import fcntl  # POSIX (Linux, macOS): the platforms imagine-med runs on

    lock_path = Path(db).resolve().with_name(Path(db).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the process migrating now is done
        yield
    finally:
        os.close(fd)  # closing releases the lock
