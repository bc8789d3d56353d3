"""Queue metrics (prometheus-client) and health probes, served over one small HTTP endpoint.

Every number is read from Redis at scrape time (a custom collector), so any process (the run
command, a worker, a bot) serves the metrics of the whole queue, and a scrape of any replica
gives the same answer. Histograms of wait and render time per engine are kept in Redis by the
queue's Lua scripts (`observe` in imagine_med.queue.scripts), as cumulative counters that
survive a process restart.

Paths: /metrics (Prometheus text), /healthz (liveness: the process answers and its main loop is
not stuck), /readyz (readiness: Redis, the store and the blob store answer; 503 naming the
first that does not).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

if TYPE_CHECKING:
    from imagine_med.queue.api import JobQueue

log = logging.getLogger(__name__)

# the queue scripts' histogram bounds (scripts.py BOUNDS), in seconds
BOUNDS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
HIST_HELP = {
    "wait": ("imagine_med_queue_wait_seconds", "Time from queued to started, by engine."),
    "render": ("imagine_med_render_seconds", "Render time of finished jobs, by engine."),
}


def queue_depth_by_engine(jq: JobQueue) -> dict[str, int]:
    """Jobs waiting per engine: every pending list, then each job's engine (two pipelines)."""
    from imagine_med.queue.config import LANES

    k = jq.keys
    r = jq.redis
    pipe = r.pipeline(transaction=False)
    for lane in LANES:
        pipe.lrange(k.ring(lane), 0, -1)
    lists = [(lane, user) for lane, users in zip(LANES, pipe.execute(), strict=True)
             for user in users]
    pipe = r.pipeline(transaction=False)
    for lane, user in lists:
        pipe.lrange(k.pending(lane, user), 0, -1)
    ids = [jid for chunk in pipe.execute() for jid in chunk] if lists else []
    pipe = r.pipeline(transaction=False)
    for jid in ids:
        pipe.hget(k.job(jid), "engine")
    depth: dict[str, int] = {}
    for engine in pipe.execute() if ids else []:
        depth[engine or "unknown"] = depth.get(engine or "unknown", 0) + 1
    return depth


class QueueCollector:
    """Reads the queue's live state from Redis on every scrape."""

    def __init__(self, jq: JobQueue) -> None:
        self.jq = jq

    def collect(self) -> Iterator[Metric]:
        from imagine_med.queue.api import ENGINES
        from imagine_med.queue.config import LANES

        jq, k = self.jq, self.jq.keys
        counts = jq.counts()
        pipe = jq.redis.pipeline(transaction=False)
        for name in ("done", "failed", "cancelled"):
            pipe.get(k.stat(name))
        pipe.scard(f"rq:workers:{k.rq_queue}")
        pipe.hgetall(k.stat("unrouted"))
        pipe.smembers(k.stat("hists"))
        done, failed, cancelled, workers, unrouted, hists = pipe.execute()

        lane = GaugeMetricFamily("imagine_med_queue_length", "Jobs waiting to run, by lane.",
                                 labels=["lane"])
        for name in LANES:
            lane.add_metric([name], counts[f"queued_{name}"])
        yield lane
        depth = queue_depth_by_engine(jq)
        by_engine = GaugeMetricFamily("imagine_med_queue_depth",
                                      "Jobs waiting to run, by engine.", labels=["engine"])
        for engine in sorted(set(ENGINES) | set(depth)):
            by_engine.add_metric([engine], depth.get(engine, 0))
        yield by_engine
        yield GaugeMetricFamily("imagine_med_jobs_running", "Jobs running now.",
                                value=counts["running"])
        yield GaugeMetricFamily("imagine_med_jobs_held", "Jobs held for moderation.",
                                value=counts["held"])
        total = CounterMetricFamily("imagine_med_jobs", "Jobs finished, by outcome.",
                                    labels=["status"])
        for status, value in (("done", done), ("failed", failed), ("cancelled", cancelled)):
            total.add_metric([status], int(value or 0))
        yield total
        yield CounterMetricFamily("imagine_med_jobs_failed", "Jobs that failed.",
                                  value=int(failed or 0))
        refused = CounterMetricFamily(
            "imagine_med_jobs_unrouted",
            "Submissions refused because no live worker serves their engine (and modality).",
            labels=["engine"])
        for engine in sorted(set(ENGINES) | set(unrouted)):
            refused.add_metric([engine], int(unrouted.get(engine, 0)))
        yield refused
        yield GaugeMetricFamily("imagine_med_workers", "Workers registered on the queue.",
                                value=int(workers or 0))
        yield from self._histograms(sorted(hists))

    def _histograms(self, series: list[str]) -> Iterator[Metric]:
        pipe = self.jq.redis.pipeline(transaction=False)
        for s in series:
            pipe.hgetall(self.jq.keys.stat(f"hist:{s}"))
        raw = dict(zip(series, pipe.execute(), strict=True)) if series else {}
        for kind, (name, help_) in HIST_HELP.items():
            family = HistogramMetricFamily(name, help_, labels=["engine"])
            for s, h in raw.items():
                what, _, engine = s.partition(":")
                if what != kind:
                    continue
                running, buckets = 0, []
                for bound in BOUNDS:
                    running += int(h.get(_lua_number(bound), 0))
                    buckets.append((f"{bound:g}", running))
                buckets.append(("+Inf", int(h.get("count", 0))))
                family.add_metric([engine], buckets, float(h.get("sum", 0.0)))
            yield family


