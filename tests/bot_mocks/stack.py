"""The real queue stack for bot tests: a JobQueue on the test Redis (own key prefix) and a
SQLite store, and a burst worker process rendering with the bot test renderer."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from imagine_med.bot.config import BotConfig
from imagine_med.bot.core import BotCore
from imagine_med.bot.runner import assemble_core
from imagine_med.moderation.service import ModerationService
from imagine_med.queue import JobQueue
from imagine_med.settings import Settings

TESTS = Path(__file__).resolve().parents[1]
MODALITIES = ("xray", "ct", "mri")
# `imagine-med discord|slack` refuse the public development key: tests that start one as a
# process set this one (workers and this process keep the default, so marks verify here).
TEST_WATERMARK_KEY = "bot-tests-secret-watermark-key"


@dataclass
class Stack:
    queue: JobQueue
    core: BotCore
    env: dict[str, str]

    def work(self, timeout: float = 120) -> str:
        """Run one burst worker until the queue is empty; returns its log."""
        cmd = [sys.executable, "-m", "imagine_med.cli", "worker", "--burst", "--log-format",
               "text"]
        for m in MODALITIES:
            cmd += ["--renderer", f"phantom:{m}=bot_mocks.renderer:make", "--warm", f"phantom:{m}"]
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stderr

    def close(self) -> None:
        self.queue.close()  # its keys go with the `namespace` fixture


def make_stack(redis_url: str, namespace: str, tmp: Path, **config: object) -> Stack:
    from imagine_med.store import migrate

    db = f"sqlite:///{tmp / 'bot.db'}"
    migrate(db)
    env = {
        **os.environ, "REDIS_URL": redis_url, "DATABASE_URL": db,
        "IMAGINE_MED_REDIS_PREFIX": namespace, "IMAGINE_MED_DATA_DIR": str(tmp / "data"),
        "IMAGINE_MED_PROGRESS_INTERVAL_S": "0",
        "IMAGINE_MED_LEASE_S": "3",  # the worker notices a cancel within lease/3 = 1 s
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    settings = Settings(redis_url=redis_url, database_url=db, data_dir=tmp / "data",
                        redis_prefix=namespace)
    queue = JobQueue(redis_url, namespace, db, settings=settings,
                     files_dir=tmp / "data" / "files")
    moderation = ModerationService(queue=queue, settings=settings)
    core = assemble_core(queue, moderation,  # as `imagine-med discord|slack` builds it
                         BotConfig(progress_interval_s=0, **config))  # type: ignore[arg-type]
    return Stack(queue, core, env)
