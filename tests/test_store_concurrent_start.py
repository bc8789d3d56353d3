"""Processes that start at the same moment against a database nobody has created yet.

Every process migrates the store at start. Issue 12: `imagine-med worker` and
`imagine-med slack --http` started together on a new SQLite file killed one of them ("table jobs
already exists"), and two containers on one PostgreSQL raced the same way. Here real processes
(two workers and a Slack adapter in HTTP mode, which needs no reachable Slack) start together
on a fresh SQLite file and on a fresh PostgreSQL database, five times each, and all of them
must come up and leave the store at head.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from queue_support import ROOT, QueueEnv

from imagine_med.queue.keys import Keys

TRIES = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_answers(port: int) -> bool:
    """Any HTTP answer (a GET on the events path is refused with 4xx) means it is serving."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/slack/events", timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from imagine_med.store import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _start_together(env: QueueEnv, tag: str, logs: Path) -> None:
    """Two workers and a Slack adapter, launched back to back; all must be up within 90 s."""
    port = _free_port()
    names = [f"{tag}-w1", f"{tag}-w2"]
    me = [sys.executable, "-m", "imagine_med.cli"]
    commands = {
        **{n: [*me, "worker", "--name", n, "--no-warm", "--log-format", "text"] for n in names},
        "slack": [*me, "slack", "--http", "--host", "127.0.0.1", "--port", str(port)],
    }
    environ = env.env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="test-secret",
                      SLACK_API_URL="http://127.0.0.1:9/api/",
                      IMAGINE_MED_WATERMARK_KEY="concurrent-start-key")  # not the dev key
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, cmd in commands.items():
            with open(logs / f"{tag}-{name}.log", "wb") as log:
                procs[name] = subprocess.Popen(cmd, env=environ, stdout=log,
                                               stderr=subprocess.STDOUT, cwd=ROOT)
        client = redis.Redis.from_url(env.redis_url, decode_responses=True)
        workers_key = f"rq:workers:{Keys(env.prefix).rq_queue}"
        deadline = time.monotonic() + 90
        up: set[str] = set()
        while up != set(commands) and time.monotonic() < deadline:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    text = (logs / f"{tag}-{name}.log").read_text(errors="replace")
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n{text[-2000:]}")
            alive = {m.rsplit(":", 1)[-1] for m in client.smembers(workers_key)}
            up |= {n for n in names if n in alive}
            if "slack" not in up and _http_answers(port):
                up.add("slack")
            time.sleep(0.1)
        client.close()
        assert up == set(commands), f"not up after 90 s: {set(commands) - up}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _assert_at_head(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [v for (v,) in versions] == [_head_revision()]


def _run_tries(redis_url: str, namespace: str, tmp_path: Path,
               fresh_database: Callable[[int], Iterator[str]]) -> None:
    for i in range(TRIES):
        with contextmanager(fresh_database)(i) as url:
            env = QueueEnv(redis_url, f"{namespace}-{i}", url, tmp_path / f"data-{i}")
            _start_together(env, f"{namespace.rsplit(':', 1)[-1][:6]}-{i}", tmp_path)
            _assert_at_head(url)


def test_worker_and_adapter_start_together_on_a_new_sqlite_file(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    def fresh(i: int) -> Iterator[str]:
        yield f"sqlite:///{tmp_path / f'new-{i}' / 'imagine-med.db'}"

    _run_tries(redis_url, namespace, tmp_path, fresh)


def test_worker_and_adapter_start_together_on_a_new_postgres_database(
    redis_url: str, namespace: str, tmp_path: Path, postgres_url: str | None
) -> None:
    if postgres_url is None:
        pytest.skip("no PostgreSQL reachable at 127.0.0.1:5432")
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def fresh(i: int) -> Iterator[str]:
        """A database created for this try (a schema of its own where CREATE DATABASE is not
        allowed), dropped afterwards."""
        name = f"imtest_{uuid.uuid4().hex[:10]}"
        base = sa.make_url(postgres_url)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
        except sa.exc.ProgrammingError:  # no CREATEDB privilege: a fresh schema instead
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {name}"))
            try:
                yield f"{postgres_url}?options=-csearch_path%3D{name}"
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
            return
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))

    try:
        _run_tries(redis_url, namespace, tmp_path, fresh)
    finally:
        admin.dispose()
