"""The moderators' dashboard: held prompts and appeals (redacted text, rules, reason) with
approve/reject, strikes and pauses, and the audit log with filters and CSV/JSONL export.

Every action is a `ModerationService` call, the same service and audit chain as chat's
Approve/Reject buttons and `imagine-med mod`. Install moderators (local accounts named in
IMAGINE_MED_WEB_LOCAL_MODERATORS) see everything, like the CLI; a moderator by chat grant sees
their own workspace's/guild's items and the web's."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from imagine_med.web.app import User, WebApp

AUDIT_FILTERS = ("event", "actor", "subject", "case_id")
AUDIT_PAGE = 200


def _day(text: str, end: bool = False) -> datetime | None:
    """'2026-12-07' -> that day's start (or the next day's, for an inclusive end)."""
    try:
        d = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return d + timedelta(days=1) if end else d


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    core = app.core

    def service() -> Any:
        if app.moderation is None:
            raise web.HTTPServiceUnavailable(text="The moderation service is not available.")
        return app.moderation

    def in_scope(user: User, user_key: str | None) -> bool:
        if user.provider == "local" or not user_key:
            return user.provider == "local"
        team = user.key.rsplit(":", 1)[0]  # slack:T
        return user_key.startswith(team + ":") or user_key.startswith("web:")

    def role(svc: Any) -> tuple[str, ...]:
        return tuple(sorted(svc.moderator_roles))[:1] or ("moderator",)

    def filters(request: web.Request) -> dict[str, str]:
        return {k: request.query.get(k, "").strip() for k in (*AUDIT_FILTERS, "since", "until")}

    async def audit(user: User, f: dict[str, str]) -> list[dict[str, Any]]:
        rows = await core._io(service().audit_entries, _day(f["since"]),
                              _day(f["until"], end=True))
        out = []
        for r in rows:
            if not in_scope(user, r.get("subject")) and r.get("actor") != user.key:
                continue
            if all(not f[k] or f[k].lower() in str(r.get(k) or "").lower()
                   for k in AUDIT_FILTERS):
                out.append(r)
        return out

    @routes.get("/mod")
    async def dashboard(request: web.Request) -> web.Response:
        user = await app.require_moderator(request)
        svc = service()
        items = [i for i in await core._io(svc.pending, 100) if in_scope(user, i.user_key)]
        f = filters(request)
        entries = (await audit(user, f))[-AUDIT_PAGE:][::-1]
        lookup = request.query.get("user", "").strip()
        person = None
        if lookup and in_scope(user, lookup):
            person = {"key": lookup, "strikes": await core._io(svc.strikes, lookup),
                      "banned_until": await core._io(svc.banned_until, lookup)}
        check = await core._io(svc.verify_audit)
        return app.page(request, "mod.html", user, items=items, entries=entries, filters=f,
                        person=person, lookup=lookup, check=check,
                        message=request.query.get("done", ""),
                        error=request.query.get("error", ""))

    def back(**query: str) -> web.HTTPFound:
        from urllib.parse import urlencode

        return web.HTTPFound("/mod?" + urlencode(query))

    @routes.post("/mod/decide")
    async def decide(request: web.Request) -> web.Response:
        user = await app.require_moderator(request)
        svc = service()
        form = await request.post()
        item = str(form.get("item") or "")
        approve = form.get("decision") == "approve"
        reason = str(form.get("reason") or "")[:300]
        pending = {i.id: i for i in await core._io(svc.pending, 500)}
        if item not in pending or not in_scope(user, pending[item].user_key):
            raise back(error=f"Nothing to decide under {item!r} (already decided?).")
        try:
            result = await core._io(svc.decide, item, user.key, role(svc), approve, reason)
        except Exception as exc:
            message = getattr(exc, "message", None)
            if not isinstance(message, str):
                raise
            raise back(error=message) from exc
        verdict = "Approved" if result.approved else "Rejected"
        raise back(done=f"{verdict} {item}.")

    @routes.post("/mod/unpause")
    async def unpause(request: web.Request) -> web.Response:
        user = await app.require_moderator(request)
        svc = service()
        form = await request.post()
        key = str(form.get("user") or "").strip()
        if not in_scope(user, key):
            raise back(error="That person is outside your workspace.")
        lifted = await core._io(svc.unban, key, user.key, role(svc),
                                str(form.get("reason") or "")[:300])
        raise back(user=key, done="Pause lifted." if lifted else "No active pause.")

    @routes.get("/mod/audit.{fmt}")
    async def export(request: web.Request) -> web.Response:
        user = await app.require_moderator(request)
        fmt = request.match_info["fmt"]
        if fmt not in ("csv", "jsonl"):
            raise web.HTTPNotFound(text="Export as .csv or .jsonl.")
        rows = await audit(user, filters(request))
        from imagine_med.moderation.service import write_audit

        out = io.StringIO()
        write_audit(rows, fmt, out)
        kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
        return web.Response(text=out.getvalue(), content_type=kind, headers={
            "Content-Disposition": f'attachment; filename="imagine-med-audit.{fmt}"'})
