"""Quizzes on a projector: an instructor starts one from a prompt, the page shows the case
when it is rendered with the answer choices, everyone signed in answers from their own screen,
and the reveal shows the key, the overlay, who answered what and the scores.

Every step is the chat bots' `BotCore.quiz` (start, opened, press/typed through the buttons'
ids, reveal, leaderboard); the web does what chat's delivery loop does, when a page asks:
opens the quiz once its case is done and reveals quizzes whose time is up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from imagine_med.bot.ids import Action, decode
from imagine_med.web import render

if TYPE_CHECKING:
    from imagine_med.bot.reply import Reply
    from imagine_med.web.app import User, WebApp


def add_routes(routes: web.RouteTableDef, app: WebApp) -> None:
    core = app.core
    reveals: dict[str, Reply] = {}  # revealed in this process: shown to every page after

    def shown(user: User, reply: Reply) -> dict[str, Any]:
        return render.reply(reply, lambda p: app.private_url(user, p))

    async def reveal_due() -> None:
        for quiz, reply in await core._io(core.quiz.due_reveals, "web"):
            reveals[quiz.id] = reply

    @routes.get("/quiz")
    async def quiz_home(request: web.Request) -> web.Response:
        user = await app.require(request)
        board = await core.quiz.leaderboard(user.who, request.query.get("course") or None)
        return app.page(request, "quiz.html", user, board=[shown(user, r) for r in board.replies],
                        error="", instructor=await core.is_instructor(user.who))

    @routes.post("/quiz")
    async def quiz_start(request: web.Request) -> web.Response:
        user = await app.require(request)
        form = await request.post()
        seconds = str(form.get("seconds") or "").strip()
        outcome = await core.guarded(user.who, lambda: core.quiz.start(
            user.who, str(form.get("prompt") or ""),
            seconds=int(seconds) if seconds.isdigit() else None,
            course=str(form.get("course") or "") or None, target={"web": True}))
        job = outcome.jobs[0] if outcome.jobs else None
        qid = (job.reply_target or {}).get("quiz") if job is not None else None
        if qid:
            raise web.HTTPFound(f"/quiz/{qid}")
        error = " ".join(render.to_html(r.text) for r in outcome.replies)
        return app.page(request, "quiz.html", user, board=[], error=error,
                        instructor=await core.is_instructor(user.who))

    async def quiz_of(request: web.Request, user: User) -> Any:
        quiz = await core._io(core.quiz.store.get, request.match_info["quiz"])
        if quiz is None or (quiz.platform, quiz.team) != (user.who.platform, user.who.team_id):
            raise web.HTTPNotFound(text="No such quiz here.")
        return quiz

    @routes.get("/quiz/{quiz}")
    async def projector(request: web.Request) -> web.Response:
        user = await app.require(request)
        quiz = await quiz_of(request, user)
        return app.page(request, "quiz_show.html", user, quiz=quiz,
                        host=user.who.user_id == quiz.host_id or await core.is_instructor(
                            user.who))

    @routes.get("/api/quiz/{quiz}")
    async def state(request: web.Request) -> web.Response:
        user = await app.require(request)
        quiz = await quiz_of(request, user)
        await reveal_due()
        job = await core._io(core.jobs.get, quiz.job_id) if quiz.job_id else None
        post = None
        if quiz.state == "rendering" and job is not None:
            if job.state == "done":
                try:
                    post = await core._io(core.quiz.opened, quiz.id, job)
                except (ValueError, OSError) as exc:  # no label map to measure: no quiz
                    await core._io(core.quiz.store.fail, quiz.id)
                    return web.json_response({"state": "failed", "error": str(exc)})
            elif job.state in ("failed", "cancelled"):
                await core._io(core.quiz.store.fail, quiz.id)
        quiz = await core._io(core.quiz.store.get, quiz.id)
        if quiz.state in ("open", "closed") and job is not None and post is None:
            post = await core._io(core.quiz.quiz_post, quiz, job)
        out: dict[str, Any] = {"state": quiz.state, "id": quiz.id,
                               "closes_at": quiz.closes_at.isoformat() if quiz.closes_at
                               else None, "fraction": job.fraction if job else 0.0}
        if post is not None:
            data = shown(user, post)
            # the page has its own Reveal for the host; a student's row is the choices
            data["rows"] = [[b for b in row if decode(b["id"]).action is not Action.QUIZ_REVEAL]
                            for row in data["rows"]]
            out["post"] = data
        if quiz.id in reveals:
            out["reveal"] = shown(user, reveals[quiz.id])
        return web.json_response(out)

    @routes.post("/api/quiz/{quiz}/reveal")
    async def reveal(request: web.Request) -> web.Response:
        user = await app.require(request)
        quiz = await quiz_of(request, user)
        outcome = await core.quiz.reveal_pressed(user.who, quiz)
        if outcome.replies and not outcome.replies[0].ephemeral:
            reveals[quiz.id] = outcome.replies[0]
        return web.json_response({"replies": [shown(user, r) for r in outcome.replies]})
