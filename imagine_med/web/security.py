"""Sessions, CSRF and response headers.

Sessions live in one signed cookie (HMAC-SHA256 over its JSON, an issue time inside, HttpOnly,
SameSite=Lax): nothing server-side to clean up, nothing readable by page scripts. Every unsafe
request (POST, PUT, DELETE) must carry the session's CSRF token, as a form field `csrf` or an
`X-CSRF-Token` header; SameSite alone does not cover older browsers or same-site subdomains.
The Content-Security-Policy allows scripts and styles from this origin only (no inline code,
no eval), so injected markup cannot run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

COOKIE = "imagine_med_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """`encode(dict) -> cookie value`, `decode(value) -> dict | None` (None: forged, damaged
    or older than `max_age_s`)."""

    def __init__(self, key: bytes, max_age_s: int) -> None:
        self.key = hashlib.sha256(b"imagine-med web session\0" + key).digest()
        self.max_age_s = max_age_s

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())

    def encode(self, data: dict[str, Any]) -> str:
        body = _b64(json.dumps({**data, "iat": int(time.time())},
                               separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def decode(self, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body, sig = value.split(".")
        if not hmac.compare_digest(sig, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(data, dict) or time.time() - int(data.get("iat", 0)) > self.max_age_s:
            return None
        return data


class Session(dict):
    """The request's session; `changed` makes the response set the cookie again."""

    changed = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.changed = True
        super().__setitem__(key, value)

    def clear(self) -> None:
        self.changed = True
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        self.changed = True
        return super().pop(key, *default)


def session_of(request: web.Request) -> Session:
    return request["session"]


def csrf_token(request: web.Request) -> str:
    s = session_of(request)
    if "csrf" not in s:
        s["csrf"] = secrets.token_urlsafe(24)
    return str(s["csrf"])


def rotate(request: web.Request) -> None:
    """At sign-in and sign-out: a fresh CSRF token, so one seen before cannot be reused."""
    s = session_of(request)
    s.clear()
    s["csrf"] = secrets.token_urlsafe(24)


def make_middlewares(codec: SessionCodec, secure: bool) -> list[Any]:
    @web.middleware
    async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
        session = Session(codec.decode(request.cookies.get(COOKIE)) or {})
        request["session"] = session
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
            _finish(response, session)
            raise
        _finish(response, session)
        return response

    def _finish(response: web.StreamResponse, session: Session) -> None:
        if session.changed and not response.prepared:
            response.set_cookie(COOKIE, codec.encode(dict(session)), max_age=codec.max_age_s,
                                httponly=True, samesite="Lax", secure=secure, path="/")

    @web.middleware
    async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in SAFE_METHODS:
            expected = session_of(request).get("csrf")
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type in (
                    "application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()  # cached: the handler reads the same form
                value = form.get("csrf")
                given = value if isinstance(value, str) else None
            if not expected or not given or not hmac.compare_digest(str(expected), given):
                raise web.HTTPForbidden(
                    text="Refused: this form has no valid CSRF token. Reload the page and "
                         "try again.")
        return await handler(request)

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(HEADERS)
            raise
        if not response.prepared:
            response.headers.update(HEADERS)
        return response

    return [headers, sessions, csrf]
