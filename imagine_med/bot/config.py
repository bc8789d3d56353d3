"""Bot-only settings, read from the environment (IMAGINE_MED_BOT_*).

Tokens and the Slack signing secret live in `imagine_med.settings` (DISCORD_TOKEN,
SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL); this holds what only the
chat adapters care about.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CsvSet = Annotated[frozenset[str], NoDecode]


class BotConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_BOT_", extra="ignore")

    # Channel ids where the bot answers; empty = everywhere it is invited.
    allowed_channels: CsvSet = frozenset()
    # User ids allowed to cancel anyone's job and to review held prompts (besides platform
    # admins: Discord's Manage Messages permission).
    moderators: CsvSet = frozenset()
    # Channel where held prompts are posted with Approve / Reject buttons.
    moderation_channel: str | None = None
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

    @field_validator("allowed_channels", "moderators", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value
