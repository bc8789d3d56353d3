"""The Discord adapter (discord.py 2.x): application commands, persistent buttons, modals.

Handlers defer first (Discord's 3-second limit), then ask `BotCore`. Buttons are DynamicItems
whose custom id carries the job id and variant, so they keep working after a restart. Status
messages are edited through the interaction webhook while its token lives (15 minutes); later
results are posted with the bot token as a channel message. Uploads over the bot limit (10 MiB)
fall back to a smaller encoding, and the message says so.

No message pings anyone unless it means to: the client's default is `AllowedMentions.none()`
(no @everyone, @here, role or user pings, whatever the text holds), and each message opts in
exactly the users its `Reply.mentions` names (a job's owner, when their job moves on). Text a
user typed is markdown-escaped, so a prompt cannot post a bold fake notice.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from typing import Any

import discord
from discord import app_commands

from imagine_med.bot import ids, markup
from imagine_med.bot.core import BotCore, Outcome
from imagine_med.bot.helptext import autocomplete
from imagine_med.bot.ids import Action, ComponentId
from imagine_med.bot.images import fit_upload
from imagine_med.bot.jobs import JobView, Who
from imagine_med.bot.reply import Button, Form, Reply
from imagine_med.teaching.plan import CaseSetRequest

log = logging.getLogger(__name__)
PLATFORM = "discord"
CONTENT_LIMIT = 2000
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
# Actions whose first response must be a modal (a modal cannot follow a defer).
FORM_ACTIONS = frozenset({Action.REFINE, Action.REJECT, Action.QUIZ_TYPE})



def _completer(option: str) -> Any:
    """An autocomplete callback for one typed option, from the prompt vocabulary."""

    async def complete(_i: discord.Interaction[Any], current: str
                       ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=v, value=v) for v in autocomplete(option, current)]

    return complete

class ImagineButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ids.PATTERN):
    """Every imagine-med button; rebuilt from its custom id by discord.py after a restart."""

    def __init__(self, cid: ComponentId, label: str = "", style: str = "secondary",
                 row: int | None = None) -> None:
        super().__init__(discord.ui.Button(
            label=label or cid.action.name.title(), custom_id=cid.encode(),
            style=STYLES.get(style, discord.ButtonStyle.secondary), row=row,
        ))
        self.cid = cid

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str]
                             ) -> ImagineButton:
        return cls(ids.decode(match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: DiscordBot = interaction.client.imagine  # type: ignore[attr-defined]
        await bot.on_button(interaction, self.cid)


class FormModal(discord.ui.Modal):
    """A neutral `Form` as a Discord modal; submits go back to the core."""

    def __init__(self, bot: DiscordBot, form: Form) -> None:
        super().__init__(title=form.title[:45], custom_id=form.custom_id, timeout=900)
        self.bot = bot
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for f in form.fields:
            field: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=f.label[:45], default=f.initial or None,
                placeholder=f.placeholder[:100] or None, max_length=min(f.max_length, 4000),
                style=discord.TextStyle.paragraph if f.multiline else discord.TextStyle.short,
                custom_id=f.key,
            )
            self.inputs[f.key] = field
            self.add_item(field)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        values = {k: str(v.value or "") for k, v in self.inputs.items()}
        await self.bot.on_form(interaction, self.custom_id, values)


def view_of(reply: Reply) -> discord.ui.View | None:
    if not reply.rows:
        return None
    view = discord.ui.View(timeout=None)
    for r, row in enumerate(reply.rows[:5]):
        for b in row[:5]:
            view.add_item(_button(b, r))
    return view


def _button(b: Button, row: int) -> ImagineButton:
    return ImagineButton(ids.decode(b.custom_id), b.label, b.style, row)


def _as_typed(text: str) -> str:
    """User text as the characters typed: markdown and mentions escaped."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def render_text(text: str) -> str:
    """The core's text for Discord: its own markdown as is, user text escaped."""
    return markup.render(text, lambda t: t, _as_typed)


def mentions_of(reply: Reply) -> discord.AllowedMentions:
    """Only the users the reply means to ping; never @everyone, @here or roles."""
    users = [discord.Object(id=int(u)) for u in reply.mentions if u.isdigit()]
    return discord.AllowedMentions(everyone=False, roles=False, users=users or False,
                                   replied_user=False)


