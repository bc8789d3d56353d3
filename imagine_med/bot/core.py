"""The platform-neutral bot: parse -> moderate -> submit -> the message to show.

Adapters turn platform events into calls of `BotCore` and render the `Outcome`s it returns;
they never parse prompts, check permissions or word messages themselves. That is what makes
the same prompt read the same on Discord and Slack.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagine_med.bot import text
from imagine_med.bot.access import ChannelMembers, granted
from imagine_med.bot.casefiles import alt_text, answer_reply, case_doc, dicom_reply
from imagine_med.bot.config import BotConfig
from imagine_med.bot.helptext import help_text
from imagine_med.bot.ids import (
    QUIZ_ACTIONS,
    Action,
    ComponentId,
    ComponentIdError,
    decode,
    encode,
)
from imagine_med.bot.jobs import JobRefused, JobService, JobView, Screened, Who
from imagine_med.bot.markup import said
from imagine_med.bot.prefs import PreferenceError, PreferenceStore, Prefs, validate
from imagine_med.bot.ratelimit import RateLimiter, wait_text
from imagine_med.bot.reply import (
    Attachment,
    Form,
    FormField,
    Reply,
    cancel_row,
    grid_rows,
    moderation_rows,
    single_rows,
)
from imagine_med.bot.targets import StatusMessages
from imagine_med.prompt import PromptError, parse
from imagine_med.prompt.spec import CaseSpec

log = logging.getLogger(__name__)
T = TypeVar("T")

# Typed slash-command options -> the prompt flag each one stands for.
OPTION_FLAGS = {"modality": "modality", "view": "view", "sequence": "seq", "stain": "stain"}
VARIATION = {Action.VARY: "subtle", Action.VARY_STRONG: "strong"}
MAX_VERIFY_BYTES = 25 * 2**20
KIND_WORDS = {
    "imagine": "", "upscale": "Upscale", "variation": "Variations", "reroll": "Reroll",
    "refine": "Refine", "dicom": "DICOM export", "caseset": "Case set",
    "series": "Same patient",
}


def is_quiz_job(job: JobView) -> bool:
    """A job rendering a quiz's case: its messages never say what was asked for."""
    return bool((job.reply_target or {}).get("quiz"))


@dataclass
class Outcome:
    """What an adapter must do after an event.

    `replies` go to the user (ephemeral) or the channel, in order; a reply with `job_id` is the
    status message of that job, and the adapter stores where it posted it with
    `BotCore.remember_target`. `form` is opened in response to a button. `moderation` replies go
    to `moderation_channel`, the moderators' channel of the requester's guild/workspace.
    """

    replies: list[Reply] = field(default_factory=list)
    form: Form | None = None
    moderation: list[Reply] = field(default_factory=list)
    jobs: list[JobView] = field(default_factory=list)
    moderation_channel: str | None = None
    case_id: str | None = None  # moderation's case of a held or refused prompt (appeals)

    @classmethod
    def error(cls, message: str) -> Outcome:
        return cls(replies=[Reply(message, ephemeral=True)])


