"""The durable store on SQLite and PostgreSQL: migrations, job rows, images, posted messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from imagine_med.store import make_engine, migrate, repo, session_scope
from imagine_med.store.blobs import LocalBlobStore


def _job(job_id: str, user: str = "u1", **extra):
    fields = {
        "id": job_id, "kind": "imagine", "status": "queued", "lane": "normal",
        "platform": "cli", "team": None, "channel": "c", "user_id": user, "roles": ["student"],
        "reply_target": {"thread": "t1"}, "prompt": "chest x-ray",
        "spec": {"modality": "xray"}, "params": {}, "not_a_column": 1,
    }
    fields.update(extra)
    return fields


def test_migrate_creates_tables_and_is_idempotent(store_url: str) -> None:
    migrate(store_url)  # second run: a no-op, not an error
    engine = make_engine(store_url)
    names = set(sa.inspect(engine).get_table_names())
    assert {"jobs", "images", "posted_messages", "alembic_version"} <= names
    from alembic.script import ScriptDirectory

    from imagine_med.store import alembic_config

    script = ScriptDirectory.from_config(alembic_config(store_url))
    assert len(script.get_heads()) == 1, "migrations must form one line (set down_revision)"
    with engine.connect() as conn:
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar()
    assert version == script.get_current_head()


def test_job_upsert_roundtrip(store_url: str) -> None:
    engine = make_engine(store_url)
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_scope(engine) as s:
        repo.upsert_job(s, _job("j1", created_at=created))
        repo.upsert_job(s, _job("j2", user="u2", created_at=created + timedelta(seconds=1)))
    with session_scope(engine) as s:
        repo.upsert_job(s, {"id": "j1", "status": "done", "result": {"seed": 7}, "tries": 1})
    with session_scope(engine) as s:
        row = repo.get_job(s, "j1")
        assert row is not None
        assert (row.status, row.result, row.tries, row.user_id) == ("done", {"seed": 7}, 1, "u1")
        assert row.reply_target == {"thread": "t1"} and row.roles == ["student"]
        assert row.created_at == created and row.created_at.tzinfo is not None
        assert [r.id for r in repo.list_jobs(s)] == ["j2", "j1"]  # newest first
        assert [r.id for r in repo.list_jobs(s, user_id="u1")] == ["j1"]
        assert [r.id for r in repo.list_jobs(s, statuses=("queued",))] == ["j2"]


def test_posted_record_is_once_per_job_platform_kind(store_url: str) -> None:
    engine = make_engine(store_url)
    with session_scope(engine) as s:
        assert repo.posted(s, "j9", "discord") is None
        assert repo.mark_posted(s, "j9", "discord", "msg-1") is True
        assert repo.mark_posted(s, "j9", "discord", "msg-2") is False
        assert repo.mark_posted(s, "j9", "slack", "ts-1") is True
    with session_scope(engine) as s:
        assert repo.posted(s, "j9", "discord") == "msg-1"
        assert repo.posted(s, "j9", "slack") == "ts-1"


def test_images_are_replaced_on_retry_and_cascade(store_url: str) -> None:
    engine = make_engine(store_url)
    with session_scope(engine) as s:
        repo.upsert_job(s, _job("j3"))
        repo.replace_images(s, "j3", [{"name": "grid.png", "sha256": "a" * 64, "size": 10}])
        repo.replace_images(
            s, "j3",
            [
                {"name": "grid.png", "sha256": "b" * 64, "size": 11, "width": 8, "height": 8},
                {"name": "variant-1.png", "sha256": "c" * 64, "size": 12},
            ],
        )
    with session_scope(engine) as s:
        images = {i.name: i.sha256 for i in repo.job_images(s, "j3")}
        assert images == {"grid.png": "b" * 64, "variant-1.png": "c" * 64}


def test_blob_store_is_content_addressed(tmp_path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    k1 = store.put(b"png-bytes", ".png")
    k2 = store.put(b"png-bytes", ".png")
    k3 = store.put(b"other", ".png")
    assert k1 == k2 != k3
    assert k1.endswith(".png") and len(k1) == 64 + 4
    assert store.get(k1) == b"png-bytes"
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 2 and not any(p.name.startswith(".tmp") for p in files)
    with pytest.raises(ValueError, match="not a blob key"):
        store.get("../../etc/passwd")
