"""The playground: a prompt with a live "interpreted as / ignored" preview, the job's
progress as server-sent events, the grid with the chat buttons, and the history.

Every action is a `BotCore` call, as from Discord or Slack: `imagine`, `press` (a button's
custom id, the same ids as in chat), `submit_form` (Refine). The page renders the neutral
`Outcome` it gets back (`render`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from imagine_med.bot.casefiles import alt_text, case_doc
from imagine_med.bot.core import OPTION_FLAGS, Outcome
from imagine_med.bot.jobs import JobRefused, JobView
from imagine_med.bot.prefs import MODALITIES, SIZES
from imagine_med.prompt import PromptError
from imagine_med.queue.types import TERMINAL
from imagine_med.web import render

if TYPE_CHECKING:
    from imagine_med.web.app import User, WebApp

MAX_PROMPT = 4000
# Flags offered as form controls besides the typed options (appended to the prompt as typed
# flags, so the parser reads them exactly as if typed).
EXTRA_FLAGS = ("seed", "size")
SKETCH_CANVAS = 256  # the painting canvas's pixels; the render is resampled to the chosen size
MAX_SKETCH_BYTES = 8 * 2**20  # engine.phantom.sketch.parse.MAX_BYTES


def compose_prompt(prompt: str, values: dict[str, Any]) -> tuple[str, dict[str, str | None]]:
    """The prompt with the form's extra flags appended, and the typed options."""
    options = {k: str(values.get(k) or "").strip() or None for k in OPTION_FLAGS}
    extra = ""
    for flag in EXTRA_FLAGS:
        value = str(values.get(flag) or "").strip()
        if value:
            if not value.isdigit():
                raise PromptError(f"--{flag} takes a whole number, not {value!r}.")
            extra += f" --{flag} {value}"
    return prompt.strip()[:MAX_PROMPT] + extra, options


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    core = app.core

    def job_url(job_id: str, name: str) -> str:
        return f"/jobs/{job_id}/files/{name}"

    def file_url(user: User) -> Any:
        def url(path: Path) -> str:
            return app.private_url(user, Path(path))
        return url

    def job_json(user: User, job: JobView) -> dict[str, Any]:
        if job.state == "done" and job.kind not in ("dicom", "stack"):
            reply = core.result_reply(job)
        elif job.active:
            reply = core.status_reply(job)
        elif job.state == "done":
            reply = core.dicom_ready(job) if job.kind == "dicom" else None
        else:
            reply = core.ended_reply(job)
        out: dict[str, Any] = {
            "id": job.id, "kind": job.kind, "state": job.state,
            "fraction": round(job.fraction, 3), "stage": job.stage, "position": job.position,
            "interpreted": job.spec.describe() if job.spec else "",
            "prompt": job.prompt if job.owned_by(user.who) else "",
            "parent_id": job.parent_id, "parent_index": job.parent_index,
            "created_at": job.created_at,
        }
        if reply is not None:
            names = {path: name for name, path in job.files.items()}

            def url(path: Path) -> str:  # the job's own files by name; anything else private
                name = names.get(Path(path))
                return job_url(job.id, name) if name else app.private_url(user, Path(path))

            out["reply"] = render.reply(reply, url)
        if job.state == "done":
            doc = case_doc(job.files)
            out["alt"] = alt_text(doc, job.spec)
            out["variants"] = sorted(int(n[8:-4]) for n in job.files
                                     if n.startswith("variant-") and n.endswith(".png")
                                     and n[8:-4].isdigit())
            out["modality"] = job.spec.modality if job.spec else None
        return out

    def outcome_json(user: User, outcome: Outcome) -> dict[str, Any]:
        return {
            "replies": [render.reply(r, file_url(user)) for r in outcome.replies],
            "form": render.form(outcome.form) if outcome.form else None,
            "jobs": [job_json(user, j) for j in outcome.jobs],
            "case": outcome.case_id,
        }

    async def body(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            if not isinstance(data, dict):
                raise web.HTTPBadRequest(text="Expected a JSON object.")
            return data
        return dict(await request.post())

    @routes.get("/")
    async def playground(request: web.Request) -> web.Response:
        user = await app.require(request)
        history = await core._io(core.jobs.recent_jobs, user.who, 20)
        return app.page(request, "play.html", user, modalities=MODALITIES, sizes=SIZES,
                        history=history)

    @routes.get("/history")
    async def history_page(request: web.Request) -> web.Response:
        user = await app.require(request)
        jobs = await core._io(core.jobs.recent_jobs, user.who, 100)
        return app.page(request, "history.html", user, jobs=jobs)

    @routes.get("/sketch")
    async def sketch_page(request: web.Request) -> web.Response:
        from imagine_med.engine.phantom.regions.chest.ct_slice import WINDOWS
        from imagine_med.engine.phantom.sketch import PALETTE

        user = await app.require(request)
        return app.page(request, "sketch.html", user, palette=PALETTE, sizes=SIZES,
                        windows=list(WINDOWS), canvas=SKETCH_CANVAS)

    @routes.get("/sketch/legend.png")
    async def sketch_legend(request: web.Request) -> web.Response:
        from imagine_med.engine.phantom.sketch import legend_png

        await app.require(request)
        return web.Response(body=await core._io(legend_png), content_type="image/png")

    @routes.post("/api/sketch")
    async def sketch(request: web.Request) -> web.Response:
        """multipart: `sketch` (a PNG), modality, window, sequence, size, seed, prompt."""
        user = await app.require(request)
        form = await request.post()
        upload = form.get("sketch")
        data = upload.file.read(MAX_SKETCH_BYTES + 1) if hasattr(upload, "file") else b""
        if len(data) > MAX_SKETCH_BYTES:
            return web.json_response(outcome_json(user, Outcome.error(
                f"That file is over {MAX_SKETCH_BYTES // 2**20} MiB; a sketch is a small PNG.")))
        if not data:
            return web.json_response(outcome_json(user, Outcome.error(
                "Paint a sketch or choose a PNG first.")))
        options = {k: str(form.get(k) or "") for k in ("size", "seed", "window", "sequence")}
        outcome = await core.guarded(user.who, lambda: core.sketch(
            user.who, data, str(form.get("modality") or "xray"),
            str(form.get("prompt") or ""), options, target={"web": True}))
        return web.json_response(outcome_json(user, outcome))

    @routes.get("/api/recent")
    async def recent(request: web.Request) -> web.Response:
        user = await app.require(request)
        jobs = await core._io(core.jobs.recent_jobs, user.who, 20)
        return web.json_response({"jobs": [
            {"id": j.id, "kind": j.kind, "state": j.state, "parent_id": j.parent_id,
             "interpreted": j.spec.describe() if j.spec else "", "fraction": j.fraction,
             "stage": j.stage, "position": j.position} for j in jobs]})

    @routes.post("/api/preview")
    async def preview(request: web.Request) -> web.Response:
        user = await app.require(request)
        data = await body(request)
        prompt = str(data.get("prompt") or "")
        if not prompt.strip():
            return web.json_response({"cases": [], "error": ""})
        try:
            text, options = compose_prompt(prompt, data)
            prefs = await core._io(core.prefs.effective, "web", user.who.user_id, "web")
            specs = core.compose(text, options, prefs)
        except PromptError as exc:
            return web.json_response({"cases": [], "error": exc.message})
        return web.json_response({"error": "", "cases": [
            {"interpreted": s.describe(), "ignored": list(s.unparsed)} for s in specs]})

    @routes.post("/api/imagine")
    async def imagine(request: web.Request) -> web.Response:
        user = await app.require(request)
        data = await body(request)
        try:
            text, options = compose_prompt(str(data.get("prompt") or ""), data)
        except PromptError as exc:
            return web.json_response(outcome_json(user, Outcome.error(exc.message)))
        outcome = await core.guarded(user.who, lambda: core.imagine(
            user.who, text, options, target={"web": True}))
        return web.json_response(outcome_json(user, outcome))

    @routes.post("/api/press")
    async def press(request: web.Request) -> web.Response:
        user = await app.require(request)
        data = await body(request)
        custom_id = str(data.get("id") or "")
        if not await mine(user, custom_id):  # job ids are private on the web, unlike a channel
            return web.json_response(outcome_json(user, Outcome.error(
                "That button belongs to a job that is not yours.")))
        outcome = await core.guarded(user.who, lambda: core.press(
            user.who, custom_id, target={"web": True}))
        return web.json_response(outcome_json(user, outcome))

    async def mine(user: User, custom_id: str) -> bool:
        """Whether the button's job is one this person may see (moderators' review buttons
        are the dashboard's business and not offered here)."""
        from imagine_med.bot.ids import Action, ComponentIdError, decode

        try:
            cid = decode(custom_id)
        except ComponentIdError:
            return True  # the core answers "not one of imagine-med's"
        if cid.action in (Action.APPROVE, Action.REJECT):
            return False
        job = await core._io(core.jobs.get, cid.job_id)
        return job is None or app.may_see(user, job)

    @routes.post("/api/form")
    async def submit_form(request: web.Request) -> web.Response:
        user = await app.require(request)
        data = await body(request)
        values = data.get("values") if isinstance(data.get("values"), dict) else {}
        if not await mine(user, str(data.get("id") or "")):
            return web.json_response(outcome_json(user, Outcome.error(
                "That form belongs to a job that is not yours.")))
        outcome = await core.guarded(user.who, lambda: core.submit_form(
            user.who, str(data.get("id") or ""), {k: str(v) for k, v in values.items()},
            target={"web": True}))
        return web.json_response(outcome_json(user, outcome))

    async def visible_job(request: web.Request, user: User) -> JobView:
        try:
            job = await core._io(core.jobs.get, request.match_info["job"])
        except JobRefused as exc:
            raise web.HTTPServiceUnavailable(text=exc.message) from exc
        if job is None or not app.may_see(user, job):
            raise web.HTTPNotFound(text="No such job of yours.")
        return job

    @routes.get("/api/jobs/{job}")
    async def job_status(request: web.Request) -> web.Response:
        user = await app.require(request)
        return web.json_response(job_json(user, await visible_job(request, user)))

    @routes.get("/api/jobs/{job}/events")
    async def job_events(request: web.Request) -> web.StreamResponse:
        """Server-sent events: the job as JSON whenever its state, stage or progress moves,
        until it ends (the last event carries the grid and its buttons)."""
        user = await app.require(request)
        job = await visible_job(request, user)
        from imagine_med.web.security import HEADERS

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache", **HEADERS})
        await resp.prepare(request)
        last = None
        while True:
            data = job_json(user, job)
            sig = (data["state"], data["stage"], data["fraction"], data["position"])
            if sig != last:
                last = sig
                await resp.write(f"event: job\ndata: {json.dumps(data)}\n\n".encode())
            if job.state in TERMINAL:
                break
            await asyncio.sleep(app.config.progress_poll_s)
            fresh = await core._io(core.jobs.get, job.id)
            if fresh is None:
                break
            job = fresh
        await resp.write(b"event: end\ndata: {}\n\n")
        return resp

    @routes.get("/jobs/{job}/files/{name}")
    async def job_file(request: web.Request) -> web.StreamResponse:
        user = await app.require(request)
        job = await visible_job(request, user)
        name = request.match_info["name"]
        path = job.files.get(name)
        if path is None or name.startswith("_"):
            raise web.HTTPNotFound(text="No such file in that job.")
        resp = web.FileResponse(path)
        if name.endswith((".zip", ".json", ".dcm")):
            resp.headers["Content-Disposition"] = f'attachment; filename="{job.id}-{name}"'
        return resp

    @routes.get("/private/{token}")
    async def private(request: web.Request) -> web.StreamResponse:
        user = await app.require(request)
        path = app.private_file(user, request.match_info["token"])
        if path is None or not path.exists():
            raise web.HTTPNotFound(text="That file has expired; ask for it again.")
        return web.FileResponse(path)

    @routes.post("/api/appeal")
    async def appeal(request: web.Request) -> web.Response:
        user = await app.require(request)
        data = await body(request)
        if app.moderation is None:
            return web.json_response({"error": "Appeals need the moderation service."})
        from imagine_med.bot.queue_backend import requester

        try:
            appeal_id = await core._io(app.moderation.appeal, str(data.get("case") or ""),
                                       requester(user.who), str(data.get("text") or "")[:1000])
        except Exception as exc:
            message = getattr(exc, "message", None)
            if not isinstance(message, str):
                raise
            return web.json_response({"error": message})
        return web.json_response({"appeal": appeal_id,
                                  "message": "Your appeal is with the moderators."})
