"""`/imagine-med-quiz` and `/imagine-med-leaderboard`, platform-neutral (BotCore's quiz part).

An instructor starts a quiz from a prompt (the case is rendered in the queue; its status
message says only "Quiz case") or from a saved library item (posted at once). The quiz post
carries the case image re-encoded without metadata, one button per choice, "Type an answer"
and "Reveal"; every custom id names the quiz, never the job. When the timer runs out (the
delivery loop's sweep) or the host or an instructor presses Reveal, the key, the label overlay
and who was right are posted. Nothing a student typed is ever rendered as markup (`said`).
"""

from __future__ import annotations

import logging
import random
import secrets
from typing import TYPE_CHECKING, Any

from imagine_med.bot import text
from imagine_med.bot.casefiles import case_doc, overlay_file
from imagine_med.bot.ids import Action, ComponentId, encode
from imagine_med.bot.jobs import JobView, Who
from imagine_med.bot.markup import said
from imagine_med.bot.reply import Attachment, Button, Form, FormField, Reply
from imagine_med.engine.registry import MODALITY_NAMES, VIEW_NAMES, region_name
from imagine_med.errors import UserError
from imagine_med.prompt import PromptError
from imagine_med.teaching.quiz import Quiz, QuizError, QuizStore, check_course, check_seconds
from imagine_med.teaching.quiz_choices import (
    build_choices,
    display,
    is_right,
    match_free_text,
    measured_answers,
)
from imagine_med.teaching.quiz_media import quiz_filename, quiz_image

if TYPE_CHECKING:
    from imagine_med.bot.core import BotCore, Outcome

log = logging.getLogger(__name__)
LETTERS = "ABCDE"
LEADERBOARD_ROWS = 10


def case_title(job: JobView) -> str:
    """What the case is, never what it shows: "PA chest X-ray", "axial head CT"."""
    spec = job.spec
    if spec is None:
        return "synthetic case"
    modality = MODALITY_NAMES.get(spec.modality, spec.modality)
    region = region_name(spec.modality, spec.region) if spec.region else ""
    lead = VIEW_NAMES.get(spec.view or "", "") if spec.modality == "xray" else (
        spec.plane or "")
    return " ".join(w for w in (lead, region, modality) if w)


