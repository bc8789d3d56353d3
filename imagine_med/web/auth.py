"""Sign-in pages: local accounts, Slack and Discord; sign-out. Attempts are rate-limited in the
same Redis buckets as the bots' commands (per client address), so guessing passwords is slow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from imagine_med.bot.ratelimit import Rate, wait_text
from imagine_med.web.accounts import AccountError
from imagine_med.web.oauth import PROVIDERS, OAuthError, authorize_url, identify
from imagine_med.web.security import rotate, session_of

if TYPE_CHECKING:
    from imagine_med.web.app import WebApp



def _next(url: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    def providers() -> list[str]:
        c = app.config
        out = []
        if c.slack_client_id and c.slack_client_secret:
            out.append("slack")
        if c.discord_client_id and c.discord_client_secret:
            out.append("discord")
        return out

    async def throttled(request: web.Request) -> str | None:
        lim = app.core.limiter
        if lim is None:
            return None
        rate = Rate(app.config.login_per_minute, 60)
        bucket = lim.bucket(f"weblogin:{request.remote or '-'}", rate)
        wait = await app.core._io(lim.take, [bucket])
        return None if wait <= 0 else f"Too many sign-in attempts; try again in {wait_text(wait)}."

    def login_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
        return app.page(request, "login.html", None, status=status, error=error,
                        providers=providers(), signup=app.config.open_signup,
                        next=_next(request.query.get("next")))

    @routes.get("/login")
    async def login_form(request: web.Request) -> web.Response:
        return login_page(request)

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        refused = await throttled(request)
        if refused:
            return login_page(request, refused, 429)
        try:
            account = await app.core._io(app.accounts.verify_local, str(form.get("username", "")),
                                         str(form.get("password", "")))
        except AccountError as exc:
            return login_page(request, exc.message, 401)
        rotate(request)
        session_of(request)["account"] = account.key
        raise web.HTTPFound(_next(str(form.get("next") or "/")))

    @routes.post("/signup")
    async def signup(request: web.Request) -> web.Response:
        if not app.config.open_signup:
            raise web.HTTPForbidden(text="Sign-up is closed here; ask an administrator.")
        form = await request.post()
        refused = await throttled(request)
        if refused:
            return login_page(request, refused, 429)
        try:
            account = await app.core._io(app.accounts.create_local,
                                         str(form.get("username", "")),
                                         str(form.get("password", "")))
        except AccountError as exc:
            return login_page(request, exc.message, 400)
        rotate(request)
        session_of(request)["account"] = account.key
        raise web.HTTPFound("/")

    @routes.post("/logout")
    async def logout(request: web.Request) -> web.Response:
        rotate(request)
        raise web.HTTPFound("/login")

    def client(name: str) -> tuple[str, str, str]:
        if name not in providers():
            raise web.HTTPNotFound(text=f"Signing in with {name} is not configured here.")
        c = app.config
        cid = c.slack_client_id if name == "slack" else c.discord_client_id
        sec = c.slack_client_secret if name == "slack" else c.discord_client_secret
        assert cid is not None and sec is not None
        return cid, sec.get_secret_value(), f"{c.base_url.rstrip('/')}/auth/{name}/callback"

    @routes.get("/auth/{provider}")
    async def oauth_start(request: web.Request) -> web.Response:
        name = request.match_info["provider"]
        cid, sec, redirect = client(name)
        url, state, verifier = authorize_url(PROVIDERS[name], cid, sec, redirect)
        s = session_of(request)
        s["oauth"] = {"provider": name, "state": state, "verifier": verifier}
        raise web.HTTPFound(url)

    @routes.get("/auth/{provider}/callback")
    async def oauth_callback(request: web.Request) -> web.Response:
        name = request.match_info["provider"]
        cid, sec, redirect = client(name)
        pending = session_of(request).pop("oauth", None)
        if (not isinstance(pending, dict) or pending.get("provider") != name
                or request.query.get("state") != pending.get("state")):
            return login_page(request, "That sign-in link is stale or not yours; start again.",
                              400)
        if "error" in request.query:
            return login_page(request, f"{name.capitalize()} did not sign you in.", 400)
        callback = f"{redirect}?{request.query_string}"
        try:
            ident = await identify(PROVIDERS[name], cid, sec, redirect, callback,
                                   pending["state"], pending["verifier"],
                                   app.core.config.moderators)
        except OAuthError as exc:
            return login_page(request, exc.message, 502)
        account = await app.core._io(app.accounts.upsert_external, name, ident.key, ident.name)
        rotate(request)
        s = session_of(request)
        s["account"], s["name"], s["roles"] = account.key, ident.name, list(ident.roles)
        raise web.HTTPFound("/")
