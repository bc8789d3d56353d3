"""All configuration, read from the environment in one place.

Variables are prefixed IMAGINE_MED_ (e.g. IMAGINE_MED_DATA_DIR), except the conventional names
REDIS_URL, DATABASE_URL, DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET
and SLACK_API_URL. Secrets are SecretStr, so they never appear in a repr or a log line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, f"IMAGINE_MED_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_", extra="ignore")

    # storage
    data_dir: Path = Path("data")
    redis_url: str | None = Field(default=None, validation_alias=_alias("REDIS_URL"))
    database_url: str | None = Field(default=None, validation_alias=_alias("DATABASE_URL"))
    redis_prefix: str = "imagine-med"

    # chat platforms
    discord_token: SecretStr | None = Field(default=None, validation_alias=_alias("DISCORD_TOKEN"))
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=_alias("SLACK_API_URL")
    )

    # prompts and jobs
    max_prompt_chars: int = 4000
    max_permutations: int = 12
    default_size: int = 512
    default_engine: str = "phantom"
    # CPU engines render a job's variants on this many processes (0: one per core, at most 4)
    render_processes: int = Field(default=0, ge=0, le=64)

    # provenance: HMAC key for the invisible watermark; the default is for development only.
    watermark_key: SecretStr = SecretStr("imagine-med-development-key")
    watermark_key_id: str = "dev"

    # diffusion engine
    diffusion_model: Path | None = None
    diffusion_controlnet: Path | None = None
    diffusion_device: str = "cuda"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'imagine-med.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
