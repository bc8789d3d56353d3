"""The compose topology as local processes: two "hosts" with separate data directories that
share only Redis, PostgreSQL and the S3-compatible store. A job asked for on host B's Slack
adapter is rendered by host A's worker and posted by host B, which has never seen A's disk."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_mocks.slack_api import SlackMock, sign, slash_body
from bot_mocks.stack import TEST_WATERMARK_KEY
from s3_support import S3Server
from tooling import need

from imagine_med.bot import ids

TESTS = Path(__file__).resolve().parent
SECRET = "two-hosts-signing-secret"
PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_schema_url(postgres_url: str | None) -> Iterator[str]:
    """A PostgreSQL schema of its own (as `store_url`), migrated; dropped afterwards."""
    need(postgres_url is not None, "PostgreSQL at 127.0.0.1:5432 (database test)")
    import sqlalchemy as sa

    from imagine_med.store import migrate
    from imagine_med.store.db import dispose_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(str(postgres_url))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        dispose_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def observer(redis_url: str, prefix: str, db: str, bucket: str, s3: S3Server,
             tmp: Path) -> Any:
    """A third process's view of the shared services (its own cache dir)."""
    from imagine_med.queue import JobQueue
    from imagine_med.settings import Settings

    return JobQueue(settings=Settings(
        redis_url=redis_url, database_url=db, redis_prefix=prefix, data_dir=tmp / "observer",
        blobs=f"s3://{bucket}/jobs", s3_endpoint_url=s3.endpoint))


def ready(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


async def test_a_job_rendered_on_one_host_is_posted_from_the_other(
        redis_url: str, namespace: str, pg_schema_url: str, s3_server: S3Server,
        tmp_path: Path) -> None:
    bucket = s3_server.bucket()
    shared = {  # all the two hosts have in common
        "REDIS_URL": redis_url, "DATABASE_URL": pg_schema_url,
        "IMAGINE_MED_REDIS_PREFIX": namespace, **s3_server.env(bucket, "jobs"),
        "IMAGINE_MED_WATERMARK_KEY": TEST_WATERMARK_KEY, "IMAGINE_MED_PROGRESS_INTERVAL_S": "0",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    port_a, port_b, slack_port = free_port(), free_port(), free_port()
    mock = await SlackMock().start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "imagine_med.cli", "worker", "--engines", "phantom",
             "--health-port", str(port_a), "--log-format", "text",
             "--renderer", "phantom:xray=bot_mocks.renderer:make", "--warm", "phantom:xray"],
            env={**base, **shared, "IMAGINE_MED_DATA_DIR": str(host_a)},
            stdout=open(tmp_path / "a.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
        procs.append(worker)
        adapter = subprocess.Popen(
            [sys.executable, "-m", "imagine_med.cli", "slack", "--http", "--host", "127.0.0.1",
             "--port", str(slack_port)],
            env={**base, **shared, "IMAGINE_MED_DATA_DIR": str(host_b),
                 "IMAGINE_MED_HEALTH_PORT": str(port_b), "SLACK_BOT_TOKEN": "xoxb-two-hosts",
                 "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": mock.url},
            stdout=open(tmp_path / "b.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
        procs.append(adapter)

        def logs() -> str:
            return "\n".join(f"--- {n}\n{(tmp_path / n).read_text(errors='replace')[-3000:]}"
                             for n in ("a.log", "b.log"))

        for port, proc in ((port_a, worker), (port_b, adapter)):
            for _ in range(600):  # both import, connect and (the worker) warm up first
                assert proc.poll() is None, logs()
                try:
                    doc = ready(port)
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"/readyz never answered 200\n{logs()}")
            assert doc["checks"] == {"redis": "ok", "store": "ok", "blobs": "ok"}

        import aiohttp

        body = slash_body("/imagine-med", PROMPT, response_url=mock.response_url())
        headers = {**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{slack_port}/slack/events", data=body,
                headers=headers) as r:
            assert r.status == 200
        for _ in range(1200):
            if mock.of("files.completeUploadExternal"):
                break
            assert worker.poll() is None and adapter.poll() is None, logs()
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no grid was posted\n{logs()}")
        # the grid is one message: its image block shows the upload, its buttons name the job
        for _ in range(600):
            grid = [c for c in mock.of("chat.postMessage")
                    if any(b["type"] == "image" for b in c.params.get("blocks") or [])]
            if grid:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no grid message was posted\n{logs()}")
        job_id = next(ids.decode(e["action_id"]).job_id for b in grid[0].params["blocks"]
                      if b["type"] == "actions" for e in b["elements"])
        q = observer(redis_url, namespace, pg_schema_url, bucket, s3_server, tmp_path)
        for _ in range(600):  # the post is recorded once the whole message is up
            if q.posted(job_id, "slack") is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await mock.close()

    upload = mock.of("upload")[0].body
    try:
        info = q.status(job_id)
        assert info is not None and info.status == "done"
        assert info.worker is not None and q.posted(job_id, "slack") is not None  # PostgreSQL
        grid_key = info.result["files"]["grid.png"]
        assert hashlib.sha256(upload).hexdigest() == grid_key[:64]  # the posted bytes
        stored = s3_server.client().get_object(Bucket=bucket, Key=f"jobs/{grid_key[:2]}/"
                                               f"{grid_key[2:4]}/{grid_key}")["Body"].read()
        assert stored == upload
        # A wrote it; B read it from the object store into its own cache, never from A's disk
        in_a = host_a / "files" / grid_key[:2] / grid_key[2:4] / grid_key
        in_b = host_b / "files" / grid_key[:2] / grid_key[2:4] / grid_key
        assert in_a.read_bytes() == upload and in_b.read_bytes() == upload
        assert not any(p.is_relative_to(host_a) for p in q.files(job_id).values())
    finally:
        q.close()
