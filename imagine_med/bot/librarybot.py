"""`/imagine-med-library`: save, list, search, post, edit and remove course-library items.

Platform-neutral (BotCore's library part). Rights come from `imagine_med.teaching.library`:
everyone in the guild/workspace views and re-posts; a collection's owner, an item's author and
instructors (`BotCore.is_instructor`) edit. Tags, notes and names are user text: always quoted
with `said`, so they never ping or format. A case inside a quiz that has not been revealed is
listed without its findings and left out of finding searches, so the library cannot give a
running quiz away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_med.bot import text
from imagine_med.bot.casefiles import case_doc
from imagine_med.bot.jobs import JobView, Who
from imagine_med.bot.markup import said
from imagine_med.bot.reply import Reply
from imagine_med.errors import UserError
from imagine_med.teaching.library import (
    CaseFacts,
    Item,
    Library,
    Member,
    clean_note,
    clean_tags,
)
from imagine_med.teaching.quiz_choices import measured_answers

if TYPE_CHECKING:
    from imagine_med.bot.core import BotCore, Outcome

ACTIONS = ("save", "list", "search", "post", "edit", "remove")


def case_facts(job: JobView) -> CaseFacts:
    """Modality, region and the findings measured in any variant's labels (blocking)."""
    spec = job.spec
    doc = case_doc(job.files) or {}
    found: list[str] = []
    for v in doc.get("variants") or []:
        try:
            for a in measured_answers(doc, job.files, int(v["index"])):
                if a.name not in found:
                    found.append(a.name)
        except (ValueError, KeyError, OSError):
            continue
    summary = str(doc.get("interpreted_as") or (spec.describe() if spec else ""))
    return CaseFacts(spec.modality if spec else None, spec.region if spec else None,
                     tuple(found), summary)


