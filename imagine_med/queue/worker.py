"""The worker: a long-lived rq worker that never forks, with warm engines and job leases.

rq's default Worker forks a child per job, so any state built inside a job (a loaded model, a
cached anatomy) dies with the child, and forking after a GPU context exists is unsafe. This
worker subclasses rq's SimpleWorker (runs jobs in-process) and replaces how jobs are picked:
instead of popping rq's FIFO list it claims the next job fairly (priority lanes, round-robin
between users, per-user running limit) through one Lua script, then hands rq a job to execute,
so rq's registries, timeouts (SIGALRM in this main thread), and worker bookkeeping still apply.

The gap rq leaves (a SIGKILLed worker's job just sits in its started registry until moved to
"failed") is closed by leases: a keeper thread renews the running job's lease, and every
worker's keeper also reaps expired leases, requeueing those jobs (at most max_tries tries) and
then reporting them failed to their owner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import redis
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.utils import now
from rq.worker import WorkerStatus

from imagine_med.queue.api import JobQueue
from imagine_med.queue.config import LANES
from imagine_med.queue.tasks import Runtime, execute, set_runtime

log = logging.getLogger("imagine_med.queue.worker")

RENEW = r"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, redis.call('EXISTS', KEYS[2])} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, redis.call('EXISTS', KEYS[2])}
"""


PRUNE_CHECK_S = 600.0  # how often a worker asks whether the daily retention sweep is due
PRUNE_EVERY_S = 24 * 3600


def prune_old_files(q: JobQueue) -> int | None:
    """The retention sweep (IMAGINE_MED_BLOB_RETENTION_DAYS > 0): once a day for the whole
    fleet (a Redis lock, taken by whichever worker asks first), delete job files not written
    for that many days. Returns how many, or None when it was not this worker's turn."""
    from datetime import UTC, datetime, timedelta

    days = q.settings.blob_retention_days
    if days <= 0 or not q.redis.set(f"{q.prefix}:prune-lock", "1", nx=True, ex=PRUNE_EVERY_S):
        return None
    removed = q.blobs.prune(datetime.now(UTC) - timedelta(days=days))
    log.info("retention: %d job file(s) older than %d days deleted", removed, days)
    return removed


class Keeper(threading.Thread):
    """Renews the current job's lease, notices a cancel request, reaps dead workers' jobs."""

    def __init__(self, rt: Runtime, engines: tuple[str, ...] = ()) -> None:
        super().__init__(name="lease-keeper", daemon=True)
        self.rt = rt
        self.engines = engines or ("*",)
        self.stopped = threading.Event()
        self.renew = rt.queue.redis.register_script(RENEW)

    def run(self) -> None:
        q = self.rt.queue
        lease_ms = int(q.conf.lease_s * 1000)
        beat = q.conf.lease_s / 3
        last_reap = 0.0
        last_prune = time.monotonic()  # not at once: the first check waits PRUNE_CHECK_S
        while True:
            try:
                q.announce_engines(self.engines, self.rt.worker_name, ttl_s=int(beat * 6) + 5)
                current = self.rt.current
                if current is not None:
                    kept, cancel = self.renew(
                        keys=[q.keys.lease(current.job_id), q.keys.cancel(current.job_id)],
                        args=[current.lease_value, lease_ms],
                    )
                    if not kept:
                        current.lost.set()
                    if cancel:
                        current.cancelled.set()
                if time.monotonic() - last_prune >= PRUNE_CHECK_S:
                    last_prune = time.monotonic()
                    prune_old_files(q)
                if time.monotonic() - last_reap >= q.conf.lease_s / 2:
                    last_reap = time.monotonic()
                    for job_id, outcome in q.reap():
                        log.warning("job %s: worker lost, %s", job_id, outcome,
                                    extra={"job_id": job_id})
            except redis.RedisError as exc:
                log.warning("keeper: Redis error %s", exc)
            except Exception:
                log.exception("keeper failed")
            if self.stopped.wait(beat):
                return

    def stop(self) -> None:
        self.stopped.set()