class QuizBot:
    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.store = QuizStore(core.prefs.engine)

    def _outcome(self) -> type[Outcome]:
        from imagine_med.bot.core import Outcome

        return Outcome

    def _error(self, message: str) -> Outcome:
        return self._outcome().error(message)

    # ---- starting -----------------------------------------------------------------------

    async def start(self, who: Who, prompt: str = "", *, seconds: int | None = None,
                    course: str | None = None, collection: str | None = None,
                    item: int | None = None, target: dict[str, Any] | None = None
                    ) -> Outcome:
        core = self.core
        if not core.allowed(who):
            return self._error(text.NOT_ALLOWED_HERE)
        if not await core.is_instructor(who):
            return self._error(QUIZ_INSTRUCTORS_ONLY)
        try:
            secs, course = check_seconds(seconds), check_course(course)
        except QuizError as exc:
            return self._error(exc.message)
        if collection or item is not None:
            return await self._from_library(who, collection, item, secs, course)
        if not prompt.strip():
            return self._error(QUIZ_NEEDS_CASE)
        refused = await core.throttled(who)
        if refused is not None:
            return refused
        who = await core.identify(who)
        prefs = await core._io(core.prefs.effective, who.platform, who.user_id, who.channel_id)
        try:
            specs = core.compose(prompt, {}, prefs)
        except PromptError as exc:
            return self._error(text.unreadable(exc.message))
        if len(specs) != 1:
            return self._error("A quiz is one case: remove permutations and --repeat.")
        refused = await core._unrenderable(specs)
        if refused is not None:
            return refused
        quiz = await core._io(self._create, who, secs, course, "prompt", None)
        outcome = await core._screen_and_submit(
            who, prompt, specs, kind="imagine", target={**(target or {}), "quiz": quiz.id})
        if not outcome.jobs:
            held = await core._io(self._held_job, who)
            if held is None:  # refused or blocked: no case will come
                await core._io(self.store.drop, quiz.id)
                return outcome
            await core._io(self.store.set_job, quiz.id, held)
            return outcome
        job = outcome.jobs[0]
        await core._io(self.store.set_job, quiz.id, job.id)
        outcome.replies.append(Reply(
            f"Quiz `{quiz.id}` (job `{job.id}`): {text.interpreted(job.spec)}" if job.spec else
            f"Quiz `{quiz.id}` (job `{job.id}`).", ephemeral=True))
        outcome.replies[-1].text += (
            f"\nOnly you see this. It opens when the case is rendered and closes after "
            f"{_duration(secs)}, or when you press Reveal.")
        return outcome

    def _create(self, who: Who, seconds: int, course: str | None, source: str,
                job_id: str | None) -> Quiz:
        return self.store.create(platform=who.platform, team=who.team_id,
                                 channel=who.channel_id, host_id=who.user_id,
                                 host_name=who.user_name or None, seconds=seconds,
                                 course=course, source=source, job_id=job_id)

    def _held_job(self, who: Who) -> str | None:
        """The job just parked for review, when moderation held the quiz's prompt."""
        held = [j for j in self.core.jobs.user_jobs(who) if j.state == "held"]
        return held[-1].id if held else None

    async def _from_library(self, who: Who, collection: str | None, item: int | None,
                            seconds: int, course: str | None) -> Outcome:
        core = self.core
        member = await core.library.member(who)
        try:
            if item is not None:
                chosen = await core._io(core.library.store.get, member, item)
            else:
                found = await core._io(core.library.store.items_of, member, collection or "")
                if not found:
                    return self._error(f"Collection {collection!r} has no items to quiz on.")
                chosen = secrets.choice(found)
        except UserError as exc:
            return self._error(exc.message)
        job = await core._io(core.jobs.get, chosen.job_id)
        if job is None or job.state != "done" or not job.files:
            return self._error(f"Library item #{chosen.id} has no finished images any more.")
        quiz = await core._io(self._create, who, seconds, course, f"library:{chosen.id}",
                              job.id)
        try:
            reply = await core._io(self.opened, quiz.id, job)
        except (ValueError, QuizError) as exc:
            await core._io(self.store.drop, quiz.id)
            return self._error(f"Library item #{chosen.id} cannot be quizzed: {exc}.")
        return self._outcome()(replies=[reply])

    # ---- the quiz post ------------------------------------------------------------------

    def opened(self, qid: str, job: JobView) -> Reply:
        """Open the quiz over its finished job and word its post (blocking: files, DB)."""
        quiz = self.store.get(qid)
        if quiz is None:
            raise QuizError(f"No quiz {qid}.")
        doc = case_doc(job.files)
        if doc is None:
            raise ValueError("no case record (case.json)")
        variant = quiz.variant if f"variant-{quiz.variant}.png" in job.files else 1
        answers = measured_answers(doc, job.files, variant)
        if quiz.state == "rendering":
            spec = job.spec
            rng = random.Random(secrets.randbits(64))  # not derivable from anything posted
            choices = build_choices(answers, spec.modality if spec else "",
                                    spec.region if spec else None, rng)
            key = "; ".join(a.description for a in answers) or "normal study (no finding)"
            quiz = self.store.open(qid, choices=choices, answers=[a.name for a in answers],
                                   answer_key=key, variant=variant)
        return self.quiz_post(quiz, job)

    def quiz_post(self, quiz: Quiz, job: JobView) -> Reply:
        title = case_title(job)
        engine = job.spec.engine if job.spec else "phantom"
        image = quiz_image(job.files[f"variant-{quiz.variant}.png"], quiz.id, engine)
        lines = [f"🧠 **Quiz** — {title}: which finding does this image show?",
                 f"Answer with a button or type it; the answer comes in {_duration(quiz.seconds)}"
                 " or when the instructor reveals it."]
        if quiz.course:
            lines.append("Course: " + said(quiz.course))
        lines.append(f"_{text.DISCLAIMER}_ · quiz `{quiz.id}`")
        choice_row = [Button(f"{LETTERS[i]}. {display(c)}"[:80],
                             encode(Action.QUIZ_CHOICE, quiz.id, i))
                      for i, c in enumerate(quiz.choices[:len(LETTERS)])]
        tools = [Button("✍️ Type an answer", encode(Action.QUIZ_TYPE, quiz.id)),
                 Button("Reveal (instructor)", encode(Action.QUIZ_REVEAL, quiz.id), "danger")]
        alt = f"Synthetic teaching image (not a real patient) for a quiz: {title}"
        return Reply("\n".join(lines), rows=[choice_row, tools],
                     attachments=[Attachment(image, quiz_filename(quiz.id), alt)])

    # ---- answers ------------------------------------------------------------------------

    async def press(self, who: Who, cid: ComponentId) -> Outcome:
        core = self.core
        quiz = await core._io(self.store.get, cid.job_id)
        if quiz is None or (quiz.platform, quiz.team) != (who.platform, who.team_id):
            return self._error("That quiz is not one this bot knows here.")
        if cid.action is Action.QUIZ_REVEAL:
            return await self.reveal_pressed(who, quiz)
        if not quiz.open:
            return self._error(QUIZ_CLOSED)
        if cid.action is Action.QUIZ_TYPE:
            return self._outcome()(form=Form(encode(Action.QUIZ_TYPE, quiz.id), "Your answer", (
                FormField("answer", "Which finding do you see?", max_length=200,
                          placeholder="e.g. the finding's name", multiline=False),)))
        if not 0 <= cid.index < len(quiz.choices):
            return self._error("That choice is not part of this quiz.")
        choice = quiz.choices[cid.index]
        ok = await core._io(self.store.answer, quiz.id, who.user_id, who.user_name or None,
                            choice, None, is_right(choice, list(quiz.answers)))
        if not ok:
            return self._error(QUIZ_CLOSED)
        return self._private(f"Your answer to quiz `{quiz.id}`: **{LETTERS[cid.index]}**. "
                             "You can change it until the reveal.")

    async def typed(self, who: Who, cid: ComponentId, answer: str) -> Outcome:
        core = self.core
        quiz = await core._io(self.store.get, cid.job_id)
        if quiz is None or (quiz.platform, quiz.team) != (who.platform, who.team_id):
            return self._error("That quiz is not one this bot knows here.")
        typed = " ".join(answer.split())[:200]
        if not typed:
            return self._error("The answer is empty; type the finding you see.")
        job = await core._io(core.jobs.get, quiz.job_id) if quiz.job_id else None
        region = job.spec.region if job and job.spec else None
        name = match_free_text(typed, region)
        if name is None:
            return self._error("I could not read " + said(typed) + " as a finding. Use the "
                               "finding's name (any usual synonym works), or press a choice.")
        ok = await core._io(self.store.answer, quiz.id, who.user_id, who.user_name or None,
                            name, typed, is_right(name, list(quiz.answers)))
        if not ok:
            return self._error(QUIZ_CLOSED)
        return self._private(f"Your answer to quiz `{quiz.id}`: " + said(typed)
                             + " (a finding I know). You can change it until the reveal.")

    def _private(self, message: str) -> Outcome:
        return self._outcome()(replies=[Reply(message, ephemeral=True)])

    # ---- reveal -------------------------------------------------------------------------

    async def reveal_pressed(self, who: Who, quiz: Quiz) -> Outcome:
        core = self.core
        if who.user_id != quiz.host_id and not await core.is_instructor(who):
            return self._error("Only the instructor who started this quiz (or another "
                               "instructor) can reveal it.")
        if quiz.state != "open":
            return self._error(QUIZ_CLOSED if quiz.state == "closed" else
                               "This quiz has not opened yet (its case is still rendering).")
        reply = await core._io(self.reveal, quiz.id)
        if reply is None:
            return self._error(QUIZ_CLOSED)
        return self._outcome()(replies=[reply])

    def reveal(self, qid: str) -> Reply | None:
        """Close the quiz (once, whoever asks) and word the reveal: the key, the overlay,
        who answered what. None when it was closed already."""
        if not self.store.close(qid):
            return None
        quiz = self.store.get(qid)
        assert quiz is not None
        job = self.core.jobs.get(quiz.job_id) if quiz.job_id else None
        answers = self.store.responses(qid)
        right = [r for r in answers if r.correct]
        lines = [f"🔑 **Quiz answer** (quiz `{quiz.id}`): {quiz.answer_key}"]
        if job is not None and job.spec is not None:
            lines.append(f"{text.interpreted(job.spec)} · job `{job.id}`")
        lines.append(f"Right: {len(right)} of {text.plural(len(answers), 'answer')}.")
        for r in answers:
            mark = "✅" if r.correct else "❌"
            given = said(r.typed) if r.typed else display(r.choice or "?")
            lines.append(f"{mark} " + said(r.user_name or r.user_id) + " — " + given)
        where = "course " + said(quiz.course) if quiz.course else "this channel"
        lines.append(f"Scores for {where}: /imagine-med-leaderboard")
        attachments = []
        if job is not None and job.files:
            doc = case_doc(job.files)
            overlay = overlay_file(job.id, job.files, doc, quiz.variant) if doc else None
            if overlay is not None:
                attachments.append(Attachment(
                    overlay, f"imagine-med-quiz-{quiz.id}-answer.png",
                    f"Label overlay of the quiz answer: {quiz.answer_key}"[:1000]))
        return Reply("\n".join(lines), attachments=attachments)

    def due_reveals(self, platform: str) -> list[tuple[Quiz, Reply]]:
        """Reveals of every quiz of `platform` whose timer has run out (blocking)."""
        out = []
        for quiz in self.store.due(platform):
            try:
                reply = self.reveal(quiz.id)
            except Exception:
                log.exception("revealing quiz %s failed", quiz.id)
                continue
            if reply is not None:
                out.append((quiz, reply))
        return out

    # ---- scores -------------------------------------------------------------------------

    async def leaderboard(self, who: Who, course: str | None = None) -> Outcome:
        core = self.core
        if not core.allowed(who):
            return self._error(text.NOT_ALLOWED_HERE)
        try:
            course = check_course(course)
        except QuizError as exc:
            return self._error(exc.message)
        scores = await core._io(self.store.leaderboard, who.platform, who.team_id,
                                channel=who.channel_id, course=course, limit=LEADERBOARD_ROWS)
        where = "course " + said(course) if course else "this channel"
        lines = [f"🏆 **Quiz leaderboard** — {where}"]
        if not scores:
            lines.append("No revealed quizzes with answers yet.")
        for rank, s in enumerate(scores, start=1):
            lines.append(f"{rank}. " + said(s.user_name or s.user_id)
                         + f" — {text.plural(s.points, 'point')} "
                         f"({text.plural(s.answered, 'answer')})")
        return self._outcome()(replies=[Reply("\n".join(lines))])


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return text.plural(seconds // 3600, "hour")
    if seconds % 60 == 0:
        return text.plural(seconds // 60, "minute")
    return text.plural(seconds, "second")


QUIZ_INSTRUCTORS_ONLY = (
    "Only instructors can start a quiz: members granted IMAGINE_MED_BOT_INSTRUCTORS, "
    "moderators, or members who can manage this channel."
)
QUIZ_NEEDS_CASE = (
    "Give the quiz a case: a prompt (e.g. `PA chest x-ray, left pleural effusion`) or a "
    "library collection (and item number) to quiz on."
)
QUIZ_CLOSED = "This quiz is closed; its answer has been revealed."
