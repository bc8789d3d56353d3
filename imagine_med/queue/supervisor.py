"""Keeping the local stack's processes alive (`imagine-med run`).

Issue 12: under `make run`, a SIGKILLed worker took the whole stack down. The restarted worker
reused the dead one's name, so rq refused it ("There exists an active worker named ...
already": rq keeps a dead worker's key for worker_ttl + 60 s, 8 minutes); after one failed
restart the stack gave up on the worker, found nothing left running and stopped, Redis included,
which cut off every waiting client. Here:

* every start of a child gets a fresh command line, so each worker process has a name of its
  own (`<host>-w<n>-<random>`);
* a child that exits is started again after a delay that doubles from 1 s to 60 s while it keeps
  failing, and drops back to 1 s once a start has lived a minute; nothing else is stopped, and
  the stack itself stops only when told to (Ctrl-C, SIGTERM);
* when a worker dies its jobs are taken back at once (`JobQueue.reap(dead_worker=...)`: the
  supervisor saw it exit, so there is no need to wait for its lease to run out) and rq is told
  of its death, so it no longer counts as a live worker. rq's record of the interrupted try
  (the `<job>-<try>` rq job in its StartedJobRegistry) is left to rq: its registry cleanup marks
  it failed (AbandonedJobError) once that execution's heartbeat expires.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from imagine_med.queue.api import JobQueue

log = logging.getLogger(__name__)

RESTART_FIRST_S = 1.0
RESTART_MAX_S = 60.0
STABLE_S = 60.0  # a start that lived this long resets the restart delay


def worker_name(index: int) -> str:
    """A name no earlier worker process has had: rq refuses a name whose key is still alive."""
    host = os.uname().nodename.split(".")[0]
    return f"{host}-w{index}-{uuid.uuid4().hex[:6]}"


@dataclass
class Child:
    """One supervised process. `argv(child)` builds its command line for each start (and may
    set `child.worker` to the rq worker name that start will use)."""

    label: str
    argv: Callable[[Child], list[str]]
    worker: str | None = None  # the rq worker name of the current start, for workers
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay_s: float = RESTART_FIRST_S
    starts: int = 0
    exits: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


class Supervisor:
    """Starts children, restarts the ones that exit (with backoff), stops them all in the end."""

    def __init__(self, env: dict[str, str], log_dir: Path,
                 say: Callable[[str], None] = print,
                 on_worker_exit: Callable[[str], None] | None = None) -> None:
        self.env = env
        self.log_dir = log_dir
        self.say = say
        self.on_worker_exit = on_worker_exit
        self.children: dict[str, Child] = {}

    def log_path(self, label: str) -> Path:
        return self.log_dir / f"{label}.log"

    def add(self, label: str, argv: Callable[[Child], list[str]]) -> Child:
        child = self.children[label] = Child(label, argv)
        self.start(child)
        return child

    def start(self, child: Child) -> None:
        command = child.argv(child)
        with open(self.log_path(child.label), "ab") as out:  # the child keeps its own copy
            child.proc = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the stack only; it stops children
            )
        child.started_at = time.monotonic()
        child.restart_at = None
        child.starts += 1

    def poll(self) -> None:
        """Notice exits and start again the children whose delay has passed."""
        now = time.monotonic()
        for child in self.children.values():
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.start(child)
                    self.say(f"{child.label} restarted (pid {child.pid})")
                continue
            if child.proc is None or (rc := child.proc.poll()) is None:
                continue
            child.exits.append(rc)
            if now - child.started_at >= STABLE_S:
                child.delay_s = RESTART_FIRST_S
            how = f"killed by signal {-rc}" if rc < 0 else f"exited with code {rc}"
            self.say(f"{child.label} (pid {child.pid}) {how}; restarting it in "
                     f"{child.delay_s:g}s (log {self.log_path(child.label)})")
            if child.worker is not None and self.on_worker_exit is not None:
                try:
                    self.on_worker_exit(child.worker)
                except Exception as exc:  # Redis away too: leases and rq's cleanup still apply
                    log.warning("could not release %s's jobs now: %s", child.worker, exc)
            child.restart_at = now + child.delay_s
            child.delay_s = min(RESTART_MAX_S, child.delay_s * 2)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every child (a worker finishes its current job), SIGKILL what is left."""
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout_s
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def release_dead_worker(jq: JobQueue, raw: redis.Redis, name: str) -> list[tuple[str, str]]:
    """A worker process is known to be dead: requeue its jobs now (or fail them, past their
    tries) and register its death with rq, so rq neither counts it as alive nor keeps its
    name taken. Returns the reaped (job id, outcome) pairs."""
    from rq.worker import Worker

    reaped = jq.reap(dead_worker=name)
    dead = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=raw)
    if dead is not None:
        dead.register_death()
    for job_id, outcome in reaped:
        log.warning("job %s: worker %s died, %s", job_id, name, outcome,
                    extra={"job_id": job_id})
    return reaped
