"""Fixtures and helpers for the queue tests: a queue on the real Redis under a unique prefix,
a migrated SQLite store, and real worker subprocesses (killed at teardown)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily: conftest loads this module for every test session
    from imagine_med.prompt.spec import CaseSpec
    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.types import Requester

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent


def spec(prompt: str = "", **kw: Any) -> CaseSpec:
    """A tiny spec for the test engine (prompt words steer it: sleep=, fail=, suicide=)."""
    from imagine_med.prompt.spec import CaseSpec

    return CaseSpec(**{"modality": "xray", "prompt": prompt, "width": 64, "height": 64, **kw})


def who(user: str, *roles: str, platform: str = "cli") -> Requester:
    from imagine_med.queue.types import Requester

    return Requester(platform=platform, user=user, team="t1", channel="c1", roles=roles,
                     reply_target={"thread": f"th-{user}"})


def claim(
    jq: JobQueue, worker: str = "w-test", lease_s: float | None = None, engines: str = "*"
) -> tuple[str, int] | None:
    """What a worker's dequeue does, without running anything."""
    from imagine_med.queue.config import LANES

    c = jq.conf
    got = jq.scripts.claim(
        args=[jq.prefix, worker, repr(time.time()), int((lease_s or c.lease_s) * 1000),
              c.max_running_per_user, c.stream_maxlen, engines, *LANES]
    )
    return (got[0], int(got[1])) if got else None


def finish(jq: JobQueue, job_id: str, attempt: int, worker: str = "w-test",
           status: str = "done", fields: dict[str, str] | None = None) -> int:
    return int(jq.scripts.finish(
        args=[jq.prefix, job_id, worker, str(attempt), status, repr(time.time()),
              jq.conf.stream_maxlen, "0.01", 60, json.dumps(fields or {})]
    ))


@dataclass
class QueueEnv:
    redis_url: str
    prefix: str
    database_url: str
    data_dir: Path
    conf: dict[str, Any] = field(default_factory=dict)

    def queue(self, **conf: Any) -> JobQueue:
        from imagine_med.queue.api import JobQueue
        from imagine_med.queue.config import QueueSettings
        from imagine_med.settings import Settings

        merged = {**self.conf, **conf}
        return JobQueue(
            self.redis_url, self.prefix, self.database_url,
            settings=Settings(data_dir=self.data_dir, redis_url=self.redis_url,
                              database_url=self.database_url, redis_prefix=self.prefix),
            queue_settings=QueueSettings(**merged), files_dir=self.data_dir / "files",
        )

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
        env.update(
            REDIS_URL=self.redis_url, DATABASE_URL=self.database_url,
            IMAGINE_MED_REDIS_PREFIX=self.prefix, IMAGINE_MED_DATA_DIR=str(self.data_dir),
            IMAGINE_MED_FILES_DIR=str(self.data_dir / "files"),
            PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
        )
        for key, value in self.conf.items():
            env[f"IMAGINE_MED_{key.upper()}"] = str(value)
        env.update(extra)
        return env


@pytest.fixture
def qenv(redis_url: str, namespace: str, tmp_path: Path) -> QueueEnv:
    from imagine_med.store import migrate

    db = f"sqlite:///{tmp_path / 'queue.db'}"
    migrate(db)
    return QueueEnv(redis_url, namespace, db, tmp_path / "data")


class Workers:
    """Worker subprocesses (`imagine-med worker` with the test engine)."""

    def __init__(self, qenv: QueueEnv) -> None:
        self.qenv = qenv
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.tag = qenv.prefix.rsplit(":", 1)[-1][:6]  # rq worker names are global to a Redis

    def start(self, n: int = 1, *, test_engine: bool = True, wait: bool = True,
              **env: str) -> list[str]:
        names = []
        for _ in range(n):
            name = f"{self.tag}-w{len(self.procs) + 1}"
            cmd = [sys.executable, "-m", "imagine_med.cli", "worker", "--name", name,
                   "--log-format", "text"]
            if test_engine:
                cmd += ["--renderer", "phantom:xray=queue_engine:make", "--warm", "phantom:xray"]
            with open(self.qenv.data_dir.parent / f"{name}.log", "wb") as log:  # child keeps it
                self.procs[name] = subprocess.Popen(
                    cmd, env=self.qenv.env(**env), stdout=log, stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            names.append(name)
        if wait:
            self.wait_ready(names)
        return names

    def wait_ready(self, names: list[str], timeout: float = 60) -> None:
        jq = self.qenv.queue()
        key = f"rq:workers:{jq.keys.rq_queue}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = {m.rsplit(":", 1)[-1] for m in jq.redis.smembers(key)}
            if set(names) <= alive:
                return
            for name in names:
                if self.procs[name].poll() is not None:
                    raise AssertionError(f"worker {name} exited: {self.log(name)}")
            time.sleep(0.1)
        raise AssertionError(f"workers {names} not ready: {[self.log(n) for n in names]}")

    def log(self, name: str) -> str:
        path = self.qenv.data_dir.parent / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def queue_workers(qenv: QueueEnv) -> Iterator[Workers]:
    w = Workers(qenv)
    try:
        yield w
    finally:
        w.stop_all()


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def events_since(jq: JobQueue, since: str = "0-0", platform: str = "cli") -> list[Any]:
    """Every event on a platform's stream after `since`, without blocking."""
    from imagine_med.queue.api import parse_event

    start = "(" + since if since != "0-0" else "-"
    return [parse_event(i, f) for i, f in jq.redis.xrange(jq.keys.events(platform), start, "+")]