def _lua_number(bound: float) -> str:
    """How Lua's tostring writes a bound (1 -> '1', 2.5 -> '2.5')."""
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


def render(jq: JobQueue) -> str:
    """The metrics page, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(jq))  # type: ignore[arg-type]
    return generate_latest(registry).decode()


class Health:
    """A process's liveness and readiness.

    `beat()` from the main loop keeps it live; with `stale_s` set, no beat for that long means
    stuck (a worker blocked forever in a render). `checks` name what readiness needs."""

    def __init__(self, checks: dict[str, Callable[[], Any]] | None = None,
                 stale_s: float | None = None) -> None:
        self.checks = dict(checks or {})
        self.stale_s = stale_s
        self.started = time.monotonic()
        self.last_beat = time.monotonic()
        self.ready_flag = True

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def live(self) -> tuple[bool, dict[str, Any]]:
        idle = time.monotonic() - self.last_beat
        ok = self.stale_s is None or idle < self.stale_s
        return ok, {"status": "ok" if ok else "stuck", "since_beat_s": round(idle, 3),
                    "uptime_s": round(time.monotonic() - self.started, 3)}

    def ready(self) -> tuple[bool, dict[str, Any]]:
        results: dict[str, str] = {}
        ok = self.ready_flag
        if not self.ready_flag:
            results["process"] = "starting"
        for name, check in self.checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:
                ok = False
                results[name] = f"{type(exc).__name__}: {exc}"[:300]
        return ok, {"status": "ready" if ok else "not ready", "checks": results}


def standard_checks(jq: JobQueue) -> dict[str, Callable[[], Any]]:
    """What every process needs to do its work: Redis, the store, the blob store."""
    import sqlalchemy as sa

    def store() -> None:
        with jq.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    checks: dict[str, Callable[[], Any]] = {"redis": jq.redis.ping, "store": store}
    blob_check = getattr(jq.blobs, "check", None)
    if blob_check is not None:
        checks["blobs"] = blob_check
    return checks


def serve(jq: JobQueue | None, port: int, host: str = "127.0.0.1",
          health: Health | None = None) -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /readyz on a daemon thread; returns the server (call
    .shutdown() to stop). `jq` None: health only."""
    if health is None:
        health = Health(standard_checks(jq) if jq is not None else {})

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in ("/healthz", "/readyz"):
                ok, doc = health.live() if path == "/healthz" else health.ready()
                self._send(200 if ok else 503, json.dumps(doc).encode(), "application/json")
                return
            if path not in ("/metrics", "/") or jq is None:
                self.send_error(404, "try /metrics, /healthz or /readyz")
                return
            try:
                body = render(jq).encode()
            except Exception as exc:
                log.exception("metrics failed")
                self.send_error(503, f"metrics unavailable: {exc}")
                return
            self._send(200, body, CONTENT_TYPE_LATEST)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("metrics: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
