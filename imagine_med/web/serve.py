"""Starting the web app: the core over the real queue (as the bots build it), the accounts
in the same database, and an aiohttp server on 127.0.0.1:8080 unless configured otherwise."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from imagine_med.observability.metrics import Health
from imagine_med.settings import Settings, get_settings
from imagine_med.web.app import WebApp, create_app
from imagine_med.web.config import WebConfig

log = logging.getLogger(__name__)


def build_webapp(settings: Settings | None = None, config: WebConfig | None = None) -> WebApp:
    from imagine_med.bot.runner import build_core
    from imagine_med.web.accounts import AccountStore

    settings = settings or get_settings()
    config = config or WebConfig()
    core = build_core(settings)
    jobs = core.jobs
    moderation = getattr(jobs, "moderation", None)
    accounts = AccountStore(jobs.queue.database_url)  # type: ignore[attr-defined]
    return WebApp(core, moderation, accounts, config, config.secret_key(settings.data_dir))


def add_health(app: web.Application, webapp: WebApp) -> Health:
    """/healthz and /readyz on the web app's own port (observability.metrics.Health: live while
    the event loop beats, ready while Redis, the store and the object store answer)."""
    from imagine_med.observability.metrics import standard_checks

    queue = getattr(webapp.core.jobs, "queue", None)
    health = Health(standard_checks(queue) if queue is not None else {}, stale_s=30.0)

    async def probe(request: web.Request) -> web.Response:
        check = health.live if request.path == "/healthz" else health.ready
        ok, doc = await asyncio.to_thread(check)  # readiness asks Redis and the database
        return web.json_response(doc, status=200 if ok else 503)

    app.router.add_get("/healthz", probe)
    app.router.add_get("/readyz", probe)
    return health


async def serve(webapp: WebApp, host: str, port: int) -> None:
    app = create_app(webapp)
    health = add_health(app, webapp)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("web app on http://%s:%d (and /healthz, /readyz)", host, port)
    probes = None
    health_port = get_settings().health_port
    if health_port and health_port != port:  # the container's probe port, as every process
        from imagine_med.observability.metrics import serve as serve_probes
        from imagine_med.queue.config import get_queue_settings

        probes = serve_probes(getattr(webapp.core.jobs, "queue", None), health_port,
                              host=get_queue_settings().metrics_host, health=health)
    try:
        while True:  # the beat that keeps /healthz live: a blocked loop stops it
            health.beat()
            await asyncio.sleep(1.0)
    finally:
        if probes is not None:
            probes.shutdown()
        await runner.cleanup()


def run_web(host: str | None = None, port: int | None = None) -> None:
    config = WebConfig()
    webapp = build_webapp(config=config)
    asyncio.run(serve(webapp, host or config.host, config.port if port is None else port))
