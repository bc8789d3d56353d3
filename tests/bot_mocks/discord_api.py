"""A local mock of Discord's REST API (v10) and interaction payloads shaped as Discord documents
them, so tests drive real discord.py objects through discord.py's own HTTP and parsing code.

Point discord.py at it with `discord.http.Route.BASE = mock.base`. Every request is recorded
(method, path, JSON payload or multipart payload_json + file names and sizes, auth header).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

APP_ID = "1200000000000000001"
BOT_ID = "1200000000000000002"
GUILD_ID = "1300000000000000001"
CHANNEL_ID = "1300000000000000002"
GUILD_B = "1310000000000000001"  # another server the bot is on
CHANNEL_B = "1310000000000000002"
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"
MANAGE_MESSAGES = 1 << 13
USE_APP_COMMANDS = 1 << 31


@dataclass
class Req:
    method: str
    path: str
    payload: dict[str, Any]
    files: list[tuple[str, int]]
    auth: str | None
    query: dict[str, str]
    data: list[bytes] = field(default_factory=list)  # the uploaded files' bytes


def _json(data: Any, status: int = 200) -> web.Response:
    """Discord answers `application/json` exactly (discord.py checks the header verbatim)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})


def _user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot}


@dataclass
class DiscordMock:
    requests: list[Req] = field(default_factory=list)
    server: TestServer | None = None
    cdn: dict[str, bytes] = field(default_factory=dict)  # attachments served at /cdn/<name>
    fail: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # "METHOD /path" ->
    # (HTTP status, Discord error code, message), as Discord answers a refused request
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1400000000000000001))

    @property
    def base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/v10"))

    def of(self, method: str, prefix: str) -> list[Req]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def summary(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    async def start(self) -> DiscordMock:
        app = web.Application(client_max_size=64 * 2**20)  # uploads are megabytes
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_get("/cdn/{name}", self._cdn)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def cdn_url(self, name: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/cdn/{name}"))

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        return web.Response(status=404) if data is None else web.Response(body=data)

    async def _read(self, request: web.Request
                    ) -> tuple[dict[str, Any], list[tuple[str, int]], list[bytes]]:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            payload: dict[str, Any] = {}
            files, blobs = [], []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    payload = json.loads(data)
                else:
                    files.append((part.filename or "", len(data)))  # type: ignore[union-attr]
                    blobs.append(bytes(data))
            return payload, files, blobs
        raw = await request.read()
        return (json.loads(raw) if raw else {}), [], []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        payload, files, blobs = await self._read(request)
        self.requests.append(Req(request.method, path, payload, files,
                                 request.headers.get("Authorization"), dict(request.query),
                                 blobs))
        parts = path.strip("/").split("/")
        m = request.method
        if f"{m} {path}" in self.fail:
            status, code, message = self.fail[f"{m} {path}"]
            return _json({"message": message, "code": code}, status=status)
        if m == "GET" and path == "/users/@me":
            return _json(_user(BOT_ID, "imagine-med", bot=True))
        if m == "GET" and path == "/oauth2/applications/@me":
            return _json({
                "id": APP_ID, "name": "imagine-med", "icon": None, "description": "",
                "rpc_origins": [], "bot_public": True, "bot_require_code_grant": False,
                "owner": _user("1", "owner"), "summary": "", "verify_key": "00",
                "team": None, "flags": 0, "interactions_endpoint_url": None,
            })
        if m == "POST" and parts[0] == "interactions":
            return _json({
                "interaction": {"id": parts[1], "type": 2,
                                "response_message_loading": payload.get("type") == 5,
                                "response_message_ephemeral": bool(
                                    (payload.get("data") or {}).get("flags", 0) & 64)},
                "resource": {"type": payload.get("type")},
            })
        if m == "DELETE":
            return web.Response(status=204)
        if m == "PUT" and parts[0] == "applications":
            return _json([])
        if m == "POST" and path == "/users/@me/channels":
            recipient = str(payload["recipient_id"])  # discord.py sends it as a number
            return _json({"id": "1500" + recipient[-10:], "type": 1,
                          "recipients": [_user(recipient, "u")]})
        if m == "GET" and parts[0] == "users":
            return _json(_user(parts[1], f"user-{parts[1][-4:]}"))
        if parts[0] == "webhooks" and m in ("POST", "PATCH", "GET"):
            mid = parts[4] if len(parts) > 4 else str(next(self._ids))
            if mid == "@original":
                mid = "1400000000000000000"
            return _json(self.message(mid, CHANNEL_ID, payload, files, APP_ID))
        if parts[0] == "channels" and parts[2] == "messages" and m in ("POST", "PATCH"):
            mid = parts[3] if len(parts) > 3 else str(next(self._ids))
            return _json(self.message(mid, parts[1], payload, files))
        return _json({"message": f"mock: no route {m} {path}", "code": 0},
                                 status=404)

    def message(self, mid: str, channel: str, payload: dict[str, Any],
                files: list[tuple[str, int]], app_id: str | None = None) -> dict[str, Any]:
        return {
            "id": mid, "channel_id": channel, "type": 0 if app_id is None else 20,
            "content": payload.get("content") or "", "author": _user(BOT_ID, "imagine-med", True),
            "attachments": [
                {"id": str(900 + i), "filename": name, "size": size,
                 "url": f"https://cdn.mock/{name}", "proxy_url": f"https://cdn.mock/{name}"}
                for i, (name, size) in enumerate(files)
            ],
            "embeds": payload.get("embeds") or [], "mentions": [], "mention_roles": [],
            "pinned": False, "mention_everyone": False, "tts": False, "timestamp": TIMESTAMP,
            "edited_timestamp": None, "flags": payload.get("flags", 0),
            "components": payload.get("components") or [],
            **({"application_id": app_id, "webhook_id": app_id} if app_id else {}),
        }


@dataclass(frozen=True)
class Place:
    """Where an interaction happens and the member's roles there."""

    guild: str = GUILD_ID
    channel: str = CHANNEL_ID
    roles: tuple[str, ...] = ()


HERE = Place()


def _base(kind: int, token: str, user: str, perms: int, iid: int,
          place: Place = HERE) -> dict[str, Any]:
    return {
        "id": str(iid), "application_id": APP_ID, "type": kind, "token": token, "version": 1,
        "guild_id": place.guild,
        "channel_id": place.channel,
        "channel": {"id": place.channel, "type": 0, "guild_id": place.guild, "name": "teaching",
                    "position": 0, "permission_overwrites": [], "nsfw": False,
                    "parent_id": None, "flags": 0},
        "member": {"user": _user(user, f"user-{user[-4:]}"), "roles": list(place.roles),
                   "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0,
                   "pending": False, "permissions": str(perms | USE_APP_COMMANDS)},
        "app_permissions": str((1 << 50) - 1), "locale": "en-US", "guild_locale": "en-US",
        "entitlements": [], "authorizing_integration_owners": {"0": place.guild}, "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }


_iids = itertools.count(1600000000000000001)


def command(name: str, options: dict[str, Any] | None = None, *, user: str = "1700000000000000001",
            token: str = "tok-cmd", perms: int = 0, kind: int = 2,
            focused: str | None = None,
            attachments: dict[str, dict[str, Any]] | None = None,
            place: Place = HERE) -> dict[str, Any]:
    """An APPLICATION_COMMAND (type 2) or, with kind=4 and `focused`, an autocomplete.
    `attachments` maps an option name to an attachment object (type 11 option, resolved)."""
    opts = []
    for key, value in (options or {}).items():
        t = (5 if isinstance(value, bool) else 4 if isinstance(value, int)
             else 10 if isinstance(value, float) else 3)
        opt: dict[str, Any] = {"name": key, "type": t, "value": value}
        if key == focused:
            opt["focused"] = True
        opts.append(opt)
    resolved: dict[str, Any] = {}
    for key, att in (attachments or {}).items():
        opts.append({"name": key, "type": 11, "value": att["id"]})
        resolved.setdefault("attachments", {})[att["id"]] = att
    data = _base(kind, token, user, perms, next(_iids), place)
    data["data"] = {"id": "1800000000000000001", "name": name, "type": 1, "options": opts,
                    **({"resolved": resolved} if resolved else {})}
    return data


def attachment(aid: str, filename: str, url: str, size: int) -> dict[str, Any]:
    return {"id": aid, "filename": filename, "size": size, "url": url, "proxy_url": url,
            "content_type": "image/png"}


def component(custom_id: str, *, user: str = "1700000000000000002", token: str = "tok-btn",
              perms: int = 0, message_id: str = "1400000000000000000",
              place: Place = HERE) -> dict[str, Any]:
    """A MESSAGE_COMPONENT (type 3) interaction: a button click on one of our messages."""
    data = _base(3, token, user, perms, next(_iids), place)
    data["data"] = {"custom_id": custom_id, "component_type": 2}
    data["message"] = {
        "id": message_id, "channel_id": place.channel, "type": 20, "content": "grid",
        "author": _user(BOT_ID, "imagine-med", True), "attachments": [], "embeds": [],
        "mentions": [], "mention_roles": [], "pinned": False, "mention_everyone": False,
        "tts": False, "timestamp": TIMESTAMP, "edited_timestamp": None, "flags": 0,
        "components": [{"type": 1, "components": [
            {"type": 2, "style": 2, "label": "U1", "custom_id": custom_id}]}],
        "application_id": APP_ID, "webhook_id": APP_ID,
    }
    return data


def modal_submit(custom_id: str, values: dict[str, str], *, user: str = "1700000000000000002",
                 token: str = "tok-modal", place: Place = HERE) -> dict[str, Any]:
    """A MODAL_SUBMIT (type 5) interaction."""
    data = _base(5, token, user, 0, next(_iids), place)
    data["data"] = {"custom_id": custom_id, "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
        for k, v in values.items()
    ]}
    return data