def content_of(reply: Reply) -> tuple[str, discord.Embed | None]:
    """Message text, or an embed when it is longer than Discord's 2,000 characters."""
    body = render_text(reply.full_text())
    if len(body) <= CONTENT_LIMIT:
        return body, None
    return "", discord.Embed(description=body[:4096])


def files_of(reply: Reply, limit: int) -> tuple[list[discord.File], list[str]]:
    """Attachments fitted under the upload limit, and notes for those re-encoded."""
    files, notes = [], []
    for att in reply.attachments:
        enc = fit_upload(att.path, limit, att.filename)
        name = enc.filename
        if att.spoiler and not name.startswith("SPOILER_"):
            name = f"SPOILER_{name}"
        files.append(discord.File(io.BytesIO(enc.data), filename=name,
                                  description=att.alt[:1024] or None, spoiler=att.spoiler))
        if enc.note:
            notes.append(enc.note)
    return files, notes


class ImagineClient(discord.Client):
    """A discord.Client that knows its bot (for DynamicItem callbacks)."""

    def __init__(self, bot: DiscordBot, **kwargs: Any) -> None:
        super().__init__(intents=discord.Intents(guilds=True),
                         allowed_mentions=discord.AllowedMentions.none(), **kwargs)
        self.imagine = bot

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ImagineButton)


