"""The course library: finished jobs saved to named collections shared by a guild/workspace.

A collection belongs to one Discord guild or Slack workspace (`platform`, `team`); everyone
there may list, search and re-post its items, but only the collection's owner (whoever created
it) and the team's instructors may add, edit or remove them. An item keeps what search needs
(modality, region, the findings measured in its case record) next to the job id, so a search
never opens files; the images stay in the queue's store under the job.

Tags and findings are stored as ",a,b," strings: a `LIKE '%,tag,%'` then matches a whole tag
on SQLite and PostgreSQL alike, without a JSON operator that only one of them has.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
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

collections = Table(
    "library_collections",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("team", String(128), nullable=False),
    Column("name", String(64), nullable=False),
    Column("owner_id", String(128), nullable=False),
    Column("owner_name", String(256)),
    Column("channel", String(128)),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    UniqueConstraint("platform", "team", "name", name="uq_library_collection_name"),
)

items = Table(
    "library_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection_id", String(16),
           ForeignKey("library_collections.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("job_id", String(40), nullable=False, index=True),
    Column("author_id", String(128), nullable=False),
    Column("author_name", String(256)),
    Column("tags", Text, nullable=False, default=","),
    Column("note", Text, nullable=False, default=""),
    Column("modality", String(16)),
    Column("region", String(32)),
    Column("findings", Text, nullable=False, default=","),
    Column("summary", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    UniqueConstraint("collection_id", "job_id", name="uq_library_item_job"),
)

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
TAG_RE = re.compile(r"[a-z0-9][a-z0-9_+-]{0,31}")
MAX_TAGS = 12
MAX_NOTE = 1000
LIST_LIMIT = 25


class LibraryError(UserError):
    """A library request that cannot be done; `message` says why, for the person asking."""


@dataclass(frozen=True)
class Member:
    """Who acts, where: the library's whole notion of identity and rights."""

    platform: str
    team: str | None
    user_id: str
    user_name: str = ""
    instructor: bool = False


@dataclass(frozen=True)
class Collection:
    id: str
    platform: str
    team: str
    name: str
    owner_id: str
    owner_name: str | None
    items: int = 0


@dataclass(frozen=True)
class Item:
    id: int
    collection: str  # the collection's name
    collection_owner: str
    job_id: str
    author_id: str
    author_name: str | None
    tags: tuple[str, ...]
    note: str
    modality: str | None
    region: str | None
    findings: tuple[str, ...]
    summary: str
    created_at: datetime


@dataclass(frozen=True)
class CaseFacts:
    """What the library keeps about a job for search (from its spec and case record)."""

    modality: str | None
    region: str | None
    findings: tuple[str, ...]
    summary: str


def clean_name(raw: str) -> str:
    name = raw.strip().lower().replace(" ", "-")
    if not NAME_RE.fullmatch(name):
        raise LibraryError(
            f"{raw.strip()[:70]!r} is not a collection name: use 1-64 letters, digits, '-' or "
            "'_' (e.g. chest-week-1).")
    return name