class ImagineWorker(SimpleWorker):
    """rq's SimpleWorker with a fair claim and fewer Redis round trips per job.

    rq spends about a dozen round trips on bookkeeping per job; here they are folded into two
    pipelines (one before, one after the job), which is most of the per-job cost of a no-op.
    rq's job dependencies and repeats are not used by imagine-med, so success handling skips them.
    """

    def __init__(
        self, jq: JobQueue, raw: redis.Redis, name: str | None = None,
        engines: tuple[str, ...] = (), health: Any = None,
    ) -> None:
        self.jq = jq
        self.engines = engines  # routes: engine or engine:modality; () = any
        self.health = health  # observability.metrics.Health, beaten by the main loop
        self.job_queue = Queue(jq.keys.rq_queue, connection=raw)
        name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        super().__init__(
            [self.job_queue], connection=raw, name=name,
            default_result_ttl=jq.conf.rq_result_ttl_s,
        )
        self.rt = Runtime(jq, self.name)
        set_runtime(self.rt)
        self.keeper = Keeper(self.rt, engines)
        self._last_beat = 0.0

    # ---- choosing the next job

    def claim(self) -> tuple[str, int] | None:
        c = self.jq.conf
        got = self.jq.scripts.claim(
            args=[self.jq.prefix, self.name, repr(time.time()), int(c.lease_s * 1000),
                  c.max_running_per_user, c.stream_maxlen, ",".join(self.engines) or "*",
                  *LANES]
        )
        if not got:
            return None
        job_id, attempt, flat = got[0], int(got[1]), got[2:]
        self.rt.prefetched[job_id] = dict(zip(flat[::2], flat[1::2], strict=True))
        return job_id, attempt

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        idle_since = time.monotonic()
        backoff = 0.5
        while True:
            if self.health is not None:
                self.health.beat()
            try:  # every Redis call of the idle loop: rq quits the worker on any error here
                self.heartbeat()
                claimed = self.claim()
                if claimed is None and timeout is not None:
                    self.jq.redis.blpop([self.jq.keys.wake], timeout=1)
                backoff = 0.5
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.error("Redis unreachable (%s); retrying in %.1fs", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            if claimed is not None:
                job_id, attempt = claimed
                c = self.jq.conf
                job = Job.create(
                    execute, args=(job_id, attempt), connection=self.connection,
                    id=f"{job_id}-{attempt}", origin=self.job_queue.name,
                    timeout=_job_timeout(self.rt.prefetched.get(job_id), c.job_timeout_s),
                    result_ttl=c.rq_result_ttl_s,
                    failure_ttl=7 * 24 * 3600, description=f"imagine-med job {job_id}",
                )
                return job, self.job_queue
            if timeout is None:
                return None  # burst mode: nothing to do
            if max_idle_time is not None and time.monotonic() - idle_since > max_idle_time:
                return None
            if self.get_state() != WorkerStatus.IDLE:
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    self.set_state(WorkerStatus.IDLE)
                self.procline("waiting for jobs")

    # ---- rq bookkeeping, in two pipelines per job

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is None:
            if time.monotonic() - self._last_beat < 2.0:
                return
            self._last_beat = time.monotonic()
        super().heartbeat(timeout, pipeline=pipeline)

    def execute_job(self, job: Job, queue: Queue) -> Any:
        from imagine_med.observability.logs import job_context

        with job_context(str(job.args[0])):
            self.prepare_execution(job)
            self.perform_job(job, queue)

    def prepare_execution(self, job: Job) -> Execution:
        """Save the job, open its execution and mark this worker busy: one round trip."""
        with self.connection.pipeline() as pipe:
            ttl = self.get_heartbeat_ttl(job)
            job.save(pipeline=pipe)
            self.execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
            self.set_state(WorkerStatus.BUSY, pipeline=pipe)
            self.set_current_job_id(job.id, pipeline=pipe)
            self.set_current_job_working_time(0, pipeline=pipe)
            self.heartbeat(ttl, pipeline=pipe)
            job.prepare_for_execution(self.name, pipeline=pipe)
            pipe.execute()
        return self.execution

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        self.procline(f"running {job.id}")  # the bookkeeping was done in prepare_execution

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        job.ended_at = now()  # no separate heartbeat: the job's end is recorded right after

    def handle_job_success(
        self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry
    ) -> None:
        with self.connection.pipeline() as pipe:
            self.increment_successful_job_count(pipeline=pipe)
            self.increment_total_working_time(job.ended_at - job.started_at, pipe)  # type: ignore[operator]
            result_ttl = job.get_result_ttl(self.default_result_ttl)
            if result_ttl != 0:
                job._handle_success(
                    result_ttl, pipeline=pipe, worker_name=self.name,
                    execution_id=self.execution.id if self.execution else None,
                    execution_started_at=self.execution.created_at if self.execution else None,
                    execution_ended_at=job.ended_at,
                )
            job.cleanup(result_ttl, pipeline=pipe, remove_from_queue=False)
            self.cleanup_execution(job, pipeline=pipe)
            pipe.execute()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self.keeper.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self.keeper.stop()
            set_runtime(None)


def warm_up(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Build renderers now (every region's row of each pair), so the first job does not pay
    for it; returns seconds per pair."""
    from imagine_med.engine.registry import RENDERERS, get_renderer

    timings = {}
    for engine, modality in pairs:
        t0 = time.perf_counter()
        regions = [k[2] for k in RENDERERS if k[:2] == (engine, modality)] or [None]
        for region in dict.fromkeys(regions):
            get_renderer(engine, modality, region)
        timings[f"{engine}:{modality}"] = time.perf_counter() - t0
    return timings


def _job_timeout(record: dict[str, str] | None, default: int) -> int:
    """The job's own time limit (set at submit: a case set's is longer), else the queue's."""
    try:
        return max(1, int((record or {}).get("timeout") or default))
    except ValueError:
        return default
