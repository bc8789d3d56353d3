"""Bot-only settings, read from the environment (IMAGINE_MED_BOT_*).

Tokens and the Slack signing secret live in `imagine_med.settings` (DISCORD_TOKEN,
SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL); this holds what only the
chat adapters care about.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from imagine_med.bot.access import GRANT_FORMAT, Grant, TeamChannel
from imagine_med.bot.ratelimit import Rate

CsvSet = Annotated[frozenset[str], NoDecode]
Grants = Annotated[frozenset[Grant], NoDecode]
TeamChannels = Annotated[frozenset[TeamChannel], NoDecode]
RateSetting = Annotated[Rate | None, NoDecode]


def _csv(value: object) -> object:
    if isinstance(value, str):
        return frozenset(v.strip() for v in value.split(",") if v.strip())
    return value


class BotConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_BOT_", extra="ignore")

    # Channel ids where the bot answers; empty = everywhere it is invited.
    allowed_channels: CsvSet = frozenset()
    # Who reviews held prompts and may cancel others' jobs, per guild/workspace (see access.py):
    # "discord:<guild>:role:<role id>,slack:<team>:channel:<channel id>,...".
    moderators: Grants = frozenset()
    # Who gets the queue's priority lane (as the "instructor" role), same format.
    priority: Grants = frozenset()
    # Who runs quizzes and edits any course-library collection, same format (moderators and
    # members who can manage the channel count as instructors too).
    instructors: Grants = frozenset()
    # Where held prompts of each guild/workspace are posted: "slack:<team>:<channel>,...".
    moderation_channels: TeamChannels = frozenset()
    # Before 2026.11: one global channel for every platform; refused with a pointer (below).
    moderation_channel: str | None = None
    # Token buckets "N/SECONDS" (0 = off): commands per person, per channel, and review posts
    # per person (held prompts beyond it wait in `imagine-med mod queue` without a post).
    rate_user: RateSetting = Rate(20, 600)
    rate_channel: RateSetting = Rate(60, 600)
    rate_moderation_posts: RateSetting = Rate(5, 3600)
    progress_interval_s: float = Field(default=2.5, ge=0.0)
    # Discord's upload limit for bots without boosts (10 MiB).
    discord_upload_limit: int = 10 * 1024 * 1024
    # Interaction tokens: Discord's live 15 min, Slack's response_url 30 min; keep a margin.
    discord_token_ttl_s: float = 14 * 60
    slack_response_url_ttl_s: float = 29 * 60
    # Discord server (guild) id to sync the slash commands to at startup: they appear at once
    # there, while global commands can take a while to propagate.
    discord_guild: str | None = None
    # Largest upscaled side the 4x button is offered for.
    max_upscale_px: int = 2048
    # Slack: how long a channel's member list (channel grants) is trusted before asking again.
    channel_members_ttl_s: float = Field(default=60.0, ge=0.0)

    @field_validator("allowed_channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> object:
        return _csv(value)

    @field_validator("moderators", "priority", "instructors", mode="before")
    @classmethod
    def _grants(cls, value: object) -> object:
        items = _csv(value)
        if not isinstance(items, frozenset):
            return items
        bare = sorted(v for v in items if isinstance(v, str) and ":" not in v)
        if bare:
            raise ValueError(
                f"{', '.join(bare)}: a bare user id would be a moderator on every server and "
                f"workspace; write each as {GRANT_FORMAT} (see docs/bots.md)")
        return frozenset(Grant.parse(v) if isinstance(v, str) else v for v in items)

    @field_validator("moderation_channels", mode="before")
    @classmethod
    def _team_channels(cls, value: object) -> object:
        items = _csv(value)
        if not isinstance(items, frozenset):
            return items
        return frozenset(TeamChannel.parse(v) if isinstance(v, str) else v for v in items)

    @field_validator("rate_user", "rate_channel", "rate_moderation_posts", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        return Rate.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_global_channel(self) -> BotConfig:
        if self.moderation_channel:
            raise ValueError(
                "IMAGINE_MED_BOT_MODERATION_CHANNEL is replaced by "
                "IMAGINE_MED_BOT_MODERATION_CHANNELS=platform:team:channel (one per Discord "
                "server or Slack workspace), so that held prompts reach only that server's "
                "moderators")
        return self

    def moderation_channel_for(self, platform: str, team: str | None) -> str | None:
        """The channel where held prompts from this guild/workspace are reviewed."""
        for tc in self.moderation_channels:
            if (tc.platform, tc.team) == (platform, team):
                return tc.channel
        return None
