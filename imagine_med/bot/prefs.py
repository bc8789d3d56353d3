"""Per-user and per-channel defaults for `/imagine-med-settings`.

Resolution order: what the prompt says > the user's default > the channel's default > built-in.
Stored in the project's SQL database (SQLite by default, PostgreSQL in production) in a table
of its own, so the bot needs no schema from the queue's store.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine

from imagine_med.errors import UserError
from imagine_med.prompt.spec import Modality
from imagine_med.store.db import Base

Scope = Literal["user", "channel"]
MODALITIES: tuple[str, ...] = get_args(Modality)
SIZES: tuple[int, ...] = (256, 384, 512, 768, 1024)

# On the store's metadata, so Alembic (revision 0003_bot) owns these tables.
metadata = Base.metadata
preferences = Table(
    "bot_preferences",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("scope", String(8), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("modality", String(16), nullable=True),
    Column("size", Integer, nullable=True),
    Column("answer_key_auto", Boolean, nullable=True),
    Column("dm_results", Boolean, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class PreferenceError(UserError, ValueError):
    """A setting name or value the user may not set."""


@dataclass(frozen=True)
class Prefs:
    """Defaults; None means "not set here, fall through"."""

    modality: str | None = None
    size: int | None = None
    answer_key_auto: bool | None = None
    dm_results: bool | None = None

    def over(self, base: Prefs) -> Prefs:
        """These values where set, else `base`'s."""
        return Prefs(**{
            f.name: getattr(self, f.name) if getattr(self, f.name) is not None
            else getattr(base, f.name)
            for f in fields(self)
        })

    def describe(self) -> str:
        parts = [
            f"modality: {self.modality or 'from the prompt'}",
            f"size: {self.size or 'default'}",
            f"answer key shown automatically: {'yes' if self.answer_key_auto else 'no'}",
            f"results by direct message: {'yes' if self.dm_results else 'no'}",
        ]
        return "; ".join(parts)


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """Check user-supplied values; raise PreferenceError saying what is allowed."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        if key == "modality":
            v = str(value).strip().lower()
            if v in ("none", "clear", "prompt"):
                out[key] = None
                continue
            if v not in MODALITIES:
                raise PreferenceError(
                    f"Unknown modality {value!r}. Choose one of: {', '.join(MODALITIES)} "
                    "(or 'clear')."
                )
            out[key] = v
        elif key == "size":
            try:
                n = int(value)
            except (TypeError, ValueError):
                raise PreferenceError(
                    f"Size must be a number of pixels, one of {', '.join(map(str, SIZES))}; "
                    f"got {value!r}."
                ) from None
            if n not in SIZES:
                raise PreferenceError(
                    f"Size {n} is not offered. Choose one of {', '.join(map(str, SIZES))}."
                )
            out[key] = n
        elif key in ("answer_key_auto", "dm_results"):
            out[key] = _as_bool(key, value)
        else:
            raise PreferenceError(
                f"Unknown setting {key!r}. Settings: modality, size, answer_key_auto, dm_results."
            )
    return out


def _engine(url: str) -> Engine:
    """The store's shared engine (WAL and a busy timeout on SQLite) when available."""
    try:
        from imagine_med.store import make_engine
    except ImportError:  # pragma: no cover - the store ships with the package
        return create_engine(url)
    return make_engine(url)


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("1", "yes", "y", "true", "on"):
        return True
    if v in ("0", "no", "n", "false", "off"):
        return False
    raise PreferenceError(f"{key} takes yes or no, got {value!r}.")


class PreferenceStore:
    def __init__(self, database_url: str | Engine) -> None:
        self.engine = database_url if isinstance(database_url, Engine) else _engine(database_url)
        preferences.create(self.engine, checkfirst=True)  # databases never migrated

    def get(self, platform: str, scope: Scope, subject: str) -> Prefs:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(preferences).where(
                    preferences.c.platform == platform,
                    preferences.c.scope == scope,
                    preferences.c.subject == subject,
                )
            ).mappings().first()
        if row is None:
            return Prefs()
        return Prefs(modality=row["modality"], size=row["size"],
                     answer_key_auto=row["answer_key_auto"], dm_results=row["dm_results"])

    def update(self, platform: str, scope: Scope, subject: str, changes: dict[str, Any]) -> Prefs:
        """Apply validated changes (a None value clears that setting) and return the result."""
        current = self.get(platform, scope, subject)
        new = replace(current, **changes)
        values = {f.name: getattr(new, f.name) for f in fields(new)}
        key = {"platform": platform, "scope": scope, "subject": subject}
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            updated = conn.execute(
                preferences.update()
                .where(*(preferences.c[k] == v for k, v in key.items()))
                .values(**values, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(preferences.insert().values(**key, **values, updated_at=now))
        return new

    def effective(self, platform: str, user: str, channel: str) -> Prefs:
        user_prefs = self.get(platform, "user", user)
        return user_prefs.over(self.get(platform, "channel", channel))
