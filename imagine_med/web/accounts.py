"""Web accounts: local ones (argon2id hashes, argon2-cffi's defaults) and those signed in with
Slack or Discord (no password here; the provider vouches for the identity).

An account's `key` is what jobs are filed under: `local:<name>` for local accounts, the chat
identity `<platform>:<team>:<user>` for the others, so a Slack user's web jobs, limits and
moderator grant are their Slack ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from imagine_med.errors import UserError
from imagine_med.store.db import Base, UTCDateTime, make_engine, session_scope, utcnow

accounts = Table(
    "web_accounts",
    Base.metadata,
    Column("key", String(160), primary_key=True),  # local:<name> | slack:T:U | discord:G:U
    Column("provider", String(16), nullable=False),  # local | slack | discord
    Column("display_name", String(80), nullable=False),
    Column("password_hash", String(200), nullable=True),  # local accounts only
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
)

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
MIN_PASSWORD = 10  # NIST SP 800-63B asks for at least 8; 10 costs users little


class AccountError(UserError):
    """A refused sign-up or sign-in; `message` is shown on the form."""


@dataclass(frozen=True)
class Account:
    key: str
    provider: str
    display_name: str
    created_at: datetime

    @property
    def name(self) -> str:
        return self.key.split(":", 1)[1] if self.provider == "local" else self.display_name


class AccountStore:
    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self.hasher = PasswordHasher()
        Base.metadata.create_all(self.engine, tables=[accounts])  # migrated installs: no-op

    def create_local(self, name: str, password: str) -> Account:
        name = name.strip().lower()
        if not NAME.fullmatch(name):
            raise AccountError("A username is 3-32 characters: lower-case letters, digits, "
                               "'.', '_' or '-', starting with a letter or digit.")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters.")
        now = utcnow()
        try:
            with session_scope(self.engine) as s:
                s.execute(insert(accounts).values(
                    key=f"local:{name}", provider="local", display_name=name,
                    password_hash=self.hasher.hash(password), created_at=now))
        except IntegrityError:
            raise AccountError(f"The username {name!r} is taken.") from None
        return Account(f"local:{name}", "local", name, now)

    def verify_local(self, name: str, password: str) -> Account:
        """The account, or AccountError with one message for every failure (no telling
        whether the name exists)."""
        refused = AccountError("Wrong username or password.")
        key = f"local:{name.strip().lower()}"
        with session_scope(self.engine) as s:
            row = s.execute(select(accounts).where(accounts.c.key == key)).first()
        if row is None or not row.password_hash:
            self.hasher.hash(password)  # the same work either way: no timing tell
            raise refused
        try:
            self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        with session_scope(self.engine) as s:
            values = {"last_login_at": utcnow()}
            if self.hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = self.hasher.hash(password)
            s.execute(update(accounts).where(accounts.c.key == key).values(**values))
        return Account(row.key, row.provider, row.display_name, row.created_at)

    def upsert_external(self, provider: str, key: str, display_name: str) -> Account:
        now = utcnow()
        name = display_name.strip()[:80] or key
        with session_scope(self.engine) as s:
            row = s.execute(select(accounts).where(accounts.c.key == key)).first()
            if row is None:
                s.execute(insert(accounts).values(key=key, provider=provider,
                                                  display_name=name, created_at=now,
                                                  last_login_at=now))
                return Account(key, provider, name, now)
            s.execute(update(accounts).where(accounts.c.key == key)
                      .values(display_name=name, last_login_at=now))
            return Account(key, provider, name, row.created_at)

    def get(self, key: str) -> Account | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(accounts).where(accounts.c.key == key)).first()
        return None if row is None else Account(row.key, row.provider, row.display_name,
                                                row.created_at)