def clean_tags(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`"Chest, week-1 pneumonia"` -> ("chest", "week-1", "pneumonia"); bad tags are named."""
    words = raw if isinstance(raw, list | tuple) else re.split(r"[,\s]+", raw)
    out: list[str] = []
    for word in words:
        tag = word.strip().lower().lstrip("#")
        if not tag:
            continue
        if not TAG_RE.fullmatch(tag):
            raise LibraryError(f"{word.strip()[:40]!r} is not a tag: use up to 32 letters, "
                               "digits, '-', '_' or '+'.")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise LibraryError(f"At most {MAX_TAGS} tags per item; got {len(out)}.")
    return tuple(out)


def clean_note(raw: str) -> str:
    note = raw.strip()
    if len(note) > MAX_NOTE:
        raise LibraryError(f"A note is at most {MAX_NOTE} characters; this one is {len(note)}.")
    return note


def _joined(values: tuple[str, ...] | list[str]) -> str:
    return "," + ",".join(values) + ","


def _split(joined: str | None) -> tuple[str, ...]:
    return tuple(v for v in (joined or "").split(",") if v)


class Library:
    """The library's reads and writes; every write checks the member's rights first."""

    def __init__(self, engine: Engine | str) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        # like the bot's own tables: created when a database was never migrated (tests, a
        # fresh SQLite file); migrations own them otherwise (revision 0004_quiz_library)
        metadata.create_all(self.engine, tables=[collections, items], checkfirst=True)

    # ---- collections ----------------------------------------------------------------

    def _collection_row(self, conn: Any, who: Member, name: str) -> Any:
        return conn.execute(select(collections).where(
            collections.c.platform == who.platform, collections.c.team == _team(who),
            collections.c.name == name)).first()

    def collections(self, who: Member) -> list[Collection]:
        count = (select(func.count(items.c.id)).where(items.c.collection_id == collections.c.id)
                 .scalar_subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(select(collections, count.label("n")).where(
                collections.c.platform == who.platform, collections.c.team == _team(who),
            ).order_by(collections.c.name)).all()
        return [Collection(r.id, r.platform, r.team, r.name, r.owner_id, r.owner_name, r.n)
                for r in rows]

    def may_edit(self, who: Member, collection_owner: str, author: str | None = None) -> bool:
        """The collection's owner, the item's author, or an instructor of the team."""
        return who.instructor or who.user_id in (collection_owner, author)

    def save(self, who: Member, collection: str, job_id: str, facts: CaseFacts, *,
             tags: tuple[str, ...] = (), note: str = "", channel: str | None = None) -> Item:
        """Add a finished job to `collection` (created, owned by `who`, when it is new)."""
        name = clean_name(collection)
        team = _team(who)
        with self.engine.begin() as conn:
            row = self._collection_row(conn, who, name)
            if row is None:
                cid = secrets.token_hex(6)
                try:
                    with conn.begin_nested():
                        conn.execute(insert(collections).values(
                            id=cid, platform=who.platform, team=team, name=name,
                            owner_id=who.user_id, owner_name=who.user_name or None,
                            channel=channel, created_at=utcnow()))
                except IntegrityError:  # created by someone else a moment ago
                    pass
                row = self._collection_row(conn, who, name)
            if not self.may_edit(who, row.owner_id):
                raise LibraryError(
                    f"Collection {name!r} belongs to someone else; only its owner and the "
                    "instructors can add to it. Save to a collection of your own instead.")
            now = utcnow()
            try:
                with conn.begin_nested():
                    conn.execute(insert(items).values(
                        collection_id=row.id, job_id=job_id, author_id=who.user_id,
                        author_name=who.user_name or None, tags=_joined(tags), note=note,
                        modality=facts.modality, region=facts.region,
                        findings=_joined(facts.findings), summary=facts.summary,
                        created_at=now, updated_at=now))
            except IntegrityError as exc:
                raise LibraryError(f"Job {job_id} is already in {name!r}.") from exc
        found = self.search(who, collection=name, job_id=job_id)
        return found[0]

    # ---- items ----------------------------------------------------------------------

    def _query(self) -> Any:
        return select(items, collections.c.name.label("cname"),
                      collections.c.owner_id.label("cowner")).join(
            collections, collections.c.id == items.c.collection_id)

    def search(self, who: Member, *, collection: str | None = None, modality: str | None = None,
               finding: str | None = None, tag: str | None = None, author: str | None = None,
               job_id: str | None = None, limit: int = LIST_LIMIT) -> list[Item]:
        """Items of `who`'s team matching every given filter, newest first. `finding` and
        `tag` match whole names ("effusion" finds pleural_effusion through its words too)."""
        q = self._query().where(collections.c.platform == who.platform,
                                collections.c.team == _team(who))
        if collection:
            q = q.where(collections.c.name == clean_name(collection))
        if modality:
            q = q.where(items.c.modality == modality.strip().lower())
        if finding:
            key = finding.strip().lower().replace(" ", "_")
            q = q.where(items.c.findings.like(f"%,{_like(key)},%", escape="\\")
                        | items.c.findings.like(f"%{_like(key)}%", escape="\\"))
        if tag:
            one = clean_tags(tag)
            for t in one:
                q = q.where(items.c.tags.like(f"%,{_like(t)},%", escape="\\"))
        if author:
            who_ = author.strip().lstrip("@").strip("<>@")
            q = q.where((items.c.author_id == who_) | (func.lower(items.c.author_name)
                                                       == who_.lower()))
        if job_id:
            q = q.where(items.c.job_id == job_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(items.c.created_at.desc(), items.c.id.desc())
                                .limit(limit)).all()
        return [_item(r) for r in rows]

    def get(self, who: Member, item_id: int) -> Item:
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(
                items.c.id == item_id, collections.c.platform == who.platform,
                collections.c.team == _team(who))).first()
        if row is None:  # another team's item reads as no item at all
            raise LibraryError(f"No library item #{item_id} here. `list` shows the item "
                               "numbers.")
        return _item(row)

    def edit(self, who: Member, item_id: int, *, tags: tuple[str, ...] | None = None,
             note: str | None = None) -> Item:
        item = self.get(who, item_id)
        if not self.may_edit(who, item.collection_owner, item.author_id):
            raise LibraryError(_EDIT_REFUSED)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if tags is not None:
            values["tags"] = _joined(tags)
        if note is not None:
            values["note"] = note
        with self.engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id).values(**values))
        return self.get(who, item_id)

    def remove(self, who: Member, item_id: int) -> Item:
        item = self.get(who, item_id)
        if not self.may_edit(who, item.collection_owner, item.author_id):
            raise LibraryError(_EDIT_REFUSED)
        with self.engine.begin() as conn:
            conn.execute(delete(items).where(items.c.id == item_id))
        return item

    def items_of(self, who: Member, collection: str) -> list[Item]:
        """Every item of one collection, oldest first (a quiz picks from these)."""
        name = clean_name(collection)
        with self.engine.connect() as conn:
            rows = conn.execute(self._query().where(and_(
                collections.c.platform == who.platform, collections.c.team == _team(who),
                collections.c.name == name)).order_by(items.c.id)).all()
        return [_item(r) for r in rows]


_EDIT_REFUSED = ("Only the collection's owner, the item's author and instructors can change "
                 "library items; everyone else can list, search and post them.")


def _team(who: Member) -> str:
    if not who.team:
        raise LibraryError("The course library belongs to a server or workspace; use it in a "
                           "channel there, not in a direct message.")
    return who.team


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _item(r: Any) -> Item:
    return Item(r.id, r.cname, r.cowner, r.job_id, r.author_id, r.author_name,
                _split(r.tags), r.note or "", r.modality, r.region, _split(r.findings),
                r.summary or "", r.created_at)