class BotCore:
    """`limiter` holds the per-person and per-channel rate limits (Redis token buckets; None:
    no rate limit, for embedding without Redis). Adapters register how they tell channel
    membership (`use_channel_members`) for channel grants of moderators."""

    def __init__(self, jobs: JobService, prefs: PreferenceStore, config: BotConfig | None = None,
                 targets: StatusMessages | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.jobs = jobs
        self.prefs = prefs
        self.config = config or BotConfig()
        self.targets = targets or StatusMessages(prefs.engine)
        self.limiter = limiter
        self.members: dict[str, ChannelMembers] = {}
        from imagine_med.bot.librarybot import LibraryBot
        from imagine_med.bot.quizbot import QuizBot

        self.quiz = QuizBot(self)
        self.library = LibraryBot(self)

    # ---- helpers ------------------------------------------------------------------------

    async def _io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking store/queue calls run off the event loop (the 3-second budget)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def allowed(self, who: Who) -> bool:
        allow = self.config.allowed_channels
        return not allow or who.channel_id in allow

    def use_channel_members(self, platform: str, members: ChannelMembers) -> None:
        self.members[platform] = members

    async def identify(self, who: Who) -> Who:
        """`who` with the rights configuration gives them in their own guild/workspace
        (moderator, priority lane); whatever the adapter set is replaced."""
        members = self.members.get(who.platform)
        return dataclasses.replace(
            who,
            is_moderator=await granted(self.config.moderators, who, members),
            priority=await granted(self.config.priority, who, members),
        )

    async def is_instructor(self, who: Who) -> bool:
        """Instructors run quizzes and edit every library collection of their guild/workspace:
        the configured instructor grants, moderators, and members who can manage the channel."""
        who = await self.identify(who)
        if who.is_moderator or who.can_manage_channel:
            return True
        return await granted(self.config.instructors, who, self.members.get(who.platform))

    async def throttled(self, who: Who) -> Outcome | None:
        """Take a token from the person's and the channel's buckets; a refusal says which
        limit and when to try again."""
        if self.limiter is None:
            return None
        c, lim = self.config, self.limiter
        platform, team, user = who.limit_as or (who.platform, who.team_id, who.user_id)
        person = lim.bucket(f"user:{platform}:{team or '-'}:{user}", c.rate_user)
        channel = lim.bucket(f"channel:{who.platform}:{who.team_id or '-'}:{who.channel_id}",
                             c.rate_channel)
        wait = await self._io(lim.take, [person, channel])
        if wait <= 0:
            return None
        return Outcome.error(text.rate_limited(c.rate_user, c.rate_channel, wait_text(wait)))

    async def _may_post_review(self, who: Who) -> bool:
        """At most `rate_moderation_posts` review posts per person: beyond it held prompts
        still wait for a decision (`imagine-med mod queue`) but do not flood the channel."""
        if self.limiter is None:
            return True
        bucket = self.limiter.bucket(
            f"modposts:{who.platform}:{who.team_id or '-'}:{who.user_id}",
            self.config.rate_moderation_posts)
        return await self._io(self.limiter.take, [bucket]) <= 0

    async def guarded(self, who: Who, make: Callable[[], Any]) -> Outcome:
        """Run a handler; any unexpected exception becomes a private message with a reference
        (logged with its traceback), never a traceback in a channel."""
        try:
            return await make()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("bot handler failed (ref %s, %s user %s)", ref, who.platform,
                          who.user_id)
            return Outcome.error(text.INTERNAL.format(ref=ref))

    # ---- prompt composition -------------------------------------------------------------

    def compose(self, prompt: str, options: dict[str, str | None], prefs: Prefs) -> list[CaseSpec]:
        """Parse the prompt with typed options as flags; user/channel defaults (modality, size)
        apply only where the prompt does not decide (a default that conflicts is dropped)."""
        base = prompt.strip()
        for name, flag in OPTION_FLAGS.items():
            value = (options.get(name) or "").strip()
            if value:
                base += f" --{flag} {value}"
        size = ""
        if prefs.size and "--size" not in base.lower() and "--ar" not in base.lower():
            size = f" --size {prefs.size}"
        candidates = []
        if prefs.modality and not (options.get("modality") or "").strip():
            candidates.append(f"{base} --modality {prefs.modality}{size}")
        if size:
            candidates.append(base + size)
        candidates.append(base)
        for i, candidate in enumerate(candidates):
            try:
                return parse(candidate)
            except PromptError:
                if i == len(candidates) - 1:
                    raise
        raise AssertionError("unreachable")

    # ---- /imagine-med -------------------------------------------------------------------

    async def imagine(self, who: Who, prompt: str,
                      options: dict[str, str | None] | None = None,
                      target: dict[str, Any] | None = None) -> Outcome:
        """`/imagine-med`: `target` is where the adapter will answer (channel, interaction
        token or response URL); the queue keeps it with each job."""
        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        if not prompt.strip():
            return Outcome.error(text.EMPTY_PROMPT)
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        who = await self.identify(who)
        prefs = await self._io(self.prefs.effective, who.platform, who.user_id, who.channel_id)
        try:
            specs = self.compose(prompt, options or {}, prefs)
        except PromptError as exc:
            return Outcome.error(text.unreadable(exc.message))
        refused = await self._unrenderable(specs)
        if refused is not None:
            return refused
        return await self._screen_and_submit(who, prompt, specs, kind="imagine", target=target)

    # ---- /imagine-med-set ---------------------------------------------------------------

    async def caseset(self, who: Who, command: Any,
                      target: dict[str, Any] | None = None) -> Outcome:
        """`/imagine-med-set`: a balanced case set as one batch-lane job (bot.caseset).
        `command`: the command's text (Slack) or a CaseSetRequest (Discord's options)."""
        from imagine_med.bot.caseset import SetCommandError, parse_set_text

        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        try:
            request = parse_set_text(command) if isinstance(command, str) else command
        except SetCommandError as exc:
            return Outcome.error(exc.message)
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        who = await self.identify(who)
        full_target = {"platform": who.platform, "channel": who.channel_id, **(target or {})}
        screened_text = " ".join([request.prompt, *request.findings])
        try:
            screened, jobs = await self._io(self.jobs.submit_caseset, screened_text, request,
                                            who, reply_target=full_target)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        if screened.decision == "block" or not jobs:
            return Outcome.error(text.blocked(screened.reason))
        return Outcome(replies=[self.status_reply(j) for j in jobs], jobs=jobs)

    # ---- /imagine-med-series -------------------------------------------------------------

    async def series(self, who: Who, job_id: str, request: str, variant: int = 1,
                     target: dict[str, Any] | None = None) -> Outcome:
        """`/imagine-med-series`: the patient of a finished job's variant again, in another
        study ("CT of this patient") or later ("follow-up at 6 weeks", "after treatment"), as
        one image (teaching.series). Like U/V it follows a screened job, and what is stored
        is the canonical study, never the typed words, so it is not screened again."""
        from imagine_med.teaching.series import SeriesError, step_from_case

        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        job_id = job_id.strip().strip("`")
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        job = await self._io(self.jobs.get, job_id) if job_id else None
        if job is None or not job.same_team(who):
            return Outcome.error(text.no_job(job_id or "?"))
        if not (job.owned_by(who) or job.channel == who.channel_id):
            return Outcome.error(text.SHOW_ELSEWHERE.format(job=job.id))
        doc = case_doc(job.files) if job.state == "done" else None
        if doc is None:
            return Outcome.error(f"Job {job.id} has no finished case to follow yet.")
        try:
            step, block = step_from_case(doc, variant, request)
        except SeriesError as exc:
            return Outcome.error(exc.message)
        refused = await self._unrenderable([step.spec])
        if refused is not None:
            return refused
        who = await self.identify(who)
        return await self._submit_all(
            who, [step.spec], kind="series",
            params={"from_job": job.id, "from_variant": variant, "seed": step.seed,
                    "series": block}, target=target)
    async def sketch(self, who: Who, png: bytes, modality: str, prompt: str = "",
                     options: dict[str, str | None] | None = None,
                     target: dict[str, Any] | None = None) -> Outcome:
        """A painted or uploaded label map (the sketch palette, engine.phantom.sketch) rendered
        in `modality`: the PNG is read with the sketch parser's specific errors (unknown
        colours, empty, size) before anything is queued; then the typed words are screened and
        the job queued like any prompt. `options`: size, seed, window (CT), sequence (MRI)."""
        from pydantic import ValidationError

        from imagine_med.engine.phantom.sketch import SketchError, encode_labels, parse_sketch

        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        who = await self.identify(who)
        opts = {k: (v or "").strip() for k, v in (options or {}).items()}
        try:
            labels = await self._io(parse_sketch, png)
            encoded = encode_labels(labels)
            size = int(opts.get("size") or 512)
            spec = CaseSpec(
                prompt=(prompt.strip() or f"sketch as {modality}")[:1000], modality=modality,
                region="sketch", sketch=encoded, width=size, height=size,
                window=opts.get("window") or None, sequence=opts.get("sequence") or None,
                seed=int(opts["seed"]) if opts.get("seed") else None)
        except SketchError as exc:
            return Outcome.error(exc.message)
        except (ValidationError, ValueError) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else []
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            return Outcome.error(f"That sketch request cannot be read: {detail or exc}.")
        refused = await self._unrenderable([spec])
        if refused is not None:
            return refused
        return await self._screen_and_submit(who, spec.prompt, [spec], kind="imagine",
                                             target=target)

    async def _unrenderable(self, specs: list[CaseSpec]) -> Outcome | None:
        """A prompt nothing here can render is refused now, with what is available, rather
        than queued to fail in a worker."""
        try:
            await self._io(self.jobs.check_renderable, specs)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        return None

    async def _screen_and_submit(self, who: Who, prompt: str, specs: list[CaseSpec], *,
                                 kind: str, target: dict[str, Any] | None,
                                 parent: str | None = None, index: int | None = None
                                 ) -> Outcome:
        """Moderation, then the queue (both behind `jobs.submit_screened`): block -> a private
        refusal; hold -> the jobs are parked and the moderators' channel gets Approve / Reject
        buttons; allow -> queued."""
        full_target = {"platform": who.platform, "channel": who.channel_id, **(target or {})}
        try:
            screened, jobs = await self._io(
                self.jobs.submit_screened, prompt, specs, who, kind=kind, parent=parent,
                index=index, reply_target=full_target)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        if screened.decision == "block":
            refused = Outcome.error(text.blocked(screened.reason))
            refused.case_id = screened.case_id
            return refused
        if screened.decision != "hold":
            return Outcome(replies=[self.status_reply(j) for j in jobs], jobs=jobs)
        held = Outcome.error(text.held(screened.reason))
        held.case_id = screened.case_id
        for job in jobs:
            # no public status message: results of an approved job are posted anew
            await self.remember_target(job.id, who.platform, {"held": True})
        if jobs and await self._may_post_review(who):
            # one post per prompt: deciding on any of its jobs decides the whole prompt
            held.moderation.append(self.review_post(who, screened, jobs))
            held.moderation_channel = self.config.moderation_channel_for(who.platform,
                                                                         who.team_id)
        elif jobs:
            log.warning("held prompt (jobs %s) of %s user %s not posted for review: over "
                        "IMAGINE_MED_BOT_RATE_MODERATION_POSTS; see `imagine-med mod queue`",
                        ", ".join(j.id for j in jobs), who.platform, who.user_id)
        return held

    def review_post(self, who: Who, screened: Screened, jobs: list[JobView]) -> Reply:
        """The moderators' post for a held prompt: who, where, why, the redacted prompt (as
        typed: no pings, no formatting), Approve / Reject. It pings nobody."""
        first = jobs[0]
        count = f"job `{first.id}`" if len(jobs) == 1 else (
            f"{len(jobs)} jobs, first `{first.id}`")
        rules = ", ".join(screened.rule_ids) or "-"
        lines = [
            f"Held prompt ({count}) on {who.platform}, channel {who.channel_id}, from:",
            said(who.user_name or "?") + f" (user id {who.user_id})",
            f"rules: {rules}" + (f" ({screened.reason})" if screened.reason else ""),
            "Prompt, identifiers redacted:",
            said(screened.redacted or "(redacted)"),
        ]
        return Reply("\n".join(lines), rows=moderation_rows(first.id), job_id=first.id)

    async def _submit_all(self, who: Who, specs: list[CaseSpec], *, kind: str,
                          parent: str | None = None, index: int | None = None,
                          params: dict[str, Any] | None = None,
                          target: dict[str, Any] | None = None) -> Outcome:
        """Queue all specs or none (no new prompt, so no screening: U/V/reroll of a job that
        was screened already); each job's status message is one reply."""
        full_target = {"platform": who.platform, "channel": who.channel_id, **(target or {})}
        try:
            jobs = await self._io(self.jobs.submit, specs, who, kind=kind, parent=parent,
                                  index=index, params=params, reply_target=full_target)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        return Outcome(replies=[self.status_reply(j) for j in jobs], jobs=jobs)

    # ---- messages for a job -------------------------------------------------------------

    def _what(self, job: JobView) -> str:
        if is_quiz_job(job):
            return "Quiz case"
        word = KIND_WORDS.get(job.kind, job.kind)
        if job.kind == "upscale":
            word += f" {job.params.get('scale', 2)}x"
        elif job.kind == "variation":
            word = f"{str(job.params.get('strength', 'subtle')).title()} variations"
        if job.parent_index and word:
            word += f" of variant {job.parent_index}"
        return word

    def status_reply(self, job: JobView) -> Reply:
        """The message a job shows while it waits or runs (with its Cancel button)."""
        what = self._what(job)
        head = f"<@{job.owner}> "  # the same mention syntax on Discord and Slack
        lines = [head + (text.progress(job.fraction, job.stage, what) if job.state == "running"
                         else text.queued(job.position, what))]
        if job.spec is not None and not is_quiz_job(job):
            lines.append(text.interpreted(job.spec))
        return Reply("\n".join(lines), rows=cancel_row(job.id), job_id=job.id,
                     mentions=(job.owner,))

    def progress_reply(self, job: JobView, fraction: float, stage: str) -> Reply:
        lines = [f"<@{job.owner}> " + text.progress(fraction, stage, self._what(job))]
        if job.spec is not None and not is_quiz_job(job):
            lines.append(text.interpreted(job.spec))
        return Reply("\n".join(lines), rows=cancel_row(job.id), job_id=job.id,
                     mentions=(job.owner,))

    def ended_reply(self, job: JobView, note: str | None = None) -> Reply:
        """A failed or cancelled job's final word (no buttons). `note` is the core's own
        word (a cancel just done); otherwise the queue's error follows on a line of its own,
        quoted as typed, since it can carry a moderator's reason."""
        what = self._what(job)
        lead = f"<@{job.owner}> {what + ' — ' if what else ''}"
        if note is not None:
            lines = [lead + note]
        elif job.state == "cancelled":
            lines = [lead + "Cancelled."]
            if job.error:
                lines.append(said(job.error))
        else:
            lines = [lead + text.failed(), said(job.error or text.NO_REASON)]
        if job.spec is not None and not is_quiz_job(job):
            lines.append(text.interpreted(job.spec))
        return Reply("\n".join(lines), job_id=job.id, mentions=(job.owner,))

    def result_reply(self, job: JobView) -> Reply:
        """The finished job: the watermarked grid (or the upscaled image) with its buttons;
        a case set's summary and files."""
        if job.kind == "caseset":
            from imagine_med.bot.caseset import SLACK_UPLOAD_LIMIT, caseset_reply

            limit = (self.config.discord_upload_limit if job.platform == "discord"
                     else SLACK_UPLOAD_LIMIT)
            return caseset_reply(job, limit)
        if "grid.png" not in job.files and "variant-1.png" not in job.files:
            raise ValueError(f"job {job.id} has no images")
        lines = [f"<@{job.owner}> {self._what(job)}".rstrip()]
        spec = job.spec
        if spec is not None:
            lines.append(text.interpreted(spec))
        doc = case_doc(job.files)
        alt = alt_text(doc, spec)
        lines.append(f"_{text.DISCLAIMER}_ · job `{job.id}`")
        single = job.files.get("variant-1.png") if job.kind == "upscale" else None
        if single is not None or "grid.png" not in job.files:
            single = single or job.files["variant-1.png"]
            index = job.parent_index or 1
            base = spec.width if spec is not None else 0  # the grid's size, before upscaling
            offer_4x = (job.params.get("scale", 2) < 4
                        and 0 < base * 4 <= self.config.max_upscale_px)
            return Reply("\n".join(lines), job_id=job.id,
                         attachments=[Attachment(single, f"imagine-med-{job.id}.png", alt)],
                         rows=single_rows(job.id, job.parent_id or job.id, index,
                                          offer_4x=offer_4x), mentions=(job.owner,))
        grid = job.files["grid.png"]
        return Reply("\n".join(lines), job_id=job.id,
                     attachments=[Attachment(grid, f"imagine-med-{job.id}.png", alt)],
                     rows=grid_rows(job.id), mentions=(job.owner,))

    # ---- buttons ------------------------------------------------------------------------

    async def press(self, who: Who, custom_id: str,
                    target: dict[str, Any] | None = None) -> Outcome:
        try:
            cid = decode(custom_id)
        except ComponentIdError:
            return Outcome.error("That button is not one of imagine-med's.")
        who = await self.identify(who)
        if cid.action in (Action.APPROVE, Action.REJECT):
            return await self._review(who, cid, reason=None)
        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        if cid.action in QUIZ_ACTIONS:
            return await self.quiz.press(who, cid)
        job = await self._io(self.jobs.get, cid.job_id)
        if job is None:
            return Outcome.error(text.BUTTON_UNKNOWN.format(job=cid.job_id))
        if cid.action is not Action.CANCEL and await self._io(
                self.quiz.store.unrevealed_job, job.id):  # a verified image names its job
            return Outcome.error(text.QUIZ_HIDDEN)
        if cid.action is Action.CANCEL:
            return await self._cancel(who, job)
        if cid.action is Action.ANSWER:
            return self.answer_key(job, cid.index)
        if cid.action is Action.DICOM:
            return await self.dicom(who, job, cid.index, target)
        if job.state != "done":
            return Outcome.error(
                f"Job {job.id} is {job.state}; its buttons work once its images are ready."
            )
        if cid.action is Action.REFINE:
            return Outcome(form=self.refine_form(job, cid.index, who))
        if cid.action is Action.REROLL:
            return await self._derive(who, job, "reroll", None, {}, target)
        if cid.action in (Action.UPSCALE, Action.UPSCALE4):
            scale = 4 if cid.action is Action.UPSCALE4 else 2
            width = job.spec.width if job.spec else 512
            if width * scale > self.config.max_upscale_px:
                return Outcome.error(
                    f"A {scale}x upscale of a {width}-pixel image would be {width * scale} "
                    f"pixels wide; the limit is {self.config.max_upscale_px}."
                )
            return await self._derive(who, job, "upscale", cid.index, {"scale": scale}, target)
        strength = VARIATION[cid.action]
        return await self._derive(who, job, "variation", cid.index, {"strength": strength},
                                  target)

    async def _derive(self, who: Who, job: JobView, kind: str, index: int | None,
                      params: dict[str, Any], target: dict[str, Any] | None) -> Outcome:
        """A new job from a finished one; it belongs to the clicker and counts against them."""
        if job.spec is None:
            return Outcome.error(f"Job {job.id} has no spec to work from.")
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        return await self._submit_all(who, [job.spec], kind=kind, parent=job.id, index=index,
                                      params=params, target=target)

    async def _cancel(self, who: Who, job: JobView) -> Outcome:
        """Its owner, or a moderator of the job's own guild/workspace."""
        owner = job.owned_by(who)
        if not (owner or (who.is_moderator and job.same_team(who))):
            return Outcome.error(text.CANCEL_NOT_OWNER)
        if not job.active:
            return Outcome.error(f"Job {job.id} is already {job.state}; nothing to cancel.")
        try:
            result = await self._io(self.jobs.cancel, job.id, who)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        if result not in ("cancelled", "cancelling"):
            return Outcome.error(f"Job {job.id} is already {result}; nothing to cancel.")
        job.state = "cancelled"
        note = text.CANCELLING if result == "cancelling" else text.cancelled(by_owner=owner)
        final = self.ended_reply(job, note)  # running: it stops at its next step, then says so
        final.replaces = True
        return Outcome(replies=[final])

    def refine_form(self, job: JobView, index: int, who: Who) -> Form:
        """The Refine form. Only the job's owner gets their own prompt prefilled: anyone may
        refine a grid in the channel, but the prompt's full text is the owner's (the channel
        saw only what the parser understood)."""
        mine = job.owned_by(who)
        fields = [FormField("prompt", "Prompt (anatomy of the chosen variant is kept)",
                            initial=job.prompt[:1000] if mine else "",
                            placeholder="e.g. add: left pleural effusion" if mine else
                            "describe the case, e.g. PA chest x-ray, left pleural effusion")]
        if index == 0:
            fields.append(FormField("variant", "Variant to keep (1-4)", initial="1",
                                    max_length=1, multiline=False))
        return Form(encode(Action.REFINE, job.id, index), f"Refine job {job.id}"[:45],
                    tuple(fields))

    async def submit_form(self, who: Who, custom_id: str, values: dict[str, str],
                          target: dict[str, Any] | None = None) -> Outcome:
        try:
            cid = decode(custom_id)
        except ComponentIdError:
            return Outcome.error("That form is not one of imagine-med's.")
        who = await self.identify(who)
        if cid.action is Action.REJECT:
            return await self._review(who, cid, reason=values.get("reason", ""))
        if cid.action is Action.QUIZ_TYPE:
            return await self.quiz.typed(who, cid, values.get("answer", ""))
        if cid.action is not Action.REFINE:
            return Outcome.error("That form is not one of imagine-med's.")
        job = await self._io(self.jobs.get, cid.job_id)
        if job is None:
            return Outcome.error(text.BUTTON_UNKNOWN.format(job=cid.job_id))
        index = cid.index
        if index == 0:
            raw = (values.get("variant") or "").strip()
            if raw not in {"1", "2", "3", "4"}:
                return Outcome.error(f"Variant must be 1, 2, 3 or 4; got {raw!r}.")
            index = int(raw)
        prompt = (values.get("prompt") or "").strip()
        if not prompt:
            return Outcome.error(text.EMPTY_PROMPT)
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        try:
            specs = parse(prompt)
        except PromptError as exc:
            return Outcome.error(text.unreadable(exc.message))
        if len(specs) != 1:
            return Outcome.error("Refine takes one case; remove permutations and --repeat.")
        refused = await self._unrenderable(specs)
        if refused is not None:
            return refused
        return await self._screen_and_submit(who, prompt, specs, kind="refine", target=target,
                                             parent=job.id, index=index)

    # ---- answer key ---------------------------------------------------------------------

    def answer_key(self, job: JobView, index: int) -> Outcome:
        """Findings and a label overlay, for the clicker's eyes only."""
        if job.state != "done" or not job.files:
            return Outcome.error(f"Job {job.id} has no images yet, so no answer key.")
        doc = case_doc(job.files)
        if doc is None:
            return Outcome.error(f"Job {job.id} has no case record (case.json) to answer from.")
        return Outcome(replies=[answer_reply(job, doc, index)])

    # ---- DICOM export -------------------------------------------------------------------

    async def dicom(self, who: Who, job: JobView, index: int,
                    target: dict[str, Any] | None = None) -> Outcome:
        """The case as DICOM (variant-N.dcm with its SEG labels, case.json), zipped, for the
        clicker only. A worker makes it from the job's stored files (the pixels that were
        posted), as a `dicom` job of the clicker's; the delivery loop posts the zip."""
        if job.state != "done" or not job.files:
            return Outcome.error(f"Job {job.id} has no finished images to export yet.")
        full_target = {"platform": who.platform, "channel": who.channel_id, **(target or {})}
        try:
            await self._io(self.jobs.submit, [job.spec] if job.spec else [], who, kind="dicom",
                           parent=job.id, index=index, reply_target=full_target)
        except JobRefused as exc:
            return Outcome.error(exc.message)
        what = f"variant {index}" if index else "all variants"
        return Outcome(replies=[Reply(
            f"Preparing the DICOM of {what} (job `{job.id}`); it comes to you privately in a "
            f"moment. {text.DISCLAIMER}", ephemeral=True, job_id=job.id)])

    def dicom_ready(self, job: JobView) -> Reply:
        """The finished export, for its requester only."""
        return dicom_reply(job)

    # ---- moderators' review buttons -----------------------------------------------------

    async def _review(self, who: Who, cid: ComponentId, reason: str | None) -> Outcome:
        """Approve releases a held job into the queue; Reject (after a form for the reason)
        cancels it, and its owner is told the reason (by the delivery loop). Only moderators
        of the job's own guild/workspace may decide."""
        if not who.is_moderator:
            return Outcome.error(text.MODERATOR_ONLY)
        job = await self._io(self.jobs.get, cid.job_id)
        if job is None or not job.same_team(who):
            return Outcome.error(text.MODERATOR_OTHER_TEAM)
        if cid.action is Action.REJECT and reason is None:
            return Outcome(form=Form(cid.encode(), "Reject held prompt", (
                FormField("reason", "Reason (shown to the requester)", max_length=300),
            )))
        approve = cid.action is Action.APPROVE
        try:
            await self._io(self.jobs.review, cid.job_id, who, approve, reason or "")
        except JobRefused as exc:
            return Outcome.error(exc.message)
        verdict = "Approved" if approve else "Rejected"
        lines = [f"{verdict} by <@{who.user_id}> (job `{cid.job_id}`)."]
        if not approve:
            lines.append("Reason: " + said(reason or ""))
        return Outcome(replies=[Reply("\n".join(lines), replaces=True,
                                      mentions=(who.user_id,))])

    # ---- other commands -----------------------------------------------------------------

    def too_big_to_verify(self, name: str, size: int) -> Outcome | None:
        if size <= MAX_VERIFY_BYTES:
            return None
        return Outcome.error(f"{name} is {size / 2**20:.1f} MiB; images up to "
                             f"{MAX_VERIFY_BYTES // 2**20} MiB can be checked.")

    async def verify(self, who: Who, data: bytes, name: str) -> Outcome:
        """`/imagine-med-verify`: is this image one of ours? (the invisible watermark)"""
        refused = self.too_big_to_verify(name, len(data))
        if refused is not None:
            return refused
        try:
            from imagine_med.provenance.verify import verify_bytes
        except ImportError:
            return Outcome.error("Image verification is not installed on this bot.")
        result = await self._io(verify_bytes, data, name)
        return Outcome(replies=[Reply(result.summary(), ephemeral=True)])

    def help(self) -> Outcome:
        return Outcome(replies=[Reply(help_text(), ephemeral=True)])

    async def show(self, who: Who, job_id: str) -> Outcome:
        """`/imagine-med-show`: re-post a job where its owner could see it: in the channel it
        was made in (by anyone there), or wherever its owner asks. It pings nobody."""
        if not self.allowed(who):
            return Outcome.error(text.NOT_ALLOWED_HERE)
        job_id = job_id.strip().strip("`")
        if not job_id:
            return Outcome.error("Give the job id, e.g. /imagine-med-show job:7f3a9c2e.")
        refused = await self.throttled(who)
        if refused is not None:
            return refused
        job = await self._io(self.jobs.get, job_id)
        if job is None or not job.same_team(who):  # another server's job: not for here
            return Outcome.error(text.no_job(job_id))
        mine = job.owned_by(who)
        if not (mine or job.channel == who.channel_id):
            return Outcome.error(text.SHOW_ELSEWHERE.format(job=job.id))
        if await self._io(self.quiz.store.unrevealed_job, job.id):
            return Outcome.error(text.QUIZ_HIDDEN)
        if job.state == "held":
            if not mine:
                return Outcome.error(text.no_job(job_id))
            return Outcome.error(text.held(""))
        if job.state == "done":
            reply = self.result_reply(job)
        elif job.active:
            reply = self.status_reply(job)
        else:
            reply = self.ended_reply(job)
        reply.mentions = ()
        return Outcome(replies=[reply])

    async def info(self, who: Who) -> Outcome:
        mine = await self._io(self.jobs.user_jobs, who)
        length = await self._io(self.jobs.queue_length)
        active = [j for j in mine if j.active]
        lines = [f"Queue: {text.plural(length, 'job')} waiting."]
        if not active:
            lines.append("You have no running or queued jobs.")
        for j in active:
            where = (f"running {round(j.fraction * 100)}%" if j.state == "running"
                     else f"#{j.position} in line" if j.position else j.state)
            desc = j.spec.describe() if j.spec else said(j.prompt)
            lines.append(f"• `{j.id}` {where}: {desc}")
        return Outcome(replies=[Reply("\n".join(lines), ephemeral=True)])

    async def settings(self, who: Who, scope: str, changes: dict[str, Any]) -> Outcome:
        if scope not in ("user", "channel"):
            return Outcome.error(f"Scope must be 'user' or 'channel', got {scope!r}.")
        try:
            valid = validate({k: v for k, v in changes.items() if v is not None})
        except PreferenceError as exc:
            return Outcome.error(exc.message)
        subject = who.user_id if scope == "user" else who.channel_id
        who = await self.identify(who)
        if valid and scope == "channel" and not (who.is_moderator or who.can_manage_channel):
            return Outcome.error(text.CHANNEL_SETTINGS_MODERATOR_ONLY)
        if valid:
            await self._io(self.prefs.update, who.platform, scope, subject, valid)
        here = await self._io(self.prefs.get, who.platform, scope, subject)
        eff = await self._io(self.prefs.effective, who.platform, who.user_id, who.channel_id)
        head = "Saved. " if valid else ""
        return Outcome(replies=[Reply(
            f"{head}Your {scope} defaults: {here.describe()}\n"
            f"In effect here: {eff.describe()}", ephemeral=True)])

    def moderation_posts(self, outcome: Outcome) -> tuple[str | None, list[Reply]]:
        """The moderators' channel of the requester's guild/workspace and the review posts to
        put there; with no channel configured for it, none (each held job is logged so an
        admin can use `imagine-med mod`)."""
        channel = outcome.moderation_channel
        if not channel:
            for reply in outcome.moderation:
                log.warning("held job %s: set IMAGINE_MED_BOT_MODERATION_CHANNELS for its "
                            "server/workspace to post review buttons (or use `imagine-med "
                            "mod`)", reply.job_id)
            return None, []
        return channel, list(outcome.moderation)

    # ---- delivery bookkeeping -----------------------------------------------------------

    async def remember_target(self, job_id: str, platform: str,
                              target: dict[str, Any]) -> None:
        """Where a job's status message was posted, so the delivery loop (possibly after a
        restart) can edit it."""
        await self._io(self.targets.remember, job_id, platform, target)

    async def withdraw(self, job_id: str, who: Who) -> None:
        """Cancel a job the adapter could not show (e.g. the bot is not in the channel)."""
        try:
            await self._io(self.jobs.cancel, job_id, who)
        except JobRefused as exc:
            log.warning("could not withdraw job %s: %s", job_id, exc.message)

    def target_of(self, job: JobView) -> dict[str, Any]:
        """The job's reply target from submit time, completed by its status message."""
        posted = self.targets.get(job.id, job.platform) or {}
        return {**(job.reply_target or {}), **posted}
