"""A local mock of Slack's Web API (an aiohttp server recording every call).

It answers the methods the bot uses with the fields Slack documents, hands out upload URLs that
point back at itself (so files_upload_v2's three steps all land here), and accepts posts to
response URLs. Tests read `calls` to assert what the bot sent, in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    body: bytes = b""
    answer: dict[str, Any] = field(default_factory=dict)  # what the mock answered


@dataclass
class SlackMock:
    calls: list[Call] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error code
    members: dict[str, list[str]] = field(default_factory=dict)  # conversations.members
    gate: asyncio.Event | None = None  # when set up, chat.postMessage waits for it
    # Socket Mode: envelopes to push to the connected app, and the acks it sent back
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (name, bytes)
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    acks: list[dict[str, Any]] = field(default_factory=list)
    server: TestServer | None = None
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def response_url(self, name: str = "r1") -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/response/{name}"))

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def start(self) -> SlackMock:
        app = web.Application(client_max_size=64 * 2**20)  # uploads are megabytes
        app.router.add_route("*", "/api/{method}", self._api)  # most POST; some GET
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/files-pri/{file_id}", self._download)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        out: dict[str, Any] = dict(request.query)  # slack_sdk sends some methods' args here
        if ctype.startswith("application/json"):
            out.update(json.loads(raw or b"{}"))
        else:
            parsed = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
            out.update({k: v[0] for k, v in parsed.items()})
        for key in ("blocks", "files", "view"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
        return out

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        call = Call(method, params, token)
        self.calls.append(call)
        if method == "chat.postMessage" and self.gate is not None:
            await self.gate.wait()
        if method in self.fail:
            return web.json_response({"ok": False, "error": self.fail[method]})
        call.answer = {"ok": True, **self._answer(method, params)}
        return web.json_response(call.answer)

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        if method == "auth.test":
            return {"url": "https://mock.slack.com/", "team": "Mock", "user": "imagine-med",
                    "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"}
        if method in ("chat.postMessage", "chat.update"):
            return {"channel": p.get("channel"), "ts": p.get("ts") or ts,
                    "message": {"text": p.get("text"), "blocks": p.get("blocks")}}
        if method == "chat.postEphemeral":
            return {"message_ts": ts}
        if method == "chat.delete":
            return {"channel": p.get("channel"), "ts": p.get("ts")}
        if method == "conversations.open":
            return {"channel": {"id": "D" + str(p.get("users"))}}
        if method == "files.getUploadURLExternal":
            fid = f"F{next(self._ts)}"
            assert self.server is not None
            return {"upload_url": str(self.server.make_url(f"/upload/{fid}")), "file_id": fid}
        if method == "files.completeUploadExternal":
            files = p.get("files") or []
            return {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "apps.connections.open":
            assert self.server is not None
            return {"url": str(self.server.make_url("/socket")).replace("http", "ws", 1)}
        if method == "files.info":
            name, data = self.files[p["file"]]
            assert self.server is not None
            return {"file": {"id": p["file"], "name": name, "size": len(data),
                             "url_private_download": str(self.server.make_url(
                                 f"/files-pri/{p['file']}"))}}
        if method == "files.list":  # newest first, as Slack lists them
            return {"files": [{"id": fid, "name": name, "size": len(data)}
                              for fid, (name, data) in reversed(self.files.items())]}
        if method == "files.list":  # newest first, as Slack lists them
            return {"files": [{"id": fid, "name": name, "size": len(data)}
                              for fid, (name, data) in reversed(self.files.items())]}
        if method == "views.open":
            return {"view": {"id": "V1", **(p.get("view") or {})}}
        if method == "conversations.members":  # two pages, as Slack paginates
            everyone = self.members.get(str(p.get("channel")), [])
            half = len(everyone) // 2
            if p.get("cursor") == "page-2":
                return {"members": everyone[half:], "response_metadata": {"next_cursor": ""}}
            return {"members": everyone[:half],
                    "response_metadata": {"next_cursor": "page-2" if everyone else ""}}
        return {}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode server side: hello, then envelopes; the app acks each one."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A1"}})

        async def pump() -> None:
            while True:
                await ws.send_json(await self.outbox.get())

        pumping = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
        finally:
            pumping.cancel()
        return ws

    async def _download(self, request: web.Request) -> web.Response:
        """A private file: only with the bot token, as Slack requires."""
        self.calls.append(Call("download", dict(request.match_info),
                               request.headers.get("Authorization", "").removeprefix("Bearer ")))
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.Response(status=403)
        return web.Response(body=self.files[request.match_info["file_id"]][1])

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"],
                                          "size": len(body)}, None, body))
        return web.Response(text="OK")

    async def _response(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", json.loads(await request.read() or b"{}"), None))
        return web.Response(text="ok")


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a request signed as Slack signs it (v0 HMAC-SHA256 of `v0:ts:body`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_body(command: str, text: str, *, user: str = "U1", channel: str = "C1",
               response_url: str = "", trigger_id: str = "trig-1", team: str = "T1") -> str:
    """A slash-command request body as Slack sends it (form-encoded)."""
    return urllib.parse.urlencode({
        "token": "legacy", "team_id": team, "team_domain": "mock", "channel_id": channel,
        "channel_name": "teaching", "user_id": user, "user_name": f"user-{user}",
        "command": command, "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id,
    })


def block_actions_body(custom_id: str, *, user: str = "U2", channel: str = "C1",
                       message_ts: str = "1700000000.000001",
                       response_url: str = "") -> str:
    """A block_actions interaction (a button click) as Slack sends it: payload=<json>."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": f"user-{user}", "team_id": "T1"},
        "api_app_id": "A1", "token": "legacy",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False},
        "trigger_id": "trig-2", "team": {"id": "T1", "domain": "mock"},
        "channel": {"id": channel, "name": "teaching"},
        "message": {"type": "message", "ts": message_ts, "text": "grid"},
        "response_url": response_url,
        "actions": [{"action_id": custom_id, "block_id": "im-row-0", "value": custom_id,
                     "type": "button", "text": {"type": "plain_text", "text": "U1"},
                     "action_ts": str(time.time())}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def view_submission_body(callback_id: str, values: dict[str, str], *, user: str = "U2",
                         channel: str = "C1") -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "mock"},
        "user": {"id": user, "username": f"user-{user}", "team_id": "T1"},
        "api_app_id": "A1", "token": "legacy", "trigger_id": "trig-3",
        "view": {
            "id": "V1", "type": "modal", "callback_id": callback_id,
            "private_metadata": json.dumps({"channel": channel}),
            "state": {"values": {k: {k: {"type": "plain_text_input", "value": v}}
                                 for k, v in values.items()}},
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
