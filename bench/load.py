"""Load test: simulated users through the real Slack adapter, queue, workers and store.

    python bench/load.py [--users 200] [--channels 20] [--duration 120] [--workers 2]

What runs, all on 127.0.0.1: a private redis-server (else the machine's Redis under its own
prefix), PostgreSQL (database `test`, a schema of its own, dropped afterwards; `--sqlite` for
none), `imagine-med worker --engines phantom` x N (the real phantom engine), one
`imagine-med slack --http` process (the real bot core and delivery loop), and a mock of
Slack's Web API (tests/bot_mocks/slack_api.py) in this process. Each simulated user, at human
pace (a think time between actions), runs `/imagine-med <prompt>`, waits for the grid, presses
U<n>, then V<n>, then refines the prompt in the modal, and starts over, until the load phase
ends; then the system drains (no new actions) for at most --drain seconds.

Reported: jobs/min finished, p50/p95/p99 seconds from the command (the HTTP request to the
adapter) to the posted image, per action; fairness (completed jobs per user, max/min);
lost deliveries (jobs done but never posted, and accepted commands whose result never came)
and duplicated ones (a job posted twice); Redis and PostgreSQL load; CPU seconds per process.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's `queue` (see bench/engine.py)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the Slack API mock

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from bot_mocks.slack_api import (  # noqa: E402
    SlackMock,
    block_actions_body,
    sign,
    slash_body,
    view_submission_body,
)

from imagine_med.bot import ids  # noqa: E402
from imagine_med.bot.ids import Action  # noqa: E402

SECRET = "load-test-signing-secret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PROMPTS = [
    "PA chest x-ray, right upper lobe consolidation",
    "PA chest x-ray, left pleural effusion, adult female",
    "AP supine chest x-ray, cardiomegaly",
    "chest CT, axial at the carina, right upper lobe spiculated mass, lung window",
    "PA chest x-ray, normal, adult male",
    "lateral chest x-ray, left lower lobe consolidation",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, children included (its render pool)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


class RecordingSlack(SlackMock):
    """The Slack mock, timestamping each call and waking whoever waits for a job's post."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self.posted: dict[str, list[float]] = {}  # job id -> times its image was posted
        self.responses: dict[str, list[str]] = {}  # response_url name -> texts (refusals)
        self.waiters: dict[str, asyncio.Future[float]] = {}

    async def _api(self, request: Any) -> Any:
        out = await super()._api(request)
        call = self.calls[-1]
        self.times.append(time.monotonic())
        if call.method == "files.completeUploadExternal":
            comment = str(call.params.get("initial_comment", ""))
            if "job `" in comment:
                job = comment.split("job `", 1)[1].split("`", 1)[0]
                self.posted.setdefault(job, []).append(time.monotonic())
                self._wake(job)
        return out

    async def _response(self, request: Any) -> Any:
        body = json.loads(await request.read() or b"{}")
        name = request.match_info["name"]
        self.responses.setdefault(name, []).append(str(body.get("text", "")))
        self._wake(f"response:{name}")
        from aiohttp import web

        return web.Response(text="ok")

    def _wake(self, key: str) -> None:
        fut = self.waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(time.monotonic())


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=dict)  # action -> seconds
    completed: dict[str, int] = field(default_factory=dict)  # user -> posted results
    refused: dict[str, int] = field(default_factory=dict)  # first words of the refusal -> n
    timeouts: int = 0
    commands: int = 0


