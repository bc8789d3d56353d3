"""Alembic, configured in code (no alembic.ini needed): `migrate(url)` upgrades to head."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


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


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (idempotent)."""
    cfg = alembic_config(url)  # first: it quiets alembic before `command` is imported
    from alembic import command

    from imagine_med.store.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
