"""The aiohttp application: who is signed in, the pages, and the shared plumbing.

`WebApp` holds the same `BotCore` the chat adapters use (so a web prompt is parsed, screened,
queued and rendered exactly like a chat one), the moderation service for the dashboard, and
the accounts. Routes live in `auth`, `play`, `viewer` and `mod`; this module builds the app."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from imagine_med.bot.access import granted
from imagine_med.bot.core import BotCore
from imagine_med.bot.jobs import JobView, Who
from imagine_med.queue.types import TERMINAL
from imagine_med.web.accounts import AccountStore
from imagine_med.web.config import WebConfig
from imagine_med.web.security import SessionCodec, csrf_token, make_middlewares, session_of

HERE = Path(__file__).parent
APP_KEY = web.AppKey("imagine_med_web", object)
PRIVATE_FILE_TTL_S = 3600


@dataclass(frozen=True)
class User:
    """The signed-in person: their account key, the `Who` their jobs are filed under, and
    whether they moderate."""

    key: str
    name: str
    provider: str
    who: Who
    moderator: bool


class WebApp:
    def __init__(self, core: BotCore, moderation: Any | None, accounts: AccountStore,
                 config: WebConfig, secret: bytes) -> None:
        self.core = core
        self.moderation = moderation
        self.accounts = accounts
        self.config = config
        self.codec = SessionCodec(secret, config.session_max_age_s)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=jinja2.select_autoescape(default=True), trim_blocks=True,
            lstrip_blocks=True)
        self.env.globals["terminal_states"] = TERMINAL  # _history.html follows the others
        # files made for one person (answer-key overlays): token -> (account, path, expiry)
        self._private: dict[str, tuple[str, Path, float]] = {}

    # ---- identity ----------------------------------------------------------------------

    async def user(self, request: web.Request) -> User | None:
        s = session_of(request)
        key = s.get("account")
        if not isinstance(key, str):
            return None
        provider = key.split(":", 1)[0]
        if provider == "local":
            name = key.split(":", 1)[1]
            moderator = name in self.config.local_moderator_names()
            # an install's moderators manage its one "channel", the web: they are its
            # instructors too (library collections, quizzes)
            who = Who(platform="web", user_id=name, channel_id="web", team_id="local",
                      user_name=name, can_manage_channel=moderator)
            return User(key, name, provider, who, moderator)
        platform, team, user = key.split(":", 2)
        name = str(s.get("name") or user)
        roles = tuple(s.get("roles") or ())
        chat = Who(platform=platform, user_id=user, channel_id="web",
                   team_id=None if team == "-" else team, roles=roles)
        moderator = await granted(self.core.config.moderators, chat, None)
        who = Who(platform="web", user_id=user, channel_id="web", team_id=f"{platform}:{team}",
                  user_name=name, limit_as=(platform, None if team == "-" else team, user))
        return User(key, name, provider, who, moderator)

    async def require(self, request: web.Request) -> User:
        user = await self.user(request)
        if user is None:
            if request.path.startswith("/api/"):
                raise web.HTTPUnauthorized(text="Sign in first.")
            raise web.HTTPFound("/login?" + urlencode({"next": request.path_qs}))
        return user

    async def require_moderator(self, request: web.Request) -> User:
        user = await self.require(request)
        if not user.moderator:
            raise web.HTTPForbidden(
                text="Moderators only: your account has no moderator grant.")
        return user

    def may_see(self, user: User, job: JobView) -> bool:
        """Its owner; an install moderator (local account); a chat-granted moderator for the
        jobs of their own workspace/guild, made in chat or on the web."""
        if job.platform == "web" and job.owned_by(user.who):
            return True
        if not user.moderator:
            return False
        if user.provider == "local":
            return True
        platform, team, _ = user.key.split(":", 2)
        return (job.platform, job.team) in ((platform, team), ("web", f"{platform}:{team}"))

    # ---- pages and files ---------------------------------------------------------------

    def page(self, request: web.Request, template: str, user: User | None,
             status: int = 200, **context: Any) -> web.Response:
        body = self.env.get_template(template).render(
            user=user, csrf=csrf_token(request), path=request.path, **context)
        return web.Response(text=body, content_type="text/html", status=status)

    def private_url(self, user: User, path: Path) -> str:
        now = time.time()
        self._private = {k: v for k, v in self._private.items() if v[2] > now}
        token = secrets.token_urlsafe(16)
        self._private[token] = (user.key, path, now + PRIVATE_FILE_TTL_S)
        return f"/private/{token}"

    def private_file(self, user: User, token: str) -> Path | None:
        entry = self._private.get(token)
        if entry is None or entry[0] != user.key or entry[2] < time.time():
            return None
        return entry[1]


ERROR_TITLES = {401: "Sign in first", 403: "Not allowed", 404: "Not found",
                413: "Too large", 429: "Too many requests"}


def error_pages(webapp: WebApp) -> Any:
    """A refusal on a page (not an API call) as a page of the site, with its words."""

    @web.middleware
    async def pages(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if (exc.status < 400 or request.path.startswith(("/api/", "/static/"))
                    or "text/html" not in request.headers.get("Accept", "")):
                raise
            user = await webapp.user(request)
            return webapp.page(request, "error.html", user, status=exc.status,
                               title=ERROR_TITLES.get(exc.status, "Error"),
                               message=exc.text or exc.reason)

    return pages


def create_app(webapp: WebApp) -> web.Application:
    from imagine_med.web import auth, library, mod, play, quiz, viewer

    middlewares = make_middlewares(webapp.codec, webapp.config.cookie_secure)
    middlewares.insert(2, error_pages(webapp))  # inside sessions, outside the CSRF check
    app = web.Application(middlewares=middlewares, client_max_size=9 * 2**20)
    app[APP_KEY] = webapp
    routes = web.RouteTableDef()
    for module in (auth, play, viewer, mod, library, quiz):
        module.add_routes(routes, webapp)
    app.add_routes(routes)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    return app