class LibraryBot:
    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.store = Library(core.prefs.engine)

    def _outcome(self) -> type[Outcome]:
        from imagine_med.bot.core import Outcome

        return Outcome

    async def member(self, who: Who) -> Member:
        return Member(who.platform, who.team_id, who.user_id, who.user_name,
                      await self.core.is_instructor(who))

    def _private(self, message: str) -> Outcome:
        return self._outcome()(replies=[Reply(message, ephemeral=True)])

    async def run(self, who: Who, action: str, **args: object) -> Outcome:
        """One library command; a UserError (bad tag, no rights, no item) becomes a private
        message that says why."""
        core = self.core
        if not core.allowed(who):
            return self._outcome().error(text.NOT_ALLOWED_HERE)
        handler = getattr(self, f"_{action}", None) if action in ACTIONS else None
        if handler is None:
            return self._outcome().error(
                f"Library commands are {', '.join(ACTIONS)}; got " + said(repr(action)) + ".")
        try:
            return await handler(await self.member(who), who, **args)
        except UserError as exc:
            return self._outcome().error(exc.message)

    async def _save(self, m: Member, who: Who, job: str = "", collection: str = "",
                    tags: str = "", note: str = "") -> Outcome:
        core = self.core
        job_id = job.strip().strip("`")
        if not job_id or not collection.strip():
            raise UserError("Give the job id and a collection, e.g. save job:7f3a9c2e "
                            "collection:chest-week-1 tags:pneumonia note:…")
        view = await core._io(core.jobs.get, job_id)
        if view is None or not view.same_team(who):
            raise UserError(text.no_job(job_id))
        if view.state != "done" or not view.files:
            raise UserError(f"Job {view.id} is {view.state}; save it once its images are ready.")
        facts = await core._io(case_facts, view)
        item = await core._io(self.store.save, m, collection, view.id, facts,
                              tags=clean_tags(tags), note=clean_note(note),
                              channel=who.channel_id)
        return self._private(f"Saved job `{view.id}` to the library as item #{item.id}:\n"
                             + await self._line(item))

    async def _list(self, m: Member, who: Who, collection: str = "") -> Outcome:
        core = self.core
        if not collection.strip():
            cols = await core._io(self.store.collections, m)
            if not cols:
                return self._private("The library of this server/workspace is empty. Save a "
                                     "job with `save`.")
            lines = ["📚 Collections:"]
            lines += [said(c.name) + f" — {text.plural(c.items, 'item')}, owner "
                      + said(c.owner_name or c.owner_id) for c in cols]
            return self._private("\n".join(lines))
        found = await core._io(self.store.items_of, m, collection)
        return await self._items(found, f"📚 Collection {said(collection.strip())}")

    async def _search(self, m: Member, who: Who, modality: str = "", finding: str = "",
                      tag: str = "", author: str = "") -> Outcome:
        core = self.core
        if not any(x.strip() for x in (modality, finding, tag, author)):
            raise UserError("Search by modality, finding, tag or author (any of them).")
        found = await core._io(self.store.search, m, modality=modality or None,
                               finding=finding or None, tag=tag or None, author=author or None)
        if finding or modality:  # a running quiz's case must not turn up by its finding
            hidden = await core._io(self._hidden, [i.job_id for i in found])
            found = [i for i in found if i.job_id not in hidden]
        asked = ", ".join(f"{k}: " + said(v.strip()) for k, v in (
            ("modality", modality), ("finding", finding), ("tag", tag), ("author", author))
            if v.strip())
        return await self._items(found, f"🔎 Library search ({asked})")

    async def _post(self, m: Member, who: Who, item: int = 0) -> Outcome:
        core = self.core
        entry = await core._io(self.store.get, m, int(item))
        if await core._io(core.quiz.store.unrevealed_job, entry.job_id):
            raise UserError(text.QUIZ_HIDDEN)
        job = await core._io(core.jobs.get, entry.job_id)
        if job is None or job.state != "done" or not job.files:
            raise UserError(f"Library item #{entry.id} has no finished images any more.")
        reply = core.result_reply(job)
        reply.mentions = ()  # a re-post pings nobody
        head = (f"📚 From the library: item #{entry.id}, collection " + said(entry.collection)
                + ", saved by " + said(entry.author_name or entry.author_id))
        if entry.tags:
            head += " · tags: " + said(", ".join(entry.tags))
        if entry.note:
            head += "\nNote: " + said(entry.note)
        reply.text = head + "\n" + reply.text
        return self._outcome()(replies=[reply])

    async def _edit(self, m: Member, who: Who, item: int = 0, tags: str | None = None,
                    note: str | None = None) -> Outcome:
        if tags is None and note is None:
            raise UserError("Give new tags or a new note (or both).")
        entry = await self.core._io(self.store.edit, m, int(item),
                                    tags=None if tags is None else clean_tags(tags),
                                    note=None if note is None else clean_note(note))
        return self._private("Updated:\n" + await self._line(entry))

    async def _remove(self, m: Member, who: Who, item: int = 0) -> Outcome:
        entry = await self.core._io(self.store.remove, m, int(item))
        return self._private(f"Removed item #{entry.id} (job `{entry.job_id}`) from "
                             + said(entry.collection) + ".")

    # ---- wording --------------------------------------------------------------------

    def _hidden(self, job_ids: list[str]) -> set[str]:
        return {j for j in set(job_ids) if self.core.quiz.store.unrevealed_job(j)}

    async def _line(self, item: Item, hidden: bool = False) -> str:
        what = ("(in a quiz that has not been revealed yet)" if hidden
                else item.summary or "case")
        line = (f"#{item.id} · " + said(item.collection) + f" · {what} · job `{item.job_id}`"
                + " · by " + said(item.author_name or item.author_id))
        if item.tags:
            line += " · tags: " + said(", ".join(item.tags))
        if item.note:
            line += " · note: " + said(item.note)
        return line

    async def _items(self, found: list[Item], title: str) -> Outcome:
        if not found:
            return self._private(title + ": nothing found.")
        hidden = await self.core._io(self._hidden, [i.job_id for i in found])
        lines = [f"{title}: {text.plural(len(found), 'item')}"]
        for i in found:
            lines.append(await self._line(i, i.job_id in hidden))
        return self._private("\n".join(lines))
