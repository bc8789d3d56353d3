"""The course library on the web: browse collections, search, save a finished job with tags
and a note, edit, remove, and re-post an item (its grid with the chat buttons).

Every action is `BotCore.library.run`, the `/imagine-med-library` command of the chat bots, so
rights (owner, author, instructors) and wording are the same; the web's library is the web's
own (platform "web", one per workspace a person signed in with, or the install's local one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from imagine_med.web import render

if TYPE_CHECKING:
    from imagine_med.web.app import WebApp

FIELDS = {
    "save": ("job", "collection", "tags", "note"),
    "list": ("collection",),
    "search": ("modality", "finding", "tag", "author"),
    "post": ("item",),
    "edit": ("item", "tags", "note"),
    "remove": ("item",),
}


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    core = app.core

    async def show(request: web.Request, action: str, values: dict[str, str]) -> web.Response:
        user = await app.require(request)
        args: dict[str, Any] = {k: values.get(k, "") for k in FIELDS[action]}
        if "item" in args:
            try:
                args["item"] = int(str(args["item"]).strip().lstrip("#"))
            except ValueError:
                args["item"] = 0
        if action == "edit":  # an empty box leaves that part as it is
            args = {k: v for k, v in args.items() if k == "item" or str(v).strip()}
        outcome = await core.guarded(user.who, lambda: core.library.run(user.who, action,
                                                                         **args))
        replies = [render.reply(r, lambda p: app.private_url(user, p))
                   for r in outcome.replies]
        return app.page(request, "library.html", user, replies=replies, values=values,
                        action=action)

    @routes.get("/library")
    async def library(request: web.Request) -> web.Response:
        action = request.query.get("action", "list")
        if action not in ("list", "search"):
            action = "list"
        return await show(request, action, dict(request.query))

    @routes.post("/library")
    async def library_change(request: web.Request) -> web.Response:
        form = await request.post()
        action = str(form.get("action") or "")
        if action not in FIELDS:
            raise web.HTTPBadRequest(text="Unknown library action.")
        return await show(request, action, {k: str(v) for k, v in form.items()
                                            if isinstance(v, str)})
