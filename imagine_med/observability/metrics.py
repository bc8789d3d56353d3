"""Queue metrics in the Prometheus text format, over a tiny HTTP endpoint (no client library).

Everything is read from Redis at scrape time, so any process (the run command, a worker) can
serve the metrics of the whole queue.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imagine_med.queue.api import JobQueue

log = logging.getLogger(__name__)


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (NaN for no data, as Prometheus expects)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def render(jq: JobQueue) -> str:
    """The metrics page."""
    k = jq.keys
    counts = jq.counts()
    pipe = jq.redis.pipeline(transaction=False)
    for name in ("done", "failed", "cancelled"):
        pipe.get(k.stat(name))
    pipe.lrange(k.stat("wait"), 0, -1)
    pipe.lrange(k.stat("render"), 0, -1)
    pipe.scard(f"rq:workers:{k.rq_queue}")
    done, failed, cancelled, waits, renders, workers = pipe.execute()
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value:g}")

    from imagine_med.queue.config import LANES

    metric("imagine_med_queue_length", "gauge", "Jobs waiting to run, by lane.",
           [(f'{{lane="{lane}"}}', counts[f"queued_{lane}"]) for lane in LANES])
    metric("imagine_med_jobs_running", "gauge", "Jobs running now.", [("", counts["running"])])
    metric("imagine_med_jobs_held", "gauge", "Jobs held for moderation.", [("", counts["held"])])
    metric("imagine_med_jobs_total", "counter", "Jobs finished, by outcome.",
           [('{status="done"}', int(done or 0)), ('{status="failed"}', int(failed or 0)),
            ('{status="cancelled"}', int(cancelled or 0))])
    metric("imagine_med_jobs_failed_total", "counter", "Jobs that failed.",
           [("", int(failed or 0))])
    metric("imagine_med_workers", "gauge", "Workers registered on the queue.",
           [("", int(workers or 0))])
    for name, help_, raw in (
        ("imagine_med_queue_wait_seconds", "Time from queued to started (last 1000 jobs).",
         waits),
        ("imagine_med_render_seconds", "Render time of finished jobs (last 1000 jobs).", renders),
    ):
        values = [float(v) for v in raw]
        metric(name, "summary", help_,
               [('{quantile="0.5"}', quantile(values, 0.5)),
                ('{quantile="0.95"}', quantile(values, 0.95))])
        lines.append(f"{name}_sum {sum(values):g}")
        lines.append(f"{name}_count {len(values)}")
    return "\n".join(lines) + "\n"


def serve(jq: JobQueue, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve /metrics on a daemon thread; returns the server (call .shutdown() to stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "try /metrics")
                return
            try:
                body = render(jq).encode()
            except Exception as exc:
                log.exception("metrics failed")
                self.send_error(503, f"metrics unavailable: {exc}")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("metrics: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
