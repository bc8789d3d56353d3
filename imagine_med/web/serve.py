"""Starting the web app: the core over the real queue (as the bots build it), the accounts
in the same database, and an aiohttp server on 127.0.0.1:8080 unless configured otherwise."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

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


async def serve(webapp: WebApp, host: str, port: int) -> None:
    runner = web.AppRunner(create_app(webapp), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("web app on http://%s:%d", host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_web(host: str | None = None, port: int | None = None) -> None:
    config = WebConfig()
    webapp = build_webapp(config=config)
    asyncio.run(serve(webapp, host or config.host, config.port if port is None else port))
