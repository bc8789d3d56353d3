"""What every bot test drives the mocks with: wait for the bot's calls to reach a mock
(polling, with a generous deadline for a loaded machine), post signed Slack requests, run the
delivery loop until a call appears."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient

from bot_mocks.discord_api import DiscordMock, Req
from bot_mocks.slack_api import Call, SlackMock, sign
from bot_mocks.stack import Stack
from imagine_med.bot.delivery import DeliveryLoop
from imagine_med.bot.slack_app import SlackBot

WAIT_S = 30.0
SECRET = "test-signing-secret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class DiscordHarness:
    def __init__(self, stack: Stack, mock: DiscordMock) -> None:
        self.stack, self.mock = stack, mock

    async def until(self, method: str, prefix: str, n: int = 1) -> list[Req]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = self.mock.of(method, prefix)
            if len(found) >= n:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {method} {prefix}: {self.mock.summary()}")

    async def callback(self, token: str) -> Req:
        """The interaction response (defer, modal, ...) sent for the interaction `token`."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for r in self.mock.of("POST", "/interactions/"):
                if r.path.endswith(f"/{token}/callback"):
                    return r
            await asyncio.sleep(0.02)
        raise AssertionError(f"no callback for {token}: {self.mock.summary()}")


class SlackHarness:
    def __init__(self, stack: Stack, mock: SlackMock, bot: SlackBot, http: TestClient) -> None:
        self.stack, self.mock, self.bot, self.http = stack, mock, bot, http
        self.loop = DeliveryLoop(stack.core, bot)

    async def post(self, body: str, secret: str = SECRET) -> tuple[int, str]:
        r = await self.http.post("/slack/events", data=body, headers={**sign(secret, body),
                                                                      **FORM})
        return r.status, await r.text()

    async def settle(self, method: str, n: int = 1) -> list[Call]:
        """Wait until the handler (which runs after the ack) has made `n` calls of `method`."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if len(self.mock.of(method)) >= n:
                return self.mock.of(method)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {method} call; calls: {self.mock.methods()}")

    async def deliver(self, until: str = "chat.postMessage", n: int = 1) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            await self.loop.run_once(block_ms=50)
            if len(self.mock.of(until)) >= n:
                return
        raise AssertionError(f"delivery made no {until}; calls: {self.mock.methods()}")
