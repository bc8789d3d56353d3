"""The queue's public API, used by the chat adapters, the CLI and moderation.

    q = JobQueue()                                 # REDIS_URL / DATABASE_URL from settings
    refs = q.submit(specs, Requester("discord", user="42", team="g1", channel="c1",
                                     roles=("student",), reply_target={"interaction": "..."}))
    q.position(refs[0].id)                         # 3 -> "Queued (#3 in line)"
    q.cancel(refs[0].id, by=requester)             # owner or moderator
    for ev in q.consumer("discord", "discord-bot", "host-1").read(): ...

`submit` writes one job per spec (a prompt's permutations become separate jobs, so round-robin
between users interleaves them), atomically: all jobs are queued or none, and a refused or failed
submit leaves nothing behind. Errors are `QueueError`s whose `.message` is for the end user.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from imagine_med.prompt.spec import CaseSpec, EngineName
from imagine_med.prompt.text import clean_prompt
from imagine_med.queue.config import LANES, QueueSettings, get_queue_settings
from imagine_med.queue.connection import Backoff, connect, resolve_url, wrap_errors
from imagine_med.queue.keys import Keys
from imagine_med.queue.scripts import Scripts
from imagine_med.queue.types import (
    JOB_KINDS,
    TERMINAL,
    Event,
    JobInfo,
    JobNotFound,
    JobRef,
    LimitExceeded,
    NotAllowed,
    QueueError,
    Requester,
)
from imagine_med.settings import Settings, get_settings
from imagine_med.store import make_engine, repo, session_scope
from imagine_med.store.blobs import blob_store_for

log = logging.getLogger("imagine_med.queue")
ENGINES: tuple[str, ...] = typing.get_args(EngineName)


def serves(routes: Iterable[str], offer: Any) -> bool:
    """Whether a worker on `routes` renders a registry row: `*` (any), the row's engine, or
    its engine:modality."""
    routes = set(routes)
    return bool({"*", offer.engine, f"{offer.engine}:{offer.modality}"} & routes)


def _ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def info_to_row(info: JobInfo) -> dict[str, Any]:
    """Column values for the store from a live job record."""
    return {
        "id": info.id, "kind": info.kind, "status": info.status, "lane": info.lane,
        "platform": info.platform, "team": info.team, "channel": info.channel,
        "user_id": info.user_key, "roles": list(info.roles), "reply_target": info.reply_target,
        "prompt": info.prompt, "spec": info.spec, "params": info.params,
        "group_id": info.group_id, "group_index": info.group_index,
        "group_size": info.group_size, "parent_id": info.params.get("parent_id"),
        "tries": info.tries, "max_tries": info.max_tries, "worker": info.worker,
        "error": info.error, "result": info.result, "created_at": _ts(info.created_at),
        "started_at": _ts(info.started_at), "finished_at": _ts(info.finished_at),
    }


def info_to_hash(info: JobInfo) -> dict[str, str]:
    """The Redis record of a job (the inverse of JobInfo.from_hash), for recovery."""
    return {
        "id": info.id, "kind": info.kind, "lane": info.lane, "user_key": info.user_key,
        "platform": info.platform, "team": info.team or "", "channel": info.channel or "",
        "user": info.user, "roles": json.dumps(list(info.roles)),
        "reply_target": json.dumps(info.reply_target), "prompt": info.prompt,
        "spec": json.dumps(info.spec), "params": json.dumps(info.params),
        "engine": (info.spec or {}).get("engine", "phantom"),
        "modality": (info.spec or {}).get("modality", ""), "group_id": info.group_id or "",
        "group_index": str(info.group_index),
        "group_size": str(info.group_size), "tries": str(info.tries),
        "max_tries": str(info.max_tries), "created_at": repr(info.created_at or time.time()),
    }


def row_to_info(row: Any) -> JobInfo:
    def epoch(d: datetime | None) -> float | None:
        return d.timestamp() if d is not None else None

    _platform, _, rest = row.user_id.partition(":")
    _team, _, user = rest.partition(":")
    return JobInfo(
        id=row.id, kind=row.kind, status=row.status, lane=row.lane, user_key=row.user_id,
        platform=row.platform, user=user, team=row.team, channel=row.channel, prompt=row.prompt,
        spec=row.spec, params=row.params or {}, group_id=row.group_id,
        group_index=row.group_index, group_size=row.group_size, tries=row.tries,
        max_tries=row.max_tries, worker=row.worker, error=row.error, result=row.result,
        created_at=epoch(row.created_at), started_at=epoch(row.started_at),
        finished_at=epoch(row.finished_at), reply_target=row.reply_target,
        roles=tuple(row.roles or ()),
    )


def parse_event(entry_id: str, fields: dict[str, str]) -> Event:
    data: dict[str, Any] = dict(fields)
    for key in ("reply_target", "result"):
        if data.get(key):
            data[key] = json.loads(data[key])
    for key in ("group_index", "group_size", "tries", "max_tries"):
        if key in data:
            data[key] = int(data[key] or 0)
    for key in ("progress", "ts"):
        if data.get(key):
            data[key] = float(data[key])
    return Event(id=entry_id, type=data.get("type", ""), job_id=data.get("job_id", ""), data=data)


class JobQueue:
    """One handle on the queue (Redis), the store (SQL) and the files (blob store)."""

    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str | None = None,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        queue_settings: QueueSettings | None = None,
        files_dir: Path | str | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.conf = queue_settings or get_queue_settings()
        self.prefix = prefix or self.settings.redis_prefix
        self.keys = Keys(self.prefix)
        self.redis_url = redis_url or resolve_url(self.settings)
        self.redis = connect(self.redis_url)
        self.database_url = database_url or self.settings.resolved_database_url()
        self.engine = make_engine(self.database_url)
        self.scripts = Scripts(self.redis)
        root = files_dir or self.conf.files_dir or (self.settings.data_dir / "files")
        self.blobs = blob_store_for(self.settings, Path(root).resolve())

    # ----------------------------------------------------------------- submit

    def lane_for(self, requester: Requester, lane: str | None) -> str:
        privileged = bool(set(requester.roles) & set(self.conf.priority_roles))
        if lane is None:
            return "priority" if privileged else "normal"
        if lane not in LANES:
            raise QueueError(f"Unknown lane {lane!r}; lanes are: {', '.join(LANES)}.")
        if lane == "priority" and not privileged:
            raise NotAllowed("The priority lane is for instructors and moderators.")
        return lane

    @property
    def user_limit(self) -> int:
        return self.conf.max_running_per_user + self.conf.max_queued_per_user

    def _limit_message(self, active: int, held: int, n: int) -> str:
        c = self.conf
        what = "a job" if n == 1 else f"{n} jobs"
        if held and held + n > c.max_queued_per_user and active + held + n <= self.user_limit:
            return (f"You have {held} job(s) waiting for a moderator's review, and each person "
                    f"may have at most {c.max_queued_per_user}. Wait for a decision before "
                    "asking for more.")
        held_note = f" ({held} held for a moderator's review)" if held else ""
        return (
            f"Your queue is full: you have {active + held} job(s) running or waiting"
            f"{held_note}, and each person may have at most {c.max_running_per_user} running "
            f"and {c.max_queued_per_user} more waiting. {what.capitalize()} could not be "
            "added; wait for one to finish or cancel one, then try again."
        )

    def submit(
        self,
        specs: Sequence[CaseSpec] | CaseSpec,
        requester: Requester,
        *,
        lane: str | None = None,
        kind: str = "imagine",
        params: dict[str, Any] | None = None,
        hold: bool = False,
        prompt: str | None = None,
        timeout_s: int | None = None,
    ) -> list[JobRef]:
        """Queue one job per spec; all or nothing. `hold=True` parks them for moderation;
        `timeout_s` replaces the queue's time limit for these jobs (a case set's)."""
        if isinstance(specs, CaseSpec):
            specs = [specs]
        specs = [s if isinstance(s, CaseSpec) else CaseSpec.model_validate(s) for s in specs]
        if not specs:
            raise QueueError("Nothing to generate: the request holds no case.")
        if kind not in JOB_KINDS:
            raise QueueError(f"Unknown job kind {kind!r}; kinds are: {', '.join(JOB_KINDS)}.")
        lane = self.lane_for(requester, lane)
        n = len(specs)
        most = self.conf.max_queued_per_user if hold else self.user_limit
        if n > most:
            held = " held for review" if hold else ""
            raise LimitExceeded(
                f"This request makes {n} jobs, more than the {most} one person may have"
                f"{held} at once. Split it into smaller requests."
            )
        now = time.time()
        group_id = uuid.uuid4().hex
        jobs: list[dict[str, str]] = []
        for i, spec in enumerate(specs):
            jobs.append(
                {
                    "id": uuid.uuid4().hex, "kind": kind, "lane": lane,
                    "user_key": requester.user_key, "platform": requester.platform,
                    "team": requester.team or "", "channel": requester.channel or "",
                    "user": requester.user, "user_name": requester.user_name or "",
                    "roles": json.dumps(list(requester.roles)),
                    "reply_target": json.dumps(requester.reply_target),
                    "prompt": clean_prompt(prompt if prompt is not None else spec.prompt),
                    "spec": spec.model_dump_json(), "params": json.dumps(params or {}),
                    "engine": spec.engine, "modality": spec.modality,
                    "group_id": group_id, "group_index": str(i), "group_size": str(n),
                    "tries": "0", "max_tries": str(self.conf.max_tries),
                    "timeout": str(timeout_s or self.conf.job_timeout_s),
                    "created_at": repr(now),
                    "status": "held" if hold else "queued",
                }
            )
        rows = [info_to_row(JobInfo.from_hash(job)) for job in jobs]
        conn = self.engine.connect()
        try:
            tx = conn.begin()
            repo.insert_jobs(conn, rows)  # written, not committed: undone if Redis says no
            try:
                reply = self.scripts.submit(
                    args=[
                        self.prefix, requester.user_key, lane, self.user_limit,
                        "1" if hold else "0", repr(now), self.conf.stream_maxlen,
                        ",".join(LANES), ",".join(sorted({f"{s.engine}:{s.modality}"
                                                          for s in specs})),
                        ",".join(ENGINES), self.conf.max_queued_per_user,
                        *[json.dumps(j) for j in jobs],
                    ]
                )
            except redis.RedisError as exc:
                tx.rollback()
                raise wrap_errors(exc, self.redis_url) from exc
            if int(reply[0]) != 1:
                tx.rollback()
                if int(reply[0]) == 0:
                    raise LimitExceeded(self._limit_message(int(reply[1]), int(reply[2]), n))
                raise QueueError(self._engine_message(reply[1], reply[2].split(",")))
            try:
                tx.commit()
            except Exception:
                for job in jobs:  # compensate: the store refused, so the queue must forget
                    self.scripts.cancel(
                        args=[self.prefix, job["id"], repr(time.time()),
                              self.conf.stream_maxlen, "Not stored; please resubmit.",
                              self.conf.job_ttl_s]
                    )
                raise
        finally:
            conn.close()
        status = "held" if hold else "queued"
        for job in jobs:
            log.info("job %s %s for %s (%s, lane %s)", job["id"], status, requester.user_key,
                     kind, lane, extra={"job_id": job["id"]})
        return [JobRef(j["id"], status, lane, group_id, i, n) for i, j in enumerate(jobs)]

    def announce_engines(self, routes: Iterable[str], worker: str, ttl_s: int = 30) -> None:
        """A worker says which routes it serves (an engine, `*` for any, or engine:modality)
        and what exactly it renders (its registry rows), refreshed with its heartbeat."""
        from imagine_med.engine import registry

        routes = tuple(routes) or ("*",)
        rows = [o.to_json() for o in registry.offers(self.settings) if serves(routes, o)]
        pipe = self.redis.pipeline(transaction=False)
        for route in routes:
            pipe.set(self.keys.served(route), worker, ex=ttl_s)
        pipe.set(self.keys.live, worker, ex=ttl_s)
        pipe.set(self.keys.offers(worker), json.dumps(rows), ex=ttl_s)
        pipe.execute()

    def served_offers(self) -> list[Any] | None:
        """The registry rows live workers announce (None while no worker is live)."""
        from imagine_med.engine.registry import Offer

        keys = list(self.redis.scan_iter(match=self.keys.offers("*"), count=500))
        if not keys:
            return None
        rows: dict[tuple[str, str, str | None], Offer] = {}
        for doc in self.redis.mget(keys):
            for row in json.loads(doc or "[]"):
                offer = Offer.from_json(row)
                rows.setdefault((offer.engine, offer.modality, offer.region), offer)
        return list(rows.values())

    def check_renderable(self, specs: Sequence[CaseSpec]) -> None:
        """Refuse, before anything is queued, a spec no engine here renders (registry.
        Unavailable, whose message names what is available): what live workers announce, or
        with no worker running yet, what this process's configuration offers."""
        from imagine_med.engine import registry

        try:
            rows = self.served_offers()
        except redis.RedisError as exc:
            raise wrap_errors(exc, self.redis_url) from exc
        for spec in specs:
            registry.check(spec, rows if rows is not None else None, self.settings)

    @staticmethod
    def _engine_message(route: str, serving: list[str]) -> str:
        engine, _, modality = route.partition(":")
        what = f"{modality} images with the {engine} engine" if modality else (
            f"with the {engine} engine")
        running = [e for e in serving if e]
        hint = (f" Use --engine {running[0]}, or ask" if running and running[0] != engine
                else " Ask")
        return (
            f"No worker renders {what} here right now (workers are running for: "
            f"{', '.join(running) or 'other modalities only'}). Nothing was queued.{hint} an "
            f"admin to start a worker with `imagine-med worker --engines {engine}`."
        )

    def submit_followup(
        self,
        parent_id: str,
        kind: str,
        requester: Requester,
        *,
        variant: int | None = None,
        scale: int = 2,
        strength: str = "subtle",
        spec: CaseSpec | None = None,
        lane: str | None = None,
    ) -> list[JobRef]:
        """U/V/reroll/refine on a finished job: upscale (variant, scale), variation (variant,
        strength subtle|strong), reroll (same spec, new seed), refine (variant seed + new spec);
        dicom (variant, 0 for all): its stored files exported as DICOM by a worker;
        stack (variant): CT slices around the variant's level, for the web case viewer.
        """
        parent = self.status(parent_id)
        if parent is None:
            raise JobNotFound("That job no longer exists.")
        if parent.status != "done" or not parent.result:
            raise QueueError("That job has not finished yet; try again when its images are in.")
        base = CaseSpec.model_validate(parent.spec)
        seeds: list[int] = parent.result.get("seeds") or []
        params: dict[str, Any] = {"parent_id": parent_id}
        if kind == "dicom":
            count = len(parent.result.get("seeds") or []) or 1
            if variant is not None and not 0 <= variant <= count:
                raise QueueError(f"Pick a variant between 1 and {count} (0 for all).")
            params["variant"] = variant or 0
            return self.submit([base], requester, lane=lane, kind=kind, params=params)
        if kind in ("upscale", "variation", "refine", "stack"):
            if variant is None or not 1 <= variant <= len(seeds):
                raise QueueError(f"Pick a variant between 1 and {len(seeds)}.")
            params.update(variant=variant, parent_seed=seeds[variant - 1])
        if kind == "upscale":
            if scale not in (2, 4):
                raise QueueError("Upscale by 2 or 4.")
            if max(base.width, base.height) * scale > 2048:
                raise QueueError(
                    f"Upscaling {base.width}x{base.height} by {scale} would exceed 2048 pixels."
                )
            params["scale"] = scale
        elif kind == "variation":
            if strength not in ("subtle", "strong"):
                raise QueueError("Variation strength is subtle or strong.")
            params["strength"] = strength
        elif kind == "stack":
            if base.modality not in ("ct", "mri"):
                raise QueueError("Slice stacks are made for CT and MRI cases.")
            params["seed"] = seeds[variant - 1]
            params.pop("parent_seed")  # the stack re-slices the variant; it is no follow-up
        elif kind == "refine":
            if spec is None:
                raise QueueError("Refine needs the new prompt.")
            base = spec
        elif kind != "reroll":
            raise QueueError(f"{kind!r} is not a follow-up; use upscale/variation/reroll/refine.")
        return self.submit([base], requester, lane=lane, kind=kind, params=params)

    # ----------------------------------------------------------------- reading

    def status(self, job_id: str) -> JobInfo | None:
        """The job as it stands now (Redis while live, the store afterwards)."""
        h = self.redis.hgetall(self.keys.job(job_id))
        if h.get("id"):
            return JobInfo.from_hash(h)
        with session_scope(self.engine) as session:
            row = repo.get_job(session, job_id)
            return row_to_info(row) if row is not None else None

    def resolve(self, ref: str) -> list[JobInfo]:
        """The jobs a user's reference names, newest first: a job id, a unique start of one
        (6+ characters), or the 10-hex-digit id that `verify` reads from an image's mark
        (derived from the case, so jobs of the same prompt and seed share it)."""
        from sqlalchemy import String, cast, select

        from imagine_med.store.models import JobRow

        ref = ref.strip().strip("`").lower()
        exact = self.status(ref) if ref else None
        if exact is not None:
            return [exact]
        if len(ref) < 6 or any(c not in "0123456789abcdef" for c in ref):
            return []
        with session_scope(self.engine) as session:
            by_prefix = select(JobRow).where(JobRow.id.startswith(ref, autoescape=True))
            marked = select(JobRow).where(cast(JobRow.result, String).contains(ref))
            rows = {r.id: r for q in (by_prefix, marked)
                    for r in session.scalars(q.order_by(JobRow.created_at.desc()).limit(50))}
            infos = [row_to_info(r) for r in rows.values()
                     if r.id.startswith(ref)
                     or (r.result or {}).get("provenance_id") == ref]
        infos.sort(key=lambda i: i.created_at or 0, reverse=True)
        return [self.status(i.id) or i for i in infos]

    def position(self, job_id: str) -> int | None:
        """1-based place in line under round-robin (None unless queued): how many jobs would be
        dispatched before it, if every user's next job were taken in turn, plus one."""
        info = self.status(job_id)
        if info is None or info.status != "queued":
            return None
        k = self.keys
        mine = self.redis.lrange(k.pending(info.lane, info.user_key), 0, -1)
        if job_id not in mine:
            return None
        idx = mine.index(job_id)
        ahead = idx
        for lane in LANES:
            users = self.redis.lrange(k.ring(lane), 0, -1)
            pipe = self.redis.pipeline(transaction=False)
            for user in users:
                pipe.llen(k.pending(lane, user))
            lengths = pipe.execute()
            if lane == info.lane:
                for user, length in zip(users, lengths, strict=True):
                    if user == info.user_key:
                        continue
                    # each other user gets idx+1 turns before ours comes (idx if behind us)
                    before = users.index(user) < users.index(info.user_key) if (
                        info.user_key in users) else True
                    ahead += min(length, idx + (1 if before else 0))
                break
            ahead += sum(lengths)
        return ahead + 1

    def user_jobs(
        self, user: Requester | str, *, active_only: bool = False, limit: int = 20
    ) -> list[JobInfo]:
        """A user's jobs, newest first (`active_only`: queued, held, running)."""
        user_key = user.user_key if isinstance(user, Requester) else user
        ids = self.redis.zrevrange(self.keys.user_jobs(user_key), 0, max(limit * 5, 100))
        pipe = self.redis.pipeline(transaction=False)
        for jid in ids:
            pipe.hgetall(self.keys.job(jid))
        out: list[JobInfo] = []
        missing: list[str] = []
        for jid, h in zip(ids, pipe.execute(), strict=True):
            if h.get("id"):
                out.append(JobInfo.from_hash(h))
            else:
                missing.append(jid)
        if missing and not active_only:
            with session_scope(self.engine) as session:
                out.extend(row_to_info(r) for jid in missing if (r := repo.get_job(session, jid)))
        if active_only:
            out = [j for j in out if j.status not in TERMINAL]
        out.sort(key=lambda j: j.created_at or 0, reverse=True)
        return out[:limit]

    def list_jobs(self, *, statuses: tuple[str, ...] = (), limit: int = 50) -> list[JobInfo]:
        """Recent jobs of everyone from the store, with live status from Redis."""
        with session_scope(self.engine) as session:
            rows = [row_to_info(r) for r in repo.list_jobs(session, limit=limit)]
        live = self.redis.pipeline(transaction=False)
        for r in rows:
            live.hgetall(self.keys.job(r.id))
        merged = [JobInfo.from_hash(h) if h.get("id") else r
                  for r, h in zip(rows, live.execute(), strict=True)]
        return [j for j in merged if not statuses or j.status in statuses]

    def counts(self) -> dict[str, int]:
        """Jobs waiting per lane, running, held."""
        k = self.keys
        out: dict[str, int] = {}
        for lane in LANES:
            users = self.redis.lrange(k.ring(lane), 0, -1)
            pipe = self.redis.pipeline(transaction=False)
            for user in users:
                pipe.llen(k.pending(lane, user))
            out[f"queued_{lane}"] = sum(pipe.execute()) if users else 0
        out["running"] = int(self.redis.zcard(k.inflight))
        out["held"] = int(self.redis.scard(k.held))
        return out

    # ----------------------------------------------------------------- changing

    def sync_row(self, job_id: str) -> None:
        """Copy a job's live record from Redis to the store."""
        h = self.redis.hgetall(self.keys.job(job_id))
        if h.get("id"):
            with session_scope(self.engine) as session:
                repo.upsert_job(session, info_to_row(JobInfo.from_hash(h)))

    def is_moderator(self, roles: Iterable[str]) -> bool:
        return bool(set(roles) & set(self.conf.moderator_roles))

    def cancel(
        self, job_id: str, by: Requester | str, roles: Iterable[str] = (),
        reason: str = "Cancelled.",
    ) -> str:
        """Cancel a job: its owner or a moderator. Returns 'cancelled', 'cancelling' (a running
        job stops at its next progress step) or the status of a job that had already ended."""
        info = self.status(job_id)
        if info is None:
            raise JobNotFound(f"There is no job {job_id}.")
        user_key = by.user_key if isinstance(by, Requester) else by
        roles = set(roles) | (set(by.roles) if isinstance(by, Requester) else set())
        if user_key != info.user_key and not self.is_moderator(roles):
            raise NotAllowed(
                "Only the person who asked for this job, or a moderator, can cancel it."
            )
        outcome = str(self.scripts.cancel(
            args=[self.prefix, job_id, repr(time.time()), self.conf.stream_maxlen, reason,
                  self.conf.job_ttl_s]
        ))
        if outcome == "cancelled":
            self.sync_row(job_id)
        return outcome

    def hold(self, job_id: str, reason: str = "Held for review.") -> str:
        """Moderation: park a queued job (returns 'held', or the status that prevented it)."""
        outcome = str(self.scripts.hold(
            args=[self.prefix, job_id, repr(time.time()), self.conf.stream_maxlen, reason]
        ))
        if outcome == "held":
            self.sync_row(job_id)
        return outcome

    def release(self, job_id: str) -> str:
        """Moderation approved a held job: it joins the queue at the front of its user's line."""
        outcome = str(self.scripts.release(
            args=[self.prefix, job_id, repr(time.time()), self.conf.stream_maxlen]
        ))
        if outcome == "queued":
            self.sync_row(job_id)
        return outcome

    def reject(self, job_id: str, reason: str = "Rejected by a moderator.") -> str:
        """Moderation rejected a held job: it is cancelled with `reason` shown to its owner."""
        info = self.status(job_id)
        if info is None:
            raise JobNotFound(f"There is no job {job_id}.")
        if info.status != "held":
            return info.status
        outcome = str(self.scripts.cancel(
            args=[self.prefix, job_id, repr(time.time()), self.conf.stream_maxlen, reason,
                  self.conf.job_ttl_s]
        ))
        if outcome == "cancelled":
            self.sync_row(job_id)
        return outcome

    def reap(self, dead_worker: str | None = None) -> list[tuple[str, str]]:
        """Requeue (or fail, after max tries) running jobs whose worker lost its lease.
        `dead_worker`: a worker known to have exited (a supervisor saw it die); its jobs are
        taken back at once rather than when their leases run out."""
        out = self.scripts.reap(
            args=[self.prefix, repr(time.time()), self.conf.stream_maxlen, self.conf.job_ttl_s,
                  dead_worker or ""]
        )
        pairs = list(zip(out[::2], out[1::2], strict=True))
        for jid, _outcome in pairs:
            self.sync_row(jid)
        return pairs

    def recover(self) -> list[str]:
        """Queue again the jobs the store records as waiting, held or running but Redis no
        longer knows (a Redis restarted without its data). Workers call it at startup; a lock
        keeps two of them from doing it twice. Returns the recovered job ids."""
        if not self.redis.set(f"{self.prefix}:recover-lock", "1", nx=True, ex=60):
            return []
        try:
            with session_scope(self.engine) as session:
                rows = [row_to_info(r) for r in repo.list_jobs(
                    session, statuses=("queued", "held", "running"), limit=100_000)]
            pipe = self.redis.pipeline(transaction=False)
            for info in rows:
                pipe.exists(self.keys.job(info.id))
            lost = [i for i, known in zip(rows, pipe.execute(), strict=True) if not known]
            for info in sorted(lost, key=lambda i: i.created_at or 0):
                held = info.status == "held"
                self.scripts.submit(args=[
                    self.prefix, info.user_key, info.lane, 1_000_000, "1" if held else "0",
                    repr(time.time()), self.conf.stream_maxlen, ",".join(LANES), "",
                    ",".join(ENGINES), 1_000_000, json.dumps(info_to_hash(info)),
                ])
            return [i.id for i in lost]
        finally:
            self.redis.delete(f"{self.prefix}:recover-lock")

    # ----------------------------------------------------------------- delivery

    def mark_posted(
        self, job_id: str, platform: str, message_ref: str, kind: str = "result"
    ) -> bool:
        """Record that `platform` posted this job's result (False: it already had)."""
        with session_scope(self.engine) as session:
            return repo.mark_posted(session, job_id, platform, message_ref, kind)

    def posted(self, job_id: str, platform: str, kind: str = "result") -> str | None:
        with session_scope(self.engine) as session:
            return repo.posted(session, job_id, platform, kind)

    def consumer(self, platform: str, group: str, consumer: str, **kwargs: Any) -> Any:
        from imagine_med.queue.events import EventConsumer

        return EventConsumer(self, platform, group, consumer, **kwargs)

    def stream_tail(self, platform: str) -> str:
        """The id of the newest event on a platform's stream ('0-0' if none): watch from here."""
        last = self.redis.xrevrange(self.keys.events(platform), count=1)
        return last[0][0] if last else "0-0"

    def watch(
        self, job_ids: Iterable[str], platform: str, since: str = "0-0", block_ms: int = 1000,
        timeout_s: float | None = None, reconnect_s: float = 0.0,
        on_reconnect: Callable[[BaseException | None, float], None] | None = None,
    ) -> Iterator[Event]:
        """Events of some jobs (no consumer group: for a caller waiting on its own jobs), until
        every one of them has ended.

        `reconnect_s` > 0: a lost connection to Redis (restarted, briefly unreachable) is
        retried with backoff for up to that many seconds in a row, resuming after the last
        event seen, so nothing is missed or repeated; past it the error is raised.
        `on_reconnect(exc, delay)` hears about each retry, and `(None, 0)` once it is back."""
        waiting = set(job_ids)
        stream = self.keys.events(platform)
        deadline = time.monotonic() + timeout_s if timeout_s else None
        last = since
        retry = Backoff(reconnect_s)
        while waiting:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{len(waiting)} job(s) still unfinished")
            try:
                reply = self.redis.xread({stream: last}, count=200, block=block_ms)
                if not reply:
                    for jid in list(waiting):  # jobs that ended before `since`, or expired
                        info = self.status(jid)
                        if info is None or info.status in TERMINAL:
                            waiting.discard(jid)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                delay = retry.next_delay()
                if delay is None:
                    raise
                if on_reconnect is not None:
                    on_reconnect(exc, delay)
                time.sleep(delay)
                continue
            if retry.failures:
                retry.reset()
                if on_reconnect is not None:
                    on_reconnect(None, 0.0)
            if not reply:
                continue
            for entry_id, fields in reply[0][1]:
                last = entry_id
                if fields.get("job_id") in waiting:
                    event = parse_event(entry_id, fields)
                    if event.terminal:
                        waiting.discard(event.job_id)
                    yield event

    def files(self, job_id: str, *, internal: bool = True) -> dict[str, Path]:
        """Local paths of a finished job's files (grid.png, variant-N.png, ..., case.json);
        from an object store, downloaded to this host's cache. `internal=False` leaves out the
        workers' own files ("_...", e.g. CT values for a later DICOM export), which a chat
        adapter never posts and so need not fetch."""
        info = self.status(job_id)
        if info is None or not info.result:
            return {}
        out: dict[str, Path] = {}
        for name, key in (info.result.get("files") or {}).items():
            if not internal and name.startswith("_"):
                continue
            path = self.blobs.local_path(key)
            if path is not None:
                out[name] = path
        return out

    def export(self, job_id: str, out_dir: Path | str) -> dict[str, Path]:
        """Copy a finished job's public files into a folder under their public names (files
        kept for the workers' own use, named "_...", stay in the store)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, path in self.files(job_id).items():
            if name.startswith("_"):
                continue
            dest = out / name
            shutil.copyfile(path, dest)
            written[name] = dest
        return written

    def close(self) -> None:
        self.redis.close()
