"""Starting the adapters: build the core over the real queue, run each adapter with its delivery
loop. Used by `imagine-med discord`, `imagine-med slack` and `make run` (`run_configured`)."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imagine_med.bot.config import BotConfig
from imagine_med.bot.core import BotCore
from imagine_med.bot.delivery import DeliveryLoop
from imagine_med.errors import UserError
from imagine_med.settings import Settings, get_settings

if TYPE_CHECKING:
    from imagine_med.queue import JobQueue

log = logging.getLogger(__name__)


class BotSetupError(UserError):
    """A missing token or an unreachable service; `message` says what to set or start."""


@dataclass(frozen=True)
class SlackMode:
    http: bool = False
    host: str = "0.0.0.0"
    port: int = 3000


def bot_config() -> BotConfig:
    """IMAGINE_MED_BOT_* from the environment; a setting that cannot be read is a setup error
    that names it, not a traceback."""
    from pydantic import ValidationError

    try:
        return BotConfig()
    except ValidationError as exc:
        problems = "; ".join(f"IMAGINE_MED_BOT_{'_'.join(map(str, e['loc'])).upper()}: "
                             f"{e['msg'].removeprefix('Value error, ')}" if e["loc"] else
                             e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise BotSetupError(problems) from exc


def assemble_core(queue: JobQueue, moderation: object | None, config: BotConfig) -> BotCore:
    """The core over a queue: jobs (with held-aware limits), preferences and status messages
    in the queue's database, rate limits in the queue's Redis."""
    from imagine_med.bot.prefs import PreferenceStore
    from imagine_med.bot.queue_backend import QueueJobs
    from imagine_med.bot.ratelimit import RateLimiter

    return BotCore(QueueJobs(queue, moderation), PreferenceStore(queue.database_url), config,
                   limiter=RateLimiter(queue.redis, f"{queue.prefix}:bot"))


def build_core(settings: Settings | None = None, config: BotConfig | None = None) -> BotCore:
    from imagine_med.queue import JobQueue, QueueError
    from imagine_med.store import migrate

    settings = settings or get_settings()
    config = config or bot_config()
    try:
        queue = JobQueue(settings=settings)
        queue.redis.ping()
    except QueueError as exc:
        raise BotSetupError(exc.message) from exc
    except Exception as exc:
        raise BotSetupError(f"Cannot reach Redis ({exc}); set REDIS_URL or start Redis.") from exc
    migrate(queue.database_url)
    return assemble_core(queue, _moderation_service(queue, settings), config)


def _moderation_service(queue: object, settings: Settings) -> object | None:
    """The moderation service (records, reviews, strikes) when installed; without it prompts
    are still screened, by the pure screening function."""
    try:
        from imagine_med.moderation.service import ModerationService
    except ImportError:  # pragma: no cover - the service ships with the package
        return None
    return ModerationService(queue=queue, settings=settings)


def configured(settings: Settings) -> list[str]:
    """Adapters whose tokens are set in the environment."""
    out = []
    if settings.discord_token:
        out.append("discord")
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        out.append("slack")
    return out


def check_watermark_key(settings: Settings, adapters: list[str]) -> None:
    """Chat adapters publish images: never with the public development watermark key."""
    refusal = settings.watermark_key_refusal(adapters)
    if refusal is not None:
        raise BotSetupError(refusal)


def check_discord(settings: Settings) -> None:
    if not settings.discord_token:
        raise BotSetupError("Set DISCORD_TOKEN (the bot token from the Discord developer "
                            "portal) to start the Discord adapter.")
    check_watermark_key(settings, ["Discord"])


def check_slack(settings: Settings, mode: SlackMode) -> None:
    if not settings.slack_bot_token:
        raise BotSetupError("Set SLACK_BOT_TOKEN (xoxb-...) to start the Slack adapter.")
    if mode.http and not settings.slack_signing_secret:
        raise BotSetupError("HTTP mode verifies Slack's signatures: set SLACK_SIGNING_SECRET.")
    if not mode.http and not settings.slack_app_token:
        raise BotSetupError("Socket Mode needs SLACK_APP_TOKEN (xapp-...); or use --http with "
                            "SLACK_SIGNING_SECRET.")
    check_watermark_key(settings, ["Slack"])


async def serve_health(core: BotCore, settings: Settings) -> None:
    """/healthz, /readyz and /metrics on IMAGINE_MED_HEALTH_PORT (0: none) while the adapter
    runs; the event loop beats once a second, so a blocked loop reads as not live."""
    if not settings.health_port:
        return
    from imagine_med.observability.metrics import Health, serve, standard_checks

    queue = getattr(core.jobs, "queue", None)
    health = Health(standard_checks(queue) if queue is not None else {}, stale_s=30.0)
    from imagine_med.queue.config import get_queue_settings

    host = get_queue_settings().metrics_host  # 0.0.0.0 in a container, for its probes
    try:
        server = serve(queue, settings.health_port, host=host, health=health)
    except OSError as exc:  # a second adapter in this process: the first one serves it
        log.warning("health port %d not served: %s", settings.health_port, exc.strerror)
        return
    log.info("health on http://%s:%d/healthz", host, settings.health_port)
    try:
        while True:
            health.beat()
            await asyncio.sleep(1.0)
    finally:
        server.shutdown()


def _consumer_name(platform: str) -> str:
    return f"{platform}-{socket.gethostname()}"


async def run_discord(core: BotCore, settings: Settings) -> None:
    from imagine_med.bot.discord_app import DiscordBot

    check_discord(settings)
    assert settings.discord_token is not None
    bot = DiscordBot(core)
    loop = DeliveryLoop(core, bot, consumer=_consumer_name("discord"))

    async def deliver_when_ready() -> None:
        await bot.client.wait_until_ready()
        await loop.run_forever()

    delivery = asyncio.create_task(deliver_when_ready())
    health = asyncio.create_task(serve_health(core, settings))
    try:
        await bot.start(settings.discord_token.get_secret_value())
    finally:
        loop.stop()
        delivery.cancel()
        health.cancel()
        await bot.client.close()


async def run_slack(core: BotCore, settings: Settings, mode: SlackMode = SlackMode()) -> None:
    from imagine_med.bot.slack_app import EVENTS_PATH, SlackBot

    check_slack(settings, mode)
    assert settings.slack_bot_token is not None
    secret = settings.slack_signing_secret.get_secret_value() if (
        settings.slack_signing_secret) else ""
    bot = SlackBot(core, token=settings.slack_bot_token.get_secret_value(),
                   signing_secret=secret, api_url=settings.slack_api_url)
    loop = DeliveryLoop(core, bot, consumer=_consumer_name("slack"))
    delivery = asyncio.create_task(loop.run_forever())
    health = asyncio.create_task(serve_health(core, settings))
    try:
        if mode.http:
            from aiohttp import web

            runner = web.AppRunner(bot.web_app())
            await runner.setup()
            await web.TCPSite(runner, mode.host, mode.port).start()
            log.info("Slack adapter listening on http://%s:%d%s", mode.host, mode.port,
                     EVENTS_PATH)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
        else:
            assert settings.slack_app_token is not None
            await bot.socket_mode(settings.slack_app_token.get_secret_value())
    finally:
        loop.stop()
        delivery.cancel()
        health.cancel()


async def run_configured(settings: Settings | None = None,
                         slack_mode: SlackMode | None = None) -> list[str]:
    """Run every adapter whose tokens are set (for `make run`); returns their names, or an
    empty list at once when none is configured."""
    settings = settings or get_settings()
    names = configured(settings)
    if not names:
        return []
    check_watermark_key(settings, [n.capitalize() for n in names])
    core = build_core(settings)
    mode = slack_mode or SlackMode(http=not settings.slack_app_token)
    tasks = []
    if "discord" in names:
        tasks.append(run_discord(core, settings))
    if "slack" in names:
        tasks.append(run_slack(core, settings, mode))
    await asyncio.gather(*tasks)
    return names
