"""The case viewer: one variant large, its answer key as label outlines with names on hover,
and for CT a stack of slices around the variant's level (a `stack` job, rendered by a worker
like any other) that the page scrolls and windows on the raw HU values."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web

from imagine_med.bot.casefiles import alt_text, case_doc
from imagine_med.bot.jobs import JobRefused, JobView
from imagine_med.engine.phantom.ct import WINDOWS  # the presets: the phantom's own CT windows
from imagine_med.queue.stacks import JSON_NAME, NPZ_NAME

if TYPE_CHECKING:
    from imagine_med.web.app import User, WebApp


def stackable(job: JobView) -> bool:
    """Whether the viewer offers a slice stack: phantom CT (chest, head) and brain MRI."""
    from imagine_med.engine.phantom.renderer_head import is_head

    s = job.spec
    if s is None or s.engine != "phantom" or s.region == "sketch":
        return False
    return (s.modality == "ct" and (is_head(s) or (s.region or "chest") == "chest")) or (
        s.modality == "mri" and (is_head(s) or s.region is None))


def presets(job: JobView, tags: dict[str, Any]) -> dict[str, list[float]]:
    """Window presets (centre, width): the phantom's own windows for chest or head CT, and for
    MRI the window the variant was displayed in (MR signal has no fixed scale)."""
    from imagine_med.engine.phantom.physics.ct import HEAD_WINDOWS
    from imagine_med.engine.phantom.renderer_head import is_head

    s = job.spec
    shown = [float(tags.get("window_center") or 0), float(tags.get("window_width") or 1)]
    if s is not None and s.modality == "mri":
        return {"as rendered": shown, "wide": [shown[0], shown[1] * 2],
                "narrow": [shown[0], shown[1] / 2]}
    table = HEAD_WINDOWS if s is not None and is_head(s) else WINDOWS
    return {k: [float(v[0]), float(v[1])] for k, v in table.items()}


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    core = app.core

    async def visible(request: web.Request, user: User, key: str = "job") -> JobView:
        try:
            job = await core._io(core.jobs.get, request.match_info[key])
        except JobRefused as exc:
            raise web.HTTPServiceUnavailable(text=exc.message) from exc
        if job is None or not app.may_see(user, job):
            raise web.HTTPNotFound(text="No such job of yours.")
        return job

    def variant_of(job: JobView, request: web.Request) -> tuple[int, dict[str, Any]]:
        doc = case_doc(job.files) if job.state == "done" else None
        if doc is None:
            raise web.HTTPNotFound(text="That job has no finished case to show.")
        try:
            n = int(request.match_info["n"])
        except ValueError:
            raise web.HTTPNotFound(text="Variants are numbered 1 to 4.") from None
        v = next((v for v in doc.get("variants") or [] if v.get("index") == n), None)
        if v is None or f"variant-{n}.png" not in job.files:
            raise web.HTTPNotFound(text=f"Job {job.id} has no variant {n}.")
        return n, {**v, "doc": doc}

    @routes.get("/case/{job}/{n}")
    async def case_page(request: web.Request) -> web.Response:
        user = await app.require(request)
        job = await visible(request, user)
        n, v = variant_of(job, request)
        doc = v.pop("doc")
        tags = v.get("tags") or {}
        return app.page(
            request, "case.html", user, job=job, n=n, variant=v,
            alt=alt_text(doc, job.spec), interpreted=doc.get("interpreted_as", ""),
            ct=stackable(job), windows=presets(job, tags),
            window=tags.get("window", ""), level_mm=tags.get("level_mm", ""),
            variants=[x.get("index") for x in doc.get("variants") or []])

    @routes.get("/api/case/{job}/{n}/key")
    async def answer_key(request: web.Request) -> web.Response:
        """The key for one variant: its prose, findings, and every label id's name (the page
        draws outlines from the label image and names what the pointer is over)."""
        user = await app.require(request)
        job = await visible(request, user)
        n, v = variant_of(job, request)
        findings = [{"name": f.get("name"), "description": f.get("description") or "",
                     "label_id": f.get("label_id"), "laterality": f.get("laterality"),
                     "location": f.get("location")} for f in v.get("findings") or []]
        return web.json_response({
            "variant": n, "answer_key": v.get("answer_key") or "normal study",
            "findings": findings, "labels": v.get("labels") or {},
            "finding_labels": sorted({int(f["label_id"]) for f in findings if f["label_id"]}),
            "labels_url": f"/jobs/{job.id}/files/variant-{n}.labels.png",
            "spacing_mm": v.get("pixel_spacing_mm"), "image_height": v.get("height"),
        })

    @routes.post("/api/case/{job}/{n}/stack")
    async def make_stack(request: web.Request) -> web.Response:
        user = await app.require(request)
        job = await visible(request, user)
        n, _ = variant_of(job, request)
        refused = await core.throttled(user.who)
        if refused is not None:
            return web.json_response({"error": refused.replies[0].text}, status=429)
        try:
            made = await core._io(core.jobs.submit, [job.spec] if job.spec else [], user.who,
                                  kind="stack", parent=job.id, index=n,
                                  reply_target={"platform": "web", "channel": "web"})
        except JobRefused as exc:
            return web.json_response({"error": exc.message}, status=400)
        return web.json_response({"job": made[0].id})

    @routes.get("/api/stack/{job}")
    async def stack_meta(request: web.Request) -> web.StreamResponse:
        user = await app.require(request)
        job = await visible(request, user)
        if job.kind != "stack":
            raise web.HTTPNotFound(text="Not a slice stack.")
        if job.state != "done":
            return web.json_response({"state": job.state, "fraction": job.fraction,
                                      "error": job.error})
        meta = json.loads(await core._io(job.files[JSON_NAME].read_text))
        return web.json_response({**meta, "state": "done", "job": job.id})

    @routes.get("/api/stack/{job}/{what}.bin")
    async def stack_data(request: web.Request) -> web.Response:
        """Raw little-endian arrays for the page's canvas: `hu` (the raw values: int16 HU,
        or uint16 MR signal, as stack.json's dtype says; slices x H x W) or `labels` uint8;
        windowing happens in the browser, on these values."""
        user = await app.require(request)
        job = await visible(request, user)
        what = request.match_info["what"]
        if job.kind != "stack" or job.state != "done" or what not in ("hu", "labels"):
            raise web.HTTPNotFound(text="No such stack data.")

        def load() -> bytes:
            with np.load(io.BytesIO(job.files[NPZ_NAME].read_bytes())) as z:
                if what == "labels":
                    return z["labels"].astype("u1").tobytes()
                raw = z["raw"]
            return raw.astype("<u2" if raw.dtype == np.uint16 else "<i2").tobytes()

        data = await core._io(load)
        return web.Response(body=data, content_type="application/octet-stream",
                            headers={"Cache-Control": "private, max-age=3600"})
