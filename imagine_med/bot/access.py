"""Who may moderate, and who gets the priority lane: configuration, scoped per guild/workspace.

A platform permission (Discord's Manage Messages in some channel) says nothing about who should
review held prompts or cancel other people's jobs, and a bare user id says nothing about where.
So every grant names its platform and its Discord guild or Slack workspace:

    discord:<guild id>:role:<role id>     members with that role
    discord:<guild id>:user:<user id>
    discord:<guild id>:channel:<channel>  whoever acts from that (private) channel
    slack:<team id>:user:<user id>
    slack:<team id>:channel:<channel>     the channel's members (conversations.members)

A grant holds only inside its guild/workspace: a moderator there acts on that guild's jobs and
held prompts, nobody else's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from imagine_med.bot.jobs import Who

PLATFORMS = ("discord", "slack")
KINDS = {"discord": ("user", "role", "channel"), "slack": ("user", "channel")}
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
GRANT_FORMAT = ("platform:team:kind:id, e.g. discord:<guild id>:role:<role id> or "
                "slack:<team id>:user:<user id>")


class ChannelMembers(Protocol):
    """How an adapter tells whether someone belongs to a channel (a `channel` grant)."""

    async def is_member(self, who: Who, channel_id: str) -> bool: ...


@dataclass(frozen=True)
class Grant:
    platform: str
    team: str
    kind: str  # user | role | channel
    value: str

    @classmethod
    def parse(cls, text: str) -> Grant:
        """`discord:123:role:456` -> Grant; ValueError with the expected format otherwise."""
        parts = text.strip().split(":")
        if len(parts) != 4:
            raise ValueError(f"{text.strip()!r} is not {GRANT_FORMAT}")
        platform, team, kind, value = (p.strip() for p in parts)
        if platform not in PLATFORMS:
            raise ValueError(f"{text.strip()!r}: the platform must be discord or slack")
        if kind not in KINDS[platform]:
            raise ValueError(f"{text.strip()!r}: on {platform} a grant is one of "
                             f"{', '.join(KINDS[platform])}")
        if not (_ID.fullmatch(team) and _ID.fullmatch(value)):
            raise ValueError(f"{text.strip()!r}: ids are letters, digits, '-' or '_'")
        return cls(platform, team, kind, value)


@dataclass(frozen=True)
class TeamChannel:
    """`platform:team:channel`: a channel that belongs to one guild/workspace (where its held
    prompts are posted for review)."""

    platform: str
    team: str
    channel: str

    @classmethod
    def parse(cls, text: str) -> TeamChannel:
        parts = [p.strip() for p in text.strip().split(":")]
        if len(parts) != 3 or parts[0] not in PLATFORMS or not all(
                _ID.fullmatch(p) for p in parts[1:]):
            raise ValueError(f"{text.strip()!r} is not platform:team:channel, e.g. "
                             "slack:T0123:C0456 or discord:<guild id>:<channel id>")
        return cls(*parts)


async def granted(grants: Iterable[Grant], who: Who,
                  members: ChannelMembers | None) -> bool:
    """Whether any grant of `who`'s own guild/workspace covers them."""
    if not who.team_id:
        return False  # a direct message belongs to no guild/workspace: nobody moderates there
    mine = [g for g in grants if g.platform == who.platform and g.team == who.team_id]
    for g in mine:
        if g.kind == "user" and g.value == who.user_id:
            return True
        if g.kind == "role" and g.value in who.roles:
            return True
    for g in mine:
        if g.kind == "channel" and members is not None and await members.is_member(who, g.value):
            return True
    return False
