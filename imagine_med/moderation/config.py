"""Moderation settings (strikes, bans, appeals), from IMAGINE_MED_MOD_* environment variables.

Who counts as a moderator is the queue's `IMAGINE_MED_MODERATOR_ROLES` (one list for both).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModerationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_MOD_", extra="ignore")

    # this many blocked prompts within the window pause the user's prompts for a while
    strikes_to_ban: int = Field(default=3, ge=1)
    strike_window_hours: float = Field(default=24.0 * 7, gt=0)
    ban_hours: float = Field(default=24.0, gt=0)
    # each earlier ban multiplies the next one's length (24 h, 48 h, 96 h, ...)
    ban_growth: float = Field(default=2.0, ge=1.0)
    # appeals a user may file per rolling 24 hours
    appeals_per_day: int = Field(default=5, ge=0)
    # after an appeal is upheld in the user's favour, the same prompt is allowed for this long
    override_days: float = Field(default=7.0, ge=0)


@lru_cache(maxsize=1)
def get_moderation_settings() -> ModerationSettings:
    return ModerationSettings()
