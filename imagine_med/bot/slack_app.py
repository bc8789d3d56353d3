"""The Slack adapter (slack-bolt, async): slash commands, buttons and modals -> `BotCore`.

Every handler acknowledges first (Slack's 3-second limit) and does the work afterwards. Messages
are posted with the bot token (chat.postMessage / files_upload_v2), which never expires, so a
late result needs no response_url. `SLACK_API_URL` points the Web API client elsewhere (tests,
proxies). HTTP mode serves bolt's usual `/slack/events`; Socket Mode needs SLACK_APP_TOKEN.

Every text goes out escaped (slack_render): a prompt's `<!channel>` or `<@U123>` is shown, not
sent as a ping; only a job's owner is mentioned on purpose.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from imagine_med.bot import ids
from imagine_med.bot import slack_render as render
from imagine_med.bot.core import MAX_VERIFY_BYTES, BotCore, Outcome
from imagine_med.bot.jobs import JobView, Upload, Who
from imagine_med.bot.reply import Reply

log = logging.getLogger(__name__)
PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
COMMANDS = ("/imagine-med", "/imagine-med-help", "/imagine-med-show", "/imagine-med-info",
            "/imagine-med-settings", "/imagine-med-verify", "/imagine-med-quiz",
            "/imagine-med-leaderboard", "/imagine-med-library", "/imagine-med-set",
            "/imagine-med-series")
# `--name value` options of /imagine-med-quiz (a value with spaces in double quotes)
QUIZ_OPTION = re.compile(r'(?:^|\s)--(seconds|course|collection|item)\s+("[^"]*"|\S+)', re.I)
FILE_ID = re.compile(r"\b(F[A-Z0-9]{6,})\b")
# `--image` with a file's link or id, or alone: the newest image its user shared in the
# channel within SHARED_WITHIN_S (shared with the command: drag it in, then type the command)
IMAGE_FLAG = re.compile(r"(?:^|\s)--image(?:\s+<?(\S*F[A-Z0-9]{6,}[^\s>]*)>?)?(?=\s|$)")
SHARED_WITHIN_S = 600
# an image block may name a file Slack is still processing: retry, then fall back
IMAGE_BLOCK_TRIES = 3
IMAGE_BLOCK_WAIT_S = 1.0


def split_image_flag(text: str) -> tuple[str, str | None]:
    """The prompt without `--image [link]`, and the file id asked for ('' for the newest one
    shared; None when no image is asked for)."""
    m = IMAGE_FLAG.search(text)
    if m is None:
        return text, None
    found = FILE_ID.search(m.group(1) or "")
    return (text[:m.start()] + " " + text[m.end():]).strip(), found.group(1) if found else ""


SETTING_KEYS = {"modality": "modality", "size": "size", "answer_key": "answer_key_auto",
                "answer_key_auto": "answer_key_auto", "dm": "dm_results",
                "dm_results": "dm_results"}


def parse_settings_text(raw: str) -> tuple[str, dict[str, str], list[str]]:
    """`modality=ct size=768 scope=channel` -> (scope, changes, words not understood)."""
    scope, changes, bad = "user", {}, []
    for word in raw.split():
        key, sep, value = word.partition("=")
        key = key.lower().lstrip("-")
        if not sep:
            bad.append(word)
        elif key == "scope":
            scope = value.lower()
        elif key in SETTING_KEYS:
            changes[SETTING_KEYS[key]] = value
        else:
            changes[key] = value  # validate() names it as unknown
    return scope, changes, bad


def parse_quiz_text(raw: str) -> tuple[str, dict[str, Any]]:
    """`<prompt> --seconds 90 --course "RAD 101"` -> (prompt, quiz options)."""
    opts: dict[str, Any] = {}
    for m in QUIZ_OPTION.finditer(raw):
        key, value = m.group(1).lower(), m.group(2).strip('"')
        if key in ("seconds", "item"):
            if not value.isdigit():
                raise ValueError(f"--{key} takes a whole number; got {value[:20]!r}.")
            opts[key] = int(value)
        else:
            opts[key] = value
    return QUIZ_OPTION.sub(" ", raw).strip(), opts


LIBRARY_POSITIONAL = {"save": ("job", "collection"), "list": ("collection",), "search": (),
                      "post": ("item",), "edit": ("item",), "remove": ("item",)}
LIBRARY_KEYS = {"save": ("tags", "note"), "list": (), "edit": ("tags", "note"),
                "search": ("modality", "finding", "tag", "author"), "post": (), "remove": ()}


def parse_library_text(raw: str) -> tuple[str, dict[str, Any]]:
    """`save 7f3a9c2e chest-week-1 tags=a,b note="x y"` -> ("save", {...})."""
    import shlex

    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise ValueError(f"I could not read that ({exc}); close your quotes.") from exc
    if not words or words[0].lower() not in LIBRARY_POSITIONAL:
        raise ValueError("Use `/imagine-med-library save <job> <collection> tags=a,b "
                         "note=\"...\"`, `list [collection]`, `search finding=... tag=... "
                         "modality=... author=...`, `post <item>`, `edit <item> tags=... "
                         "note=...` or `remove <item>`.")
    action, rest = words[0].lower(), words[1:]
    args: dict[str, Any] = {}
    positional = list(LIBRARY_POSITIONAL[action])
    for word in rest:
        key, sep, value = word.partition("=")
        if sep and key.lower() in LIBRARY_KEYS[action]:
            args[key.lower()] = value
        elif not sep and positional:
            args[positional.pop(0)] = word
        else:
            raise ValueError(f"`{action}` does not take {word[:40]!r}.")
    if "item" in args:
        if not str(args["item"]).lstrip("#").isdigit():
            raise ValueError(f"Item numbers are whole numbers; got {args['item'][:20]!r}.")
        args["item"] = int(str(args["item"]).lstrip("#"))
    elif action in ("post", "edit", "remove"):
        raise ValueError(f"`{action}` needs an item number (see `list`).")
    return action, args


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def _shared_ts(upload: Any, channel: str) -> str:
    """The message ts a shared upload made in `channel` (Slack reports it under the file's
    shares), or "" where it does not say."""
    try:
        shares = (upload.get("file") or {}).get("shares") or {}
        for kind in ("public", "private"):
            for ch, posts in (shares.get(kind) or {}).items():
                if ch == channel and posts:
                    return str(posts[0].get("ts", ""))
    except (AttributeError, TypeError):
        pass
    return ""


class SlackBot:
    def __init__(self, core: BotCore, *, token: str, signing_secret: str,
                 api_url: str = "https://slack.com/api/") -> None:
        self.core = core
        self.platform = PLATFORM
        self.client = AsyncWebClient(token=token, base_url=api_url)
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret)
        self._dm_channels: dict[str, str] = {}
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        core.use_channel_members(PLATFORM, self)
        a = self.app
        a.command("/imagine-med")(self._cmd_imagine)
        a.command("/imagine-med-help")(self._cmd_help)
        a.command("/imagine-med-show")(self._cmd_show)
        a.command("/imagine-med-info")(self._cmd_info)
        a.command("/imagine-med-settings")(self._cmd_settings)
        a.command("/imagine-med-verify")(self._cmd_verify)
        a.command("/imagine-med-quiz")(self._cmd_quiz)
        a.command("/imagine-med-leaderboard")(self._cmd_leaderboard)
        a.command("/imagine-med-library")(self._cmd_library)
        a.command("/imagine-med-set")(self._cmd_set)
        a.command("/imagine-med-series")(self._cmd_series)
        a.action(re.compile(f"^{ids.PATTERN}$"))(self._on_button)
        a.view(re.compile(f"^{ids.PATTERN}$"))(self._on_form)

    # ---- who -----------------------------------------------------------------------------

    def _who(self, body: dict[str, Any], channel: str | None = None) -> Who:
        user = body.get("user_id") or (body.get("user") or {}).get("id", "")
        channel = channel or body.get("channel_id") or (body.get("channel") or {}).get("id", "")
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        name = body.get("user_name") or (body.get("user") or {}).get("username", "")
        return Who(PLATFORM, user, channel, team, name)  # rights: BotCore.identify

    async def is_member(self, who: Who, channel_id: str) -> bool:
        """A channel grant on Slack: the channel's members (conversations.members, needs the
        channels:read / groups:read scope), cached for `channel_members_ttl_s`."""
        now = time.monotonic()
        cached = self._members.get(channel_id)
        if cached is None or now - cached[0] > self.core.config.channel_members_ttl_s:
            members: set[str] = set()
            cursor = None
            try:
                while True:
                    resp = await self.client.conversations_members(
                        channel=channel_id, limit=1000, **({"cursor": cursor} if cursor else {}))
                    members.update(resp.get("members") or [])
                    cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
            except SlackApiError as exc:
                log.error("cannot list the members of moderator channel %s (%s); add the "
                          "channels:read / groups:read scope", channel_id, _code(exc))
                return False
            cached = self._members[channel_id] = (now, frozenset(members))
        return who.user_id in cached[1]

    # ---- slash commands ------------------------------------------------------------------

    async def _cmd_imagine(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med <prompt> [--image [file link]]`: slash commands carry no files, so an
        image is named by its link, or is the newest one its user shared in the channel."""
        await ack()
        who = self._who(body)
        prompt, wanted = split_image_flag(body.get("text", ""))

        async def run() -> Outcome:
            upload = None
            if wanted is not None:
                got = await self._shared_file(who, wanted)
                if isinstance(got, Outcome):
                    return got
                upload = got
            return await self.core.imagine(who, prompt, target=_target(body), image=upload)

        await self.deliver(who, await self.core.guarded(who, run), body)

    async def _shared_file(self, who: Who, file_id: str) -> Upload | Outcome:
        """The named file, or the newest image `who` shared in this channel lately; its
        declared size is checked before it is downloaded (with the bot token)."""
        if not file_id:
            try:
                listed = await self.client.files_list(
                    channel=who.channel_id, user=who.user_id, types="images", count=1,
                    ts_from=str(int(time.time()) - SHARED_WITHIN_S))
            except SlackApiError as exc:
                return Outcome.error(f"I cannot list the files shared here ({_code(exc)}).")
            files = listed.get("files") or []
            if not files:
                return Outcome.error(
                    "No image of yours was shared in this channel in the last "
                    f"{SHARED_WITHIN_S // 60} minutes. Drag the image into the channel, then "
                    "run `/imagine-med <prompt> --image` (or add the image's link after "
                    "--image).")
            file_id = files[0]["id"]
        got = await self._download(file_id, self.core.too_big_to_use)
        if isinstance(got, Outcome):
            return got
        return Upload(got[1], got[0])

    async def _download(self, file_id: str, too_big: Any) -> tuple[str, bytes] | Outcome:
        """(name, bytes) of a shared file, or why not; `too_big(name, size)` refuses it from
        its declared size first."""
        try:
            info = (await self.client.files_info(file=file_id))["file"]
        except SlackApiError as exc:
            return Outcome.error(f"I cannot open file {file_id} "
                                 f"({_code(exc)}); is it shared in this channel?")
        name = info.get("name") or file_id
        refused = too_big(name, int(info.get("size") or 0))
        if refused is not None:
            return refused
        import aiohttp

        headers = {"Authorization": f"Bearer {self.client.token}"}
        async with aiohttp.ClientSession() as session, session.get(
            info["url_private_download"], headers=headers
        ) as resp:
            if resp.status != 200:
                return Outcome.error(f"Slack did not hand over {name} (HTTP {resp.status}).")
            return name, await resp.read()

    async def _cmd_set(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med-set PA chest x-ray --findings a, b --per-finding 20 --normal 0.2`"""
        await ack()
        who = self._who(body)
        outcome = await self.core.guarded(
            who, lambda: self.core.caseset(who, body.get("text", ""), target=_target(body)))
        await self.deliver(who, outcome, body)

    async def _cmd_series(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med-series JOB[:VARIANT] CT of this patient` (or `follow-up at 6 weeks`)"""
        await ack()
        who = self._who(body)
        ref, _, request = body.get("text", "").strip().partition(" ")
        job_id, _, variant = ref.replace("job:", "").partition(":")
        index = int(variant) if variant.isdigit() else 1
        outcome = await self.core.guarded(who, lambda: self.core.series(
            who, job_id, request, index, target=_target(body)))
        await self.deliver(who, outcome, body)

    async def _cmd_help(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.deliver(self._who(body), self.core.help(), body)

    async def _cmd_show(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        who = self._who(body)
        outcome = await self.core.guarded(
            who, lambda: self.core.show(who, body.get("text", "").replace("job:", ""))
        )
        await self.deliver(who, outcome, body)

    async def _cmd_info(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        who = self._who(body)
        await self.deliver(who, await self.core.guarded(who, lambda: self.core.info(who)), body)

    async def _cmd_settings(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        who = self._who(body)
        scope, changes, bad = parse_settings_text(body.get("text", ""))
        if bad:
            outcome = Outcome.error(
                f"I could not read {', '.join(map(repr, bad))}. Write settings as key=value, "
                "e.g. `/imagine-med-settings modality=ct size=768 answer_key=yes dm=no "
                "scope=channel`."
            )
        else:
            outcome = await self.core.guarded(
                who, lambda: self.core.settings(who, scope, changes)
            )
        await self.deliver(who, outcome, body)

    async def _cmd_verify(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med-verify <file link or id>`: slash commands carry no files, so the file
        is named by its link (Share > Copy link) and fetched with the bot token."""
        await ack()
        who = self._who(body)
        m = FILE_ID.search(body.get("text", ""))
        if m is None:
            outcome = Outcome.error(
                "Give the image's link or file id, e.g. `/imagine-med-verify "
                "https://yourteam.slack.com/files/U123/F0123ABCD/grid.png` (Share → Copy link)."
            )
        else:
            outcome = await self.core.guarded(who, lambda: self._verify_file(who, m.group(1)))
        await self.deliver(who, outcome, body)

    async def _cmd_quiz(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med-quiz <prompt> [--seconds 90] [--course "RAD 101"]`, or
        `/imagine-med-quiz --collection chest-week-1 [--item 12]`."""
        await ack()
        who = self._who(body)
        try:
            prompt, opts = parse_quiz_text(body.get("text", ""))
        except ValueError as exc:
            outcome = Outcome.error(str(exc))
        else:
            outcome = await self.core.guarded(who, lambda: self.core.quiz.start(
                who, prompt, target=_target(body), **opts))
        await self.deliver(who, outcome, body)

    async def _cmd_leaderboard(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        who = self._who(body)
        course = body.get("text", "").strip().strip('"') or None
        outcome = await self.core.guarded(who, lambda: self.core.quiz.leaderboard(who, course))
        await self.deliver(who, outcome, body)

    async def _cmd_library(self, ack: Any, body: dict[str, Any]) -> None:
        """`/imagine-med-library save <job> <collection> tags=a,b note="..."`, `list
        [collection]`, `search finding=... tag=...`, `post <item>`, `edit <item> tags=...`,
        `remove <item>`."""
        await ack()
        who = self._who(body)
        try:
            action, args = parse_library_text(body.get("text", ""))
        except ValueError as exc:
            outcome = Outcome.error(str(exc))
        else:
            outcome = await self.core.guarded(
                who, lambda: self.core.library.run(who, action, **args))
        await self.deliver(who, outcome, body)

    async def _verify_file(self, who: Who, file_id: str) -> Outcome:
        def too_big(name: str, size: int) -> Outcome | None:
            if size > MAX_VERIFY_BYTES:
                return Outcome.error(f"{name} is too large to check here.")
            return None

        got = await self._download(file_id, too_big)
        if isinstance(got, Outcome):
            return got
        return await self.core.verify(who, got[1], got[0])

    # ---- buttons and forms ---------------------------------------------------------------

    async def _on_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A button: its follow-ups (U, V, reroll, Refine) go in the thread under the message
        it is on (the grid), or in that message's own thread."""
        await ack()
        who = self._who(body)
        pressed_in = _pressed_in(body)  # private replies stay where the button was pressed
        thread = _thread_parent(body) if _threaded(action["action_id"]) else pressed_in
        outcome = await self.core.guarded(
            who, lambda: self.core.press(who, action["action_id"],
                                         target=_target(body, thread))
        )
        if outcome.form is not None:
            await self.client.views_open(
                trigger_id=body["trigger_id"],
                view=render.modal(outcome.form, {"channel": who.channel_id,
                                                 "thread_ts": thread}),
            )
        source = (body.get("container") or {}).get("message_ts")
        await self.deliver(who, outcome, body, source_ts=source, thread_ts=thread,
                           private_ts=pressed_in)

    async def _on_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        who = self._who(body, channel=meta.get("channel"))
        thread = meta.get("thread_ts") or None
        values = render.form_values(view)
        outcome = await self.core.guarded(
            who, lambda: self.core.submit_form(who, view["callback_id"], values,
                                               target=_target(body, thread))
        )
        await self.deliver(who, outcome, body, thread_ts=thread, private_ts=thread)

    # ---- posting -------------------------------------------------------------------------

    async def deliver(self, who: Who, outcome: Outcome, body: dict[str, Any],
                      source_ts: str | None = None, thread_ts: str | None = None,
                      private_ts: str | None = None) -> None:
        """Post an outcome: private replies to the user (in `private_ts`'s thread), job status
        messages to the channel or to `thread_ts`'s thread (remembered for the delivery
        loop), moderation items to the moderators' channel."""
        for reply in outcome.replies:
            try:
                await self._post_reply(who, reply, body, source_ts, outcome, thread_ts,
                                       private_ts)
            except SlackApiError as exc:
                log.warning("slack post failed: %s", _code(exc))
                if any(j.id == reply.job_id for j in outcome.jobs) and reply.job_id:
                    await self.core.withdraw(reply.job_id, who)  # nowhere to show it
                await self._private(who, _slack_error_text(exc), body)
        modchan, reviews = self.core.moderation_posts(outcome)
        for reply in reviews:
            try:
                await self.client.chat_postMessage(channel=modchan, text=render.fallback_text(
                    reply), blocks=render.blocks(reply))
            except SlackApiError as exc:
                log.error("cannot post to the moderation channel %s: %s", modchan,
                          _code(exc))

    async def _post_reply(self, who: Who, reply: Reply, body: dict[str, Any],
                          source_ts: str | None, outcome: Outcome,
                          thread_ts: str | None = None, private_ts: str | None = None) -> None:
        if reply.ephemeral:
            await self._private(who, reply, body, private_ts)
            return
        job = next((j for j in outcome.jobs if j.id == reply.job_id), None)
        if job is not None:  # a new job's status message
            resp = await self.client.chat_postMessage(
                channel=who.channel_id, text=render.fallback_text(reply),
                blocks=render.blocks(reply), **_in_thread(thread_ts),
            )
            await self.core.remember_target(job.id, PLATFORM, {
                "channel": resp["channel"], "ts": resp["ts"], "posted_at": time.time(),
                **({"thread_ts": thread_ts} if thread_ts else {}),
            })
            return
        if source_ts and reply.replaces:  # e.g. Cancel: the pressed message changes
            await self.client.chat_update(channel=who.channel_id, ts=source_ts,
                                          text=render.fallback_text(reply),
                                          blocks=render.blocks(reply))
            return
        await self._post_public(who.channel_id, reply)

    async def _post_public(self, channel: str, reply: Reply,
                           thread_ts: str | None = None) -> str:
        """One message: its text, its image (an image block showing the file uploaded just
        before, unshared) and its buttons, as on Discord; returns its ts (a thread's parent).
        Where Slack has not made the upload viewable yet, the image is shared in the channel
        with its text and the buttons follow as a second message."""
        if not reply.attachments:
            resp = await self.client.chat_postMessage(
                channel=channel, text=render.fallback_text(reply), blocks=render.blocks(reply),
                **_in_thread(thread_ts))
            return str(resp["ts"])
        if not all(a.filename.lower().endswith(IMAGE_SUFFIXES) for a in reply.attachments):
            # a ZIP, CSV or DICOM cannot show in an image block: share the files themselves
            return await self._share_files(channel, reply, [(None, a) for a in
                                                            reply.attachments], thread_ts)
        files = []
        for att in reply.attachments:
            up = await self.client.files_upload_v2(
                file=att.path.read_bytes(), filename=att.filename, title=att.filename,
                alt_txt=att.alt[:1000])
            files.append(((up.get("file") or {}).get("id"), att))
        images = [render.image_block(fid, att.alt) for fid, att in files if fid]
        text = render.fallback_text(reply)
        for attempt in range(IMAGE_BLOCK_TRIES):
            try:
                resp = await self.client.chat_postMessage(
                    channel=channel, text=text, blocks=render.blocks(reply, images=images),
                    **_in_thread(thread_ts))
                return str(resp["ts"])
            except SlackApiError as exc:
                if _code(exc) not in ("invalid_blocks", "invalid_blocks_format"):
                    raise
                await asyncio.sleep(IMAGE_BLOCK_WAIT_S * (attempt + 1))
        # fall back: the file shared in the channel, then buttons
        return await self._share_files(channel, reply, files, thread_ts)

    async def _share_files(self, channel: str, reply: Reply, files: list,
                           thread_ts: str | None) -> str:
        """The files shared in the channel, the message's text with the first; its buttons,
        if it has any, as a second message. Returns the ts to thread follow-ups under."""
        ts = ""
        for n, (_fid, att) in enumerate(files):
            comment = {"initial_comment": render.mrkdwn(reply.full_text(), reply.mentions)} \
                if n == 0 else {}
            up = await self.client.files_upload_v2(
                channel=channel, file=att.path.read_bytes(), filename=att.filename,
                title=att.filename, alt_txt=att.alt[:1000], **comment, **_in_thread(thread_ts))
            ts = ts or _shared_ts(up, channel)
        if not reply.rows:
            return ts
        text = (f"U = upscale, V = variations (job {reply.job_id})" if reply.job_id
                else "Buttons for the image above")
        resp = await self.client.chat_postMessage(
            channel=channel, text=text, blocks=render.blocks(reply, with_text=False),
            **_in_thread(thread_ts))
        return str(resp["ts"])

    async def _private(self, who: Who, reply: Reply | str, body: dict[str, Any],
                       thread_ts: str | None = None) -> None:
        """Only `who` sees it: an ephemeral message (in the thread the button was pressed
        under); its images go to a direct message, since Slack cannot attach files to
        ephemeral messages."""
        if isinstance(reply, str):
            reply = Reply(reply, ephemeral=True)
        try:
            await self.client.chat_postEphemeral(
                channel=who.channel_id, user=who.user_id, text=render.fallback_text(reply),
                blocks=render.blocks(reply), **_in_thread(thread_ts),
            )
        except SlackApiError:
            url = body.get("response_url")
            if not url:
                raise
            from slack_sdk.webhook.async_client import AsyncWebhookClient

            await AsyncWebhookClient(url).send(text=render.fallback_text(reply),
                                               blocks=render.blocks(reply),
                                               response_type="ephemeral")
        if reply.attachments:
            dm = await self._dm(who.user_id)
            for att in reply.attachments:
                await self.client.files_upload_v2(
                    channel=dm, file=att.path.read_bytes(), filename=att.filename,
                    title=att.filename, alt_txt=att.alt[:1000],
                    initial_comment=render.mrkdwn(reply.text.splitlines()[0], reply.mentions),
                )

    async def _dm(self, user: str) -> str:
        if user not in self._dm_channels:
            resp = await self.client.conversations_open(users=user)
            self._dm_channels[user] = resp["channel"]["id"]
        return self._dm_channels[user]

    # ---- delivery loop (Poster) ----------------------------------------------------------

    async def edit_status(self, job: JobView, target: dict[str, Any], reply: Reply) -> None:
        await self.client.chat_update(channel=target["channel"], ts=target["ts"],
                                      text=render.fallback_text(reply),
                                      blocks=render.blocks(reply))

    async def post_result(self, job: JobView, target: dict[str, Any], reply: Reply) -> str:
        """Results go out with the bot token (never expires): the image through
        files_upload_v2, its buttons right below; the status message is then removed."""
        channel = target.get("channel") or job.channel or ""
        prefs = await self.core._io(self.core.prefs.effective, PLATFORM, job.owner, channel)
        dest = await self._dm(job.owner) if prefs.dm_results else channel
        thread = None if prefs.dm_results else target.get("thread_ts")
        ref = await self._post_public(dest, reply, thread)
        if target.get("ts"):
            try:
                await self.client.chat_delete(channel=target["channel"], ts=target["ts"])
            except SlackApiError as exc:
                log.info("could not delete status message: %s", _code(exc))
        return json.dumps({"channel": dest, "ref": ref})

    async def post_channel(self, channel: str, reply: Reply) -> str:
        """A new message in `channel` with the bot token (a quiz, a timed reveal)."""
        return json.dumps({"channel": channel, "ref": await self._post_public(channel, reply)})

    async def post_private(self, job: JobView, target: dict[str, Any], reply: Reply) -> None:
        channel = target.get("channel") or job.channel or ""
        await self._private(Who(PLATFORM, job.owner, channel), reply, {})

    # ---- serving -------------------------------------------------------------------------

    def web_app(self, path: str = EVENTS_PATH) -> Any:
        """The aiohttp application of HTTP mode (bolt's server, `/slack/events`)."""
        from slack_bolt.app.async_server import AsyncSlackAppServer

        return AsyncSlackAppServer(port=0, path=path, app=self.app).web_app

    def socket_mode_handler(self, app_token: str) -> Any:
        """Socket Mode (no public URL): Slack's events arrive over a WebSocket opened with the
        app-level token; apps.connections.open goes to SLACK_API_URL like every other call."""
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        return AsyncSocketModeHandler(self.app, app_token,
                                      web_client=AsyncWebClient(base_url=self.client.base_url))

    async def socket_mode(self, app_token: str) -> None:
        await self.socket_mode_handler(app_token).start_async()


def _target(body: dict[str, Any], thread_ts: str | None = None) -> dict[str, Any]:
    """What the queue keeps with a job: the response URL (valid 30 minutes), for reference,
    and the thread its messages go in."""
    return {"response_url": body.get("response_url") or None, "created_at": time.time(),
            **({"thread_ts": thread_ts} if thread_ts else {})}


def _thread_parent(body: dict[str, Any]) -> str | None:
    """The thread a button's follow-ups go in: the pressed message's own thread, else the
    pressed message (the grid) as the parent of a new one."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        return container.get("thread_ts") or None
    return message.get("thread_ts") or container.get("message_ts") or None


# buttons whose new jobs go in a thread under the pressed message (the grid), as on Discord
THREADED = frozenset({ids.Action.UPSCALE, ids.Action.UPSCALE4, ids.Action.VARY,
                      ids.Action.VARY_STRONG, ids.Action.REROLL, ids.Action.REFINE})


def _threaded(custom_id: str) -> bool:
    try:
        return ids.decode(custom_id).action in THREADED
    except ids.ComponentIdError:
        return False


def _pressed_in(body: dict[str, Any]) -> str | None:
    """The thread the pressed message is in (None: the channel itself)."""
    container = body.get("container") or {}
    return (body.get("message") or {}).get("thread_ts") or container.get("thread_ts") or None


def _in_thread(thread_ts: str | None) -> dict[str, str]:
    return {"thread_ts": thread_ts} if thread_ts else {}


def _code(exc: SlackApiError) -> str:
    """Slack's error code ("not_in_channel"), or the HTTP status when the body is not JSON."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(exc.response, 'status_code', '?')}"


def _slack_error_text(exc: SlackApiError) -> str:
    code = _code(exc)
    if code in ("not_in_channel", "channel_not_found"):
        return ("I cannot post in this channel. Invite me first (`/invite @imagine-med`), "
                "then run the command again.")
    return f"Slack refused the message ({code}). Nothing was posted."