class User:
    def __init__(self, n: int, channel: str, bench: Bench) -> None:
        self.id = f"U{n:04d}"
        self.channel = channel
        self.bench = bench
        self.rng = random.Random(n)
        self.seq = 0

    async def think(self) -> None:
        lo, hi = self.bench.args.think
        await asyncio.sleep(self.rng.uniform(lo, hi))

    async def act(self, action: str, body_for: Any) -> str | None:
        """Send one request; wait for the image it asks for. Returns the new job id."""
        b = self.bench
        self.seq += 1
        name = f"{self.id}-{self.seq}"
        before = set(b.mock.posted)
        body = body_for(b.mock.response_url(name))
        t0 = time.monotonic()
        b.stats.commands += 1
        job = await b.new_job_of(self.id, since=t0, post=b.post(body), name=name)
        if job is None:
            text = (b.mock.responses.get(name) or ["(no answer)"])[0]
            key = " ".join(text.split()[:5])
            b.stats.refused[key] = b.stats.refused.get(key, 0) + 1
            return None
        done = asyncio.get_running_loop().create_future()
        if job in b.mock.posted and job not in before:
            done.set_result(b.mock.posted[job][0])
        else:
            b.mock.waiters[job] = done
        try:
            posted_at = await asyncio.wait_for(done, timeout=b.args.patience)
        except TimeoutError:
            b.mock.waiters.pop(job, None)
            b.stats.timeouts += 1
            return job
        b.stats.latency.setdefault(action, []).append(posted_at - t0)
        b.stats.completed[self.id] = b.stats.completed.get(self.id, 0) + 1
        return job

    async def run(self, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.bench.args.ramp))
        while time.monotonic() < until:
            prompt = f"{self.rng.choice(PROMPTS)} --size {self.bench.args.size}"
            grid = await self.act("imagine", lambda url, p=prompt: slash_body(
                "/imagine-med", p, user=self.id, channel=self.channel, response_url=url))
            if grid is None:
                await self.think()
                continue
            for action, kind in (("upscale", Action.UPSCALE), ("variation", Action.VARY)):
                await self.think()
                if time.monotonic() >= until:
                    return
                i = self.rng.randint(1, 4)
                await self.act(action, lambda url, k=kind, i=i, g=grid: block_actions_body(
                    ids.encode(k, g, i), user=self.id, channel=self.channel,
                    response_url=url))
            await self.think()
            if time.monotonic() >= until:
                return
            refined = f"{prompt}, left pleural effusion"
            variant = str(self.rng.randint(1, 4))
            await self.act("refine", lambda _url, g=grid, p=refined, v=variant:
                           view_submission_body(ids.encode(Action.REFINE, g, 0),
                                                {"prompt": p, "variant": v},
                                                user=self.id, channel=self.channel))
            await self.think()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stats = Stats()
        self.mock = RecordingSlack()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="imagine-med-load-"))
        self.prefix = f"load:{uuid.uuid4().hex[:8]}"
        self.session: aiohttp.ClientSession | None = None
        self.queue: Any = None
        self.slack_port = free_port()

    # ---- services

    def start_redis(self) -> str:
        server = shutil.which("redis-server")
        if server is None:
            return "redis://127.0.0.1:6379/0"
        port = free_port()
        self.procs["redis"] = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    def start_database(self) -> str:
        from imagine_med.store import migrate

        if self.args.sqlite:
            url = f"sqlite:///{self.tmp / 'load.db'}"
        else:
            import sqlalchemy as sa

            self.schema = f"load_{uuid.uuid4().hex[:10]}"
            self.admin = sa.create_engine(self.args.postgres)
            with self.admin.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
            url = f"{self.args.postgres}?options=-csearch_path%3D{self.schema}"
        migrate(url)
        return url

    def env(self, redis_url: str, db_url: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
        return {**base, "REDIS_URL": redis_url, "DATABASE_URL": db_url,
                "IMAGINE_MED_REDIS_PREFIX": self.prefix,
                "IMAGINE_MED_DATA_DIR": str(self.tmp / "data"),
                "IMAGINE_MED_WATERMARK_KEY": "load-test-watermark-key",
                "IMAGINE_MED_RENDER_PROCESSES": "1",  # 2 workers on 2 cores: in-process
                "SLACK_BOT_TOKEN": "xoxb-load", "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.mock.url}

    def start_processes(self, env: dict[str, str]) -> None:
        me = [sys.executable, "-m", "imagine_med.cli"]
        for i in range(self.args.workers):
            self.spawn(f"worker-{i + 1}", [*me, "worker", "--engines", "phantom", "--warm",
                                           "phantom:xray", "--warm", "phantom:ct",
                                           "--log-format", "json"], env)
        self.spawn("slack", [*me, "slack", "--http", "--host", "127.0.0.1", "--port",
                             str(self.slack_port)], env)

    def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        with open(self.tmp / f"{name}.log", "wb") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(cmd, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, cwd=ROOT)

    async def wait_ready(self) -> None:
        workers = f"rq:workers:{self.queue.keys.rq_queue}"
        for _ in range(1800):
            alive = self.queue.redis.scard(workers)
            try:
                async with self.session.get(  # type: ignore[union-attr]
                        f"http://127.0.0.1:{self.slack_port}/slack/events") as r:
                    listening = r.status < 500
            except aiohttp.ClientConnectionError:
                listening = False
            if alive >= self.args.workers and listening:
                return
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = (self.tmp / f"{name}.log")
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise SystemExit(f"{name} exited:\n{tail}")
            await asyncio.sleep(0.1)
        raise SystemExit("the workers and the adapter did not start within 180 s")

    async def post(self, body: str) -> int:
        async with self.session.post(  # type: ignore[union-attr]
                f"http://127.0.0.1:{self.slack_port}/slack/events", data=body,
                headers={**sign(SECRET, body), **FORM}) as r:
            await r.read()
            return r.status

    async def new_job_of(self, user: str, since: float, post: Any, name: str) -> str | None:
        """Send the request and find the job it created: the user's newest job, created
        after `since` (a user has one request in flight), or None when the adapter answered
        without queueing one (a refusal) or nothing came within 10 s."""
        key = self.queue.keys.user_jobs(f"slack:T1:{user}")
        wall_since = time.time() - (time.monotonic() - since)
        await post
        answered = False
        for _ in range(100):  # the adapter acks first, then submits
            newest = self.queue.redis.zrevrangebyscore(key, "+inf", wall_since - 0.001,
                                                       start=0, num=1)
            if newest:
                return str(newest[0])
            if answered:  # a reply and still no job a moment later: refused
                return None
            answered = name in self.mock.responses
            await asyncio.sleep(0.1)
        return None

    # ---- measurements

    def redis_info(self) -> dict[str, Any]:
        info = self.queue.redis.info("all")
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in info.items()
                 if k.startswith("cmdstat_")}
        return {"calls": calls, "cpu": info["used_cpu_sys"] + info["used_cpu_user"],
                "memory": info["used_memory"], "peak": info["used_memory_peak"]}

    def pg_info(self) -> dict[str, Any]:
        if self.args.sqlite:
            return {}
        import sqlalchemy as sa

        with self.admin.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT relname, n_tup_ins, n_tup_upd, seq_scan, idx_scan FROM "
                "pg_stat_user_tables WHERE schemaname = :s"), {"s": self.schema}).all()
            db = conn.execute(sa.text(
                "SELECT xact_commit, tup_fetched FROM pg_stat_database WHERE datname = "
                "current_database()")).one()
            conns = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )).scalar_one()
        return {"tables": {t[0]: t[1:] for t in tables}, "commits": db[0], "fetched": db[1],
                "connections": conns}

    # ---- the run

    async def run(self) -> dict[str, Any]:
        from imagine_med.queue import JobQueue
        from imagine_med.settings import Settings

        a = self.args
        await self.mock.start()
        redis_url = self.start_redis()
        db_url = self.start_database()
        env = self.env(redis_url, db_url)
        self.queue = JobQueue(redis_url, self.prefix, db_url, settings=Settings(
            redis_url=redis_url, database_url=db_url, redis_prefix=self.prefix,
            data_dir=self.tmp / "data"))
        self.session = aiohttp.ClientSession()
        self.start_processes(env)
        await self.wait_ready()
        cpu0 = {n: cpu_seconds(p.pid) for n, p in self.procs.items()}
        r0, pg0 = self.redis_info(), self.pg_info()
        channels = [f"C{c:03d}" for c in range(a.channels)]
        users = [User(i + 1, channels[i % a.channels], self) for i in range(a.users)]
        self.users = {u.id: u for u in users}
        pg_conns = 0
        t0 = time.monotonic()
        until = t0 + a.duration
        tasks = [asyncio.create_task(u.run(until)) for u in users]
        while time.monotonic() < until:
            await asyncio.sleep(2)
            pg_conns = max(pg_conns, self.pg_info().get("connections", 0))
        load_end = time.monotonic()
        print(f"load phase over after {load_end - t0:.0f} s; draining (at most {a.drain} s)",
              file=sys.stderr)
        _, pending = await asyncio.wait(tasks, timeout=a.drain)
        for t in pending:
            t.cancel()
        end = time.monotonic()
        await asyncio.sleep(3)  # posts in flight land
        cpu1 = {n: cpu_seconds(p.pid) for n, p in self.procs.items()}
        r1, pg1 = self.redis_info(), self.pg_info()
        return self.report(t0, load_end, end, cpu0, cpu1, r0, r1, pg0, pg1, pg_conns)

    def report(self, t0: float, load_end: float, end: float, cpu0: dict[str, float],
               cpu1: dict[str, float], r0: dict[str, Any], r1: dict[str, Any],
               pg0: dict[str, Any], pg1: dict[str, Any], pg_conns: int) -> dict[str, Any]:
        from imagine_med.queue.types import TERMINAL
        from imagine_med.store import session_scope
        from imagine_med.store.models import JobRow

        with session_scope(self.queue.engine) as s:
            rows = [(r.id, r.status, r.kind, r.user_id) for r in s.query(JobRow).all()]
            files = [len((r.result or {}).get("files") or {}) for r in s.query(JobRow).all()
                     if r.status == "done"]
        blob_bytes = sum(f.stat().st_size for f in (self.tmp / "data" / "files").rglob("*")
                         if f.is_file())
        live = {jid: self.queue.status(jid) for jid, *_ in rows}
        status = {jid: (live[jid].status if live[jid] else st) for jid, st, *_ in rows}
        done = [jid for jid, st in status.items() if st == "done"]
        posted = self.mock.posted
        lost = [j for j in done if j not in posted]
        dup = [j for j, times in posted.items() if len(times) > 1]
        unfinished = [j for j, st in status.items() if st not in TERMINAL]
        elapsed = end - t0
        lat_all = [x for v in self.stats.latency.values() for x in v]

        def pct(values: list[float]) -> dict[str, float | int]:
            if len(values) < 2:
                return {"n": len(values)}
            q = statistics.quantiles(values, n=100, method="inclusive")
            return {"n": len(values), "p50": round(q[49], 2), "p95": round(q[94], 2),
                    "p99": round(q[98], 2), "max": round(max(values), 2)}

        per_user = [self.stats.completed.get(u, 0) for u in self.users]
        dr = {k: r1["calls"].get(k, 0) - r0["calls"].get(k, 0) for k in r1["calls"]}
        total_cmds = sum(dr.values())
        out: dict[str, Any] = {
            "setup": {"users": self.args.users, "channels": self.args.channels,
                      "workers": self.args.workers, "load_s": round(load_end - t0, 1),
                      "drained_s": round(end - load_end, 1), "size_px": self.args.size,
                      "think_s": list(self.args.think), "cores": os.cpu_count(),
                      "loadavg_end": os.getloadavg()[0],
                      "database": "sqlite" if self.args.sqlite else "postgresql"},
            "jobs": {"submitted": len(rows), "done": len(done),
                     "failed": sum(st == "failed" for st in status.values()),
                     "unfinished": len(unfinished),
                     "per_min": round(len(done) / (elapsed / 60), 1),
                     "by_kind": {k: sum(1 for jid, _st, kind, _u in rows if kind == k and
                                        status[jid] == "done") for k in
                                 sorted({r[2] for r in rows})}},
            "commands": {"sent": self.stats.commands, "refused": self.stats.refused,
                         "timed_out": self.stats.timeouts},
            "latency_s": {"all": pct(lat_all),
                          **{k: pct(v) for k, v in sorted(self.stats.latency.items())}},
            "fairness": {"max": max(per_user), "min": min(per_user),
                         "max_over_min": round(max(per_user) / min(per_user), 2)
                         if min(per_user) else None,
                         "users_with_none": sum(1 for n in per_user if n == 0)},
            "delivery": {"lost": len(lost), "duplicated": len(dup),
                         "posts": sum(len(t) for t in posted.values())},
            "blobs": {"files_per_job": round(statistics.mean(files), 1) if files else 0,
                      "stored_mb": round(blob_bytes / 2**20, 1),
                      "mb_per_job": round(blob_bytes / 2**20 / max(1, len(done)), 2)},
            "redis": {"commands": total_cmds,
                      "per_s": round(total_cmds / elapsed, 1),
                      "cpu_s": round(r1["cpu"] - r0["cpu"], 2),
                      "memory_mb": round(r1["peak"] / 2**20, 1),
                      "top": dict(sorted(dr.items(), key=lambda kv: -kv[1])[:8])},
            "cpu_s": {n: round(cpu1[n] - cpu0[n], 1) for n in cpu0},
            "chat_api_calls": len(self.mock.calls),
        }
        if pg1:
            tables = {t: [a - b for a, b in zip(v, pg0["tables"].get(t, (0, 0, 0, 0)),
                                                 strict=True)]
                      for t, v in pg1["tables"].items()}
            writes = sum(v[0] + v[1] for v in tables.values())
            out["postgresql"] = {
                "rows_written": writes, "writes_per_s": round(writes / elapsed, 1),
                "commits_db_wide": pg1["commits"] - pg0["commits"],
                "max_connections": pg_conns,
                "tables": {t: dict(zip(("ins", "upd", "seq_scan", "idx_scan"), v,
                                       strict=True)) for t, v in tables.items() if any(v)}}
        return out

    async def close(self) -> None:
        for name, proc in self.procs.items():
            if name != "redis" and proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            if name == "redis":
                continue
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if "redis" in self.procs:
            self.procs["redis"].terminate()
            self.procs["redis"].wait(timeout=10)
        elif self.queue is not None:
            keys = list(self.queue.redis.scan_iter(match=f"*{self.prefix}*", count=5000))
            for i in range(0, len(keys), 500):
                self.queue.redis.delete(*keys[i:i + 500])
        if self.session is not None:
            await self.session.close()
        await self.mock.close()
        if not self.args.sqlite and hasattr(self, "admin"):
            import sqlalchemy as sa

            from imagine_med.store.db import dispose_engine

            if self.queue is not None:
                dispose_engine(self.queue.database_url)
            with self.admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            self.admin.dispose()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"logs and files kept in {self.tmp}", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--channels", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--duration", type=float, default=120, help="load phase, seconds")
    p.add_argument("--drain", type=float, default=300,
                   help="at most this long after the load phase for results to arrive")
    p.add_argument("--ramp", type=float, default=30,
                   help="users start at random within this many seconds")
    p.add_argument("--think", type=float, nargs=2, default=(10.0, 40.0), metavar=("MIN", "MAX"),
                   help="seconds a user takes between seeing a result and the next action")
    p.add_argument("--patience", type=float, default=600,
                   help="a user gives up waiting for an image after this many seconds")
    p.add_argument("--size", type=int, default=512, help="--size of every prompt (pixels)")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    p.add_argument("--keep", action="store_true", help="keep the logs and files")
    p.add_argument("--json", action="store_true", help="print the report as JSON only")
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    try:
        return await bench.run()
    finally:
        await bench.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(main_async(args))
    print(json.dumps(report, indent=2))
    return 0 if report["delivery"]["lost"] == 0 and report["delivery"]["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
