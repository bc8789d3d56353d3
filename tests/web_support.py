"""A real local stack for the web tests: a phantom worker and `imagine-med web` as processes
(the same commands `make run` starts), on the test Redis under a key prefix of their own and a
fresh SQLite store; and the system's Chromium for Playwright (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tooling import need

ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = Path(__file__).resolve().parent
MODERATOR = "moda"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium() -> str:
    """Debian's chromium (installed by .ci/run); a test skips without it, or fails under
    IMAGINE_MED_REQUIRE_TOOLS=1."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                        else None)
    need(path is not None, "chromium (Debian package chromium)")
    need(__import__("importlib").util.find_spec("playwright") is not None,
         "the playwright module (pip: playwright)")
    return str(path)


@dataclass
class WebStack:
    url: str
    env: dict[str, str]
    database_url: str
    data_dir: Path
    prefix: str
    redis_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        path = self.data_dir.parent / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def spawn(self, name: str, *args: str) -> None:
        with open(self.data_dir.parent / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "imagine_med.cli", *args], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_http(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.procs["web"].poll() is not None:
                raise AssertionError("web app exited: " + self.log("web"))
            time.sleep(0.2)
        raise AssertionError("web app not answering: " + self.log("web"))

    def wait_worker(self, timeout: float = 120) -> None:
        import redis

        r = redis.Redis.from_url(self.redis_url, decode_responses=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if r.smembers(f"rq:workers:{self.prefix}.jobs"):
                return
            if self.procs["worker"].poll() is not None:
                raise AssertionError("worker exited: " + self.log("worker"))
            time.sleep(0.2)
        raise AssertionError("worker not ready: " + self.log("worker"))

    def account(self, name: str, password: str = "correct horse battery") -> None:
        from imagine_med.web.accounts import AccountError, AccountStore

        with contextlib.suppress(AccountError):  # made by an earlier test of the session
            AccountStore(self.database_url).create_local(name, password)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        import redis

        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(match=f"*{self.prefix}*", count=5000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
        client.close()


def start_stack(tmp: Path, redis_url: str, **extra: str) -> WebStack:
    from imagine_med.store import migrate

    prefix = f"imtest:{uuid.uuid4().hex[:10]}"
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{tmp / 'web.db'}"
    migrate(db)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
    env.update(
        REDIS_URL=redis_url, DATABASE_URL=db, IMAGINE_MED_REDIS_PREFIX=prefix,
        IMAGINE_MED_DATA_DIR=str(data), IMAGINE_MED_FILES_DIR=str(data / "files"),
        IMAGINE_MED_WEB_PORT=str(port), IMAGINE_MED_WEB_LOCAL_MODERATORS=MODERATOR,
        IMAGINE_MED_WEB_BASE_URL=f"http://127.0.0.1:{port}",
        IMAGINE_MED_WEB_PROGRESS_POLL_S="0.05", IMAGINE_MED_RENDER_PROCESSES="1",
        # one test module signs in a dozen times a minute from 127.0.0.1 on a fast machine
        IMAGINE_MED_WEB_LOGIN_PER_MINUTE="100",
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]), **extra)
    stack = WebStack(f"http://127.0.0.1:{port}", env, db, data, prefix, redis_url)
    stack.spawn("worker", "worker", "--name", f"web-test-{prefix[-6:]}", "--log-format", "text",
                "--warm", "phantom:xray", "--warm", "phantom:ct")
    stack.spawn("web", "web")
    try:
        stack.wait_http()
        stack.wait_worker()
    except BaseException:
        stack.stop()
        raise
    return stack