class DiscordBot:
    def __init__(self, core: BotCore, *, sync_commands: bool = True) -> None:
        self.core = core
        self.platform = PLATFORM
        self.client = ImagineClient(self)
        self.tree = app_commands.CommandTree(self.client)
        self.sync_commands = sync_commands
        core.use_channel_members(PLATFORM, self)
        self._register()

    @property
    def limit(self) -> int:
        return self.core.config.discord_upload_limit

    # ---- who -----------------------------------------------------------------------------

    def who(self, interaction: discord.Interaction[Any]) -> Who:
        """The facts of the interaction; moderator rights come from configuration
        (BotCore.identify), never from a permission such as Manage Messages."""
        perms = interaction.permissions
        return Who(
            PLATFORM, str(interaction.user.id), str(interaction.channel_id or ""),
            str(interaction.guild_id) if interaction.guild_id else None,
            interaction.user.name,
            can_manage_channel=bool(perms.manage_channels),
            roles=_role_ids(interaction.user),
        )

    async def is_member(self, who: Who, channel_id: str) -> bool:
        """A channel grant on Discord: Discord delivers an interaction from a channel only to
        those who can see it, so acting from that (private) channel proves membership.
        Elsewhere, role and user grants apply."""
        return bool(who.channel_id) and who.channel_id == channel_id

    # ---- commands ------------------------------------------------------------------------

    def _register(self) -> None:
        core, tree = self.core, self.tree

        ac_modality, ac_view, ac_sequence, ac_stain = (
            _completer(f) for f in ("modality", "view", "sequence", "stain")
        )

        @tree.command(name="imagine-med", description="Render a synthetic teaching image")
        @app_commands.describe(
            prompt="e.g. PA chest x-ray, right upper lobe consolidation --seed 7",
            modality="instead of --modality", view="x-ray view, instead of --view",
            sequence="MRI sequence, instead of --seq", stain="histology stain, instead of --stain",
        )
        @app_commands.autocomplete(modality=ac_modality, view=ac_view, sequence=ac_sequence,
                                   stain=ac_stain)
        async def imagine(interaction: discord.Interaction[Any], prompt: str,
                          modality: str | None = None, view: str | None = None,
                          sequence: str | None = None, stain: str | None = None) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            options = {"modality": modality, "view": view, "sequence": sequence, "stain": stain}
            outcome = await core.guarded(
                who, lambda: core.imagine(who, prompt, options, target=_target(interaction)))
            await self.deliver(interaction, outcome, original_is_status=True)

        @tree.command(name="imagine-med-set",
                      description="A balanced, annotated case set (ZIP, manifests, COCO)")
        @app_commands.describe(
            study="the study, e.g. PA chest x-ray",
            findings="comma-separated findings, e.g. pneumothorax, RUL consolidation, nodule",
            per_finding="cases per finding (default 20)",
            normal="fraction of the set that is normal, e.g. 0.2 (default 0)",
            seed="the set's seed, to make it again (default 0)")
        async def caseset(interaction: discord.Interaction[Any], study: str, findings: str,
                          per_finding: int = 20, normal: float = 0.0, seed: int = 0) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            request = CaseSetRequest(study, tuple(w.strip() for w in findings.split(",")
                                                  if w.strip()), per_finding, normal, seed)
            outcome = await core.guarded(
                who, lambda: core.caseset(who, request, target=_target(interaction)))
            await self.deliver(interaction, outcome, original_is_status=True)

        @tree.command(name="imagine-med-series",
                      description="The same patient: another study, or later")
        @app_commands.describe(
            job="the job id shown under a result",
            request="e.g. CT of this patient, follow-up at 6 weeks, after treatment",
            variant="which variant's patient (1-4, default 1)")
        async def series(interaction: discord.Interaction[Any], job: str, request: str,
                         variant: int = 1) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            outcome = await core.guarded(who, lambda: core.series(
                who, job, request, variant, target=_target(interaction)))
            await self.deliver(interaction, outcome, original_is_status=True)

        @tree.command(name="imagine-med-help", description="What imagine-med can render")
        async def help_(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.deliver(interaction, core.help())

        @tree.command(name="imagine-med-show", description="Re-post a job with its buttons")
        @app_commands.describe(job="the job id shown under a result")
        async def show(interaction: discord.Interaction[Any], job: str) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            outcome = await core.guarded(who, lambda: core.show(who, job))
            await self.deliver(interaction, outcome, original_is_status=True)

        @tree.command(name="imagine-med-info", description="Your running and queued jobs")
        async def info(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            who = self.who(interaction)
            await self.deliver(interaction, await core.guarded(who, lambda: core.info(who)))

        @tree.command(name="imagine-med-verify",
                      description="Check an image for imagine-med's invisible watermark")
        @app_commands.describe(image="the image (PNG, JPEG or DICOM) to check")
        async def verify(interaction: discord.Interaction[Any], image: discord.Attachment
                         ) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            who = self.who(interaction)

            async def run() -> Outcome:
                refused = core.too_big_to_verify(image.filename, image.size)
                if refused is not None:  # do not download it
                    return refused
                return await core.verify(who, await image.read(), image.filename)

            await self.deliver(interaction, await core.guarded(who, run))

        @tree.command(name="imagine-med-settings",
                      description="Your (or this channel's) defaults; no options shows them")
        @app_commands.describe(
            scope="user (yours) or channel (needs Manage Channels)", modality="default modality",
            size="default size in pixels", answer_key="show the answer key automatically",
            dm_results="send results by direct message",
        )
        @app_commands.choices(
            scope=[app_commands.Choice(name="user", value="user"),
                   app_commands.Choice(name="channel", value="channel")],
            size=[app_commands.Choice(name=str(s), value=s) for s in (256, 384, 512, 768, 1024)],
        )
        @app_commands.autocomplete(modality=ac_modality)
        async def settings(interaction: discord.Interaction[Any], scope: str = "user",
                           modality: str | None = None, size: int | None = None,
                           answer_key: bool | None = None,
                           dm_results: bool | None = None) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            who = self.who(interaction)
            changes = {"modality": modality, "size": size, "answer_key_auto": answer_key,
                       "dm_results": dm_results}
            outcome = await core.guarded(who, lambda: core.settings(who, scope, changes))
            await self.deliver(interaction, outcome)

        self._register_teaching()
        tree.on_error = self._on_tree_error  # type: ignore[method-assign]

    def _register_teaching(self) -> None:
        """/imagine-med-quiz, /imagine-med-leaderboard and the /imagine-med-library group."""
        core, tree = self.core, self.tree

        @tree.command(name="imagine-med-quiz",
                      description="Post a quiz case without its key (instructors)")
        @app_commands.describe(
            prompt="the case, e.g. PA chest x-ray, left pleural effusion",
            seconds="how long answers are taken (default 120)",
            course="course the scores count for (default: this channel)",
            collection="quiz on a saved library collection instead of a prompt",
            item="the library item number (default: a random item of the collection)")
        async def quiz(interaction: discord.Interaction[Any], prompt: str = "",
                       seconds: int | None = None, course: str | None = None,
                       collection: str | None = None, item: int | None = None) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            outcome = await core.guarded(who, lambda: core.quiz.start(
                who, prompt, seconds=seconds, course=course, collection=collection, item=item,
                target=_target(interaction)))
            await self.deliver(interaction, outcome, original_is_status=True)

        @tree.command(name="imagine-med-leaderboard", description="Quiz scores")
        @app_commands.describe(course="a course's scores (default: this channel's)")
        async def leaderboard(interaction: discord.Interaction[Any],
                              course: str | None = None) -> None:
            await interaction.response.defer(thinking=True)
            who = self.who(interaction)
            outcome = await core.guarded(who, lambda: core.quiz.leaderboard(who, course))
            await self.deliver(interaction, outcome, original_is_status=True)

        library = app_commands.Group(name="imagine-med-library",
                                     description="The course library of this server")

        async def run(interaction: discord.Interaction[Any], action: str,
                      public: bool = False, **args: object) -> None:
            await interaction.response.defer(thinking=True, ephemeral=not public)
            who = self.who(interaction)
            outcome = await core.guarded(who, lambda: core.library.run(who, action, **args))
            await self.deliver(interaction, outcome, original_is_status=public)

        @library.command(name="save", description="Save a finished job to a collection")
        @app_commands.describe(job="the job id shown under a result",
                               collection="collection name, e.g. chest-week-1",
                               tags="comma-separated tags", note="a note for the course")
        async def save(interaction: discord.Interaction[Any], job: str, collection: str,
                       tags: str = "", note: str = "") -> None:
            await run(interaction, "save", job=job, collection=collection, tags=tags, note=note)

        @library.command(name="list", description="Collections, or the items of one")
        async def list_(interaction: discord.Interaction[Any], collection: str = "") -> None:
            await run(interaction, "list", collection=collection)

        @library.command(name="search", description="Find items by modality, finding, tag or "
                                                    "author")
        async def search(interaction: discord.Interaction[Any], modality: str = "",
                         finding: str = "", tag: str = "", author: str = "") -> None:
            await run(interaction, "search", modality=modality, finding=finding, tag=tag,
                      author=author)

        @library.command(name="post", description="Post a library item in this channel")
        async def post(interaction: discord.Interaction[Any], item: int) -> None:
            await run(interaction, "post", public=True, item=item)

        @library.command(name="edit", description="New tags or note (owner, author, "
                                                  "instructors)")
        async def edit(interaction: discord.Interaction[Any], item: int,
                       tags: str | None = None, note: str | None = None) -> None:
            await run(interaction, "edit", item=item, tags=tags, note=note)

        @library.command(name="remove", description="Remove an item (owner, author, "
                                                    "instructors)")
        async def remove(interaction: discord.Interaction[Any], item: int) -> None:
            await run(interaction, "remove", item=item)

        tree.add_command(library)

    async def _on_tree_error(self, interaction: discord.Interaction[Any],
                             error: app_commands.AppCommandError) -> None:
        log.error("command failed", exc_info=error)
        text = "Something went wrong while handling that command; nothing was posted."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            pass

    # ---- buttons and forms ---------------------------------------------------------------

    async def on_button(self, interaction: discord.Interaction[Any], cid: ComponentId) -> None:
        who = self.who(interaction)
        if cid.action in FORM_ACTIONS:
            outcome = await self.core.guarded(
                who, lambda: self.core.press(who, cid.encode(), target=_target(interaction)))
            if outcome.form is not None:
                await interaction.response.send_modal(FormModal(self, outcome.form))
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.deliver(interaction, outcome)
            return
        await interaction.response.defer()
        outcome = await self.core.guarded(
            who, lambda: self.core.press(who, cid.encode(), target=_target(interaction)))
        await self.deliver(interaction, outcome, pressed=True)

    async def on_form(self, interaction: discord.Interaction[Any], custom_id: str,
                      values: dict[str, str]) -> None:
        # a typed quiz answer is for its author's eyes only, even while "thinking"
        private = custom_id.startswith(f"{ids.VERSION}:{Action.QUIZ_TYPE.value}:")
        await interaction.response.defer(thinking=True, ephemeral=private)
        who = self.who(interaction)
        outcome = await self.core.guarded(
            who, lambda: self.core.submit_form(who, custom_id, values,
                                               target=_target(interaction))
        )
        await self.deliver(interaction, outcome, original_is_status=not private)

    # ---- posting -------------------------------------------------------------------------

    async def deliver(self, interaction: discord.Interaction[Any], outcome: Outcome, *,
                      original_is_status: bool = False, pressed: bool = False) -> None:
        """Post an outcome after a defer: private replies as ephemeral followups, a job's
        status message in the original response (slash command) or as a new followup."""
        original_free = original_is_status
        original_private = not original_is_status and not pressed
        for reply in outcome.replies:
            content, embed = content_of(reply)
            files, notes = files_of(reply, self.limit)
            if notes:
                content, embed = content_of(Reply(reply.text, notes=reply.notes + notes))
            view = view_of(reply)
            kwargs: dict[str, Any] = {"content": content or None, "embed": embed,
                                      "allowed_mentions": mentions_of(reply)}
            if reply.ephemeral:
                if original_private:  # a private defer: its "thinking" message is ours
                    await interaction.edit_original_response(
                        attachments=files, view=view, **kwargs)
                    original_private = False
                    continue
                if original_free:  # a public "thinking" message must not hold an error
                    await interaction.delete_original_response()
                    original_free = False
                await interaction.followup.send(ephemeral=True, files=files,
                                                **({"view": view} if view else {}), **kwargs)
                continue
            job = next((j for j in outcome.jobs if j.id == reply.job_id), None)
            try:
                if original_free:
                    msg = await interaction.edit_original_response(attachments=files,
                                                                   view=view, **kwargs)
                    original_free = False
                elif pressed and reply.replaces:  # e.g. Cancel: the pressed message changes
                    msg = await interaction.edit_original_response(view=view, **kwargs)
                else:
                    msg = await interaction.followup.send(wait=True, files=files,
                                                          **({"view": view} if view else {}),
                                                          **kwargs)
            except discord.HTTPException as exc:
                log.warning("discord post failed: %s", exc)
                if job is not None:  # nowhere to show it: do not let it run unseen
                    await self.core.withdraw(job.id, self.who(interaction))
                await interaction.followup.send(
                    f"Discord refused the message ({exc.status}: "
                    f"{_as_typed(exc.text or 'no detail')}). "
                    "Check that I can send messages and attach files here.", ephemeral=True,
                    allowed_mentions=discord.AllowedMentions.none())
                continue
            if job is not None:
                await self.core.remember_target(job.id, PLATFORM, {
                    "message": str(msg.id), "channel": str(interaction.channel_id),
                    "posted_at": time.time(),
                })
        if original_free or original_private:  # nothing said: do not leave "thinking…"
            await interaction.delete_original_response()
        modchan, reviews = self.core.moderation_posts(outcome)
        for reply in reviews:
            content, embed = content_of(reply)
            try:
                await self.client.get_partial_messageable(int(modchan)).send(
                    content=content or None, embed=embed, view=view_of(reply),
                    allowed_mentions=mentions_of(reply))
            except discord.HTTPException as exc:
                log.error("cannot post to the moderation channel %s: %s", modchan, exc)

    # ---- delivery loop (Poster) ----------------------------------------------------------

    def _fresh(self, target: dict[str, Any]) -> bool:
        """Whether the interaction token can still edit (Discord: 15 minutes, with margin)."""
        age = time.time() - float(target.get("created_at") or 0)
        return bool(target.get("token")) and age < self.core.config.discord_token_ttl_s

    def _webhook(self, target: dict[str, Any]) -> discord.Webhook:
        return discord.Webhook.from_state(
            data={"id": int(target["app_id"]), "type": 3, "token": target["token"]},
            state=self.client._connection,
        )

    async def edit_status(self, job: JobView, target: dict[str, Any], reply: Reply) -> None:
        content, embed = content_of(reply)
        view = view_of(reply)
        mentions = mentions_of(reply)
        if self._fresh(target):
            await self._webhook(target).edit_message(
                int(target["message"]), content=content or None, embed=embed, view=view,
                allowed_mentions=mentions)
            return
        channel = self.client.get_partial_messageable(int(target["channel"]))
        await channel.get_partial_message(int(target["message"])).edit(
            content=content or None, embed=embed, view=view, allowed_mentions=mentions)

    async def post_result(self, job: JobView, target: dict[str, Any], reply: Reply) -> str:
        """Edit the status message into the result while the token lives; after that (or for
        results by direct message) post a new message with the bot token."""
        files, notes = files_of(reply, self.limit)
        if notes:
            reply = Reply(reply.text, reply.attachments, reply.rows, notes=reply.notes + notes,
                          mentions=reply.mentions)
        content, embed = content_of(reply)
        view = view_of(reply)
        mentions = mentions_of(reply)
        channel_id = str(target.get("channel") or job.channel or "")
        prefs = await self.core._io(self.core.prefs.effective, PLATFORM, job.owner, channel_id)
        if prefs.dm_results:
            user = await self.client.fetch_user(int(job.owner))
            msg = await user.send(content=content or None, embed=embed, files=files, view=view,
                                  allowed_mentions=mentions)
            return f"dm:{msg.channel.id}:{msg.id}"
        if self._fresh(target) and target.get("message"):
            msg = await self._webhook(target).edit_message(
                int(target["message"]), content=content or None, embed=embed,
                attachments=files, view=view, allowed_mentions=mentions)
            return f"{channel_id}:{msg.id}"
        channel = self.client.get_partial_messageable(int(channel_id))
        msg = await channel.send(content=content or None, embed=embed, files=files, view=view,
                                 allowed_mentions=mentions)
        if target.get("message"):  # the old status message no longer needs its Cancel button
            with contextlib.suppress(discord.HTTPException):
                await channel.get_partial_message(int(target["message"])).edit(
                    content=f"Done — the result is below (job `{job.id}`).", view=None)
        return f"{channel_id}:{msg.id}"

    async def post_channel(self, channel: str, reply: Reply) -> str:
        """A new message in `channel` with the bot token (a quiz, a timed reveal)."""
        files, notes = files_of(reply, self.limit)
        if notes:
            reply = Reply(reply.text, reply.attachments, reply.rows, notes=reply.notes + notes,
                          mentions=reply.mentions)
        content, embed = content_of(reply)
        msg = await self.client.get_partial_messageable(int(channel)).send(
            content=content or None, embed=embed, files=files, view=view_of(reply),
            allowed_mentions=mentions_of(reply))
        return f"{channel}:{msg.id}"

    async def post_private(self, job: JobView, target: dict[str, Any], reply: Reply) -> None:
        """Only the owner sees it: a direct message (no interaction is at hand here)."""
        files, _ = files_of(reply, self.limit)
        content, embed = content_of(reply)
        user = await self.client.fetch_user(int(job.owner))
        await user.send(content=content or None, embed=embed, files=files,
                        allowed_mentions=mentions_of(reply))

    # ---- running -------------------------------------------------------------------------

    async def start(self, token: str) -> None:
        await self.client.login(token)
        if self.sync_commands:
            guild_id = self.core.config.discord_guild
            if guild_id:
                guild = discord.Object(id=int(guild_id))
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
        await self.client.connect()


def _role_ids(user: discord.User | discord.Member) -> tuple[str, ...]:
    """The member's role ids as the interaction payload lists them (`member.roles`). discord.py
    keeps them on the Member even when the guild's roles are not cached, which `.roles`
    (Role objects, from the cache) needs."""
    return tuple(str(r) for r in getattr(user, "_roles", ()))


def _target(interaction: discord.Interaction[Any]) -> dict[str, Any]:
    """What the queue keeps with a job: the interaction webhook (valid 15 minutes)."""
    return {"app_id": str(interaction.application_id), "token": interaction.token,
            "created_at": time.time()}
