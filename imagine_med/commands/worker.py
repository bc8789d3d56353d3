"""`imagine-med worker`: a long-lived queue worker with warm engines (see imagine_med.queue)."""

from __future__ import annotations

import argparse
import logging
import sys

from imagine_med.commands.exitcodes import Exit, fail


def _pair(text: str) -> tuple[str, str]:
    engine, sep, modality = text.partition(":")
    if not sep or not engine or not modality:
        raise argparse.ArgumentTypeError(
            f"expected ENGINE:MODALITY (e.g. phantom:xray), not {text!r}"
        )
    return engine, modality


def _plugin(text: str) -> tuple[str, str, str]:
    pair, sep, target = text.partition("=")
    if not sep or ":" not in target:
        raise argparse.ArgumentTypeError(
            f"expected ENGINE:MODALITY=module:factory, not {text!r}"
        )
    engine, modality = _pair(pair)
    return engine, modality, target


def _engines(text: str | None, settings: object) -> tuple[str, ...]:
    """The engines a worker serves; () means any."""
    if text is None:
        return ("phantom", "diffusion") if getattr(settings, "diffusion_model", None) else (
            "phantom",)
    if text.strip() == "any":
        return ()
    return tuple(e.strip() for e in text.split(",") if e.strip())


def _routes(engines: tuple[str, ...], modalities: str | None) -> tuple[str, ...]:
    """What the worker claims: engines, or engine:modality pairs when --modalities narrows it."""
    if not modalities:
        return engines
    wanted = tuple(m.strip() for m in modalities.split(",") if m.strip())
    import typing

    from imagine_med.prompt.spec import Modality

    known = typing.get_args(Modality)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise SystemExit(f"error: unknown modality {unknown[0]!r}; modalities are: "
                         f"{', '.join(known)}")
    from imagine_med.queue.api import ENGINES

    return tuple(f"{e}:{m}" for e in (engines or ENGINES) for m in wanted)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run a queue worker (renders jobs; keeps engines warm)")
    p.add_argument("--name", help="worker name (default: host-pid-random)")
    p.add_argument("--warm", type=_pair, action="append", default=None, metavar="ENGINE:MODALITY",
                   help="build this renderer before taking jobs (default: every phantom one)")
    p.add_argument("--no-warm", action="store_true",
                   help="build renderers lazily, on their first job (benchmarks)")
    p.add_argument("--renderer", type=_plugin, action="append", default=[],
                   metavar="ENGINE:MODALITY=module:factory",
                   help="register an extra renderer (plugins, tests)")
    p.add_argument("--engines", default=None, metavar="LIST",
                   help="engines whose jobs this worker takes, e.g. phantom,diffusion, or any "
                        "(default: phantom, plus diffusion when IMAGINE_MED_DIFFUSION_MODEL is "
                        "set)")
    p.add_argument("--modalities", default=None, metavar="LIST",
                   help="take only these modalities of those engines, e.g. xray,ct (default: "
                        "all)")
    p.add_argument("--burst", action="store_true", help="quit when no job is waiting")
    p.add_argument("--max-jobs", type=int, help="quit after this many jobs")
    p.add_argument("--metrics-port", "--health-port", type=int, dest="metrics_port",
                   help="serve /metrics, /healthz and /readyz on this port (default "
                        "IMAGINE_MED_HEALTH_PORT; 0: none)")
    p.add_argument("--log-format", choices=("json", "text"), default="json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.engine import registry
    from imagine_med.observability.logs import setup_logging
    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.connection import connect, public_url
    from imagine_med.queue.types import QueueError
    from imagine_med.queue.worker import ImagineWorker, warm_up
    from imagine_med.settings import get_settings
    from imagine_med.store import migrate

    refusal = get_settings().watermark_key_refusal()  # its images are published in production
    if refusal is not None:
        return fail(f"{refusal}", Exit.USAGE)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO, args.log_format == "json")
    log = logging.getLogger("imagine_med.worker")
    for engine, modality, target in args.renderer:
        registry.register(engine, modality, target)
    jq = None
    try:
        jq = JobQueue()
        jq.redis.ping()
    except QueueError as exc:
        return fail(exc.message, Exit.USAGE)
    except Exception as exc:  # a malformed URL fails in JobQueue() itself
        where = f" at {public_url(jq.redis_url)}" if jq is not None else ""
        return fail(f"cannot reach Redis{where}: {exc}", Exit.USAGE)
    try:
        migrate(jq.database_url)
    except Exception as exc:
        print(f"error: cannot open the store at {public_url(jq.database_url)}: {exc}",
              file=sys.stderr)
        return 2
    days = jq.settings.blob_retention_days
    if days and hasattr(jq.blobs, "apply_retention"):  # the object store expires them too
        try:
            jq.blobs.apply_retention(days)
        except Exception as exc:  # e.g. no s3:PutLifecycleConfiguration: the sweep still runs
            log.warning("could not set the bucket's lifecycle rule: %s", exc)
    recovered = jq.recover()
    if recovered:
        log.warning("re-queued %d job(s) the store knew but Redis had lost", len(recovered))
    port = args.metrics_port if args.metrics_port is not None else jq.settings.health_port
    health = None
    if port:
        from imagine_med.observability.metrics import Health, serve, standard_checks

        # live while the main loop beats: between jobs, and at least once per job timeout
        health = Health(standard_checks(jq), stale_s=jq.conf.job_timeout_s + 60)
        health.ready_flag = False  # not ready until the renderers are warm
        serve(jq, port, host=jq.conf.metrics_host, health=health)
    pairs = [] if args.no_warm else args.warm if args.warm is not None else [
        p for p in registry.available() if p[0] == "phantom"
    ]
    try:
        timings = warm_up(pairs)
    except Exception as exc:
        return fail(f"could not load a renderer: {getattr(exc, 'message', exc)}", Exit.FAILED)
    worker = ImagineWorker(jq, connect(jq.redis_url, decode=False), name=args.name,
                           engines=_routes(_engines(args.engines, jq.settings),
                                           args.modalities), health=health)
    if health is not None:
        health.ready_flag = True
    log.info("worker %s ready", worker.name,
             extra={"prefix": jq.prefix, "routes": list(worker.engines) or "any",
                    "warm_s": {k: round(v, 3) for k, v in timings.items()}})
    worker.work(burst=args.burst, max_jobs=args.max_jobs, logging_level="WARNING")
    return 0
