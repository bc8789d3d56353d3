"""All configuration, read from the environment in one place.

Variables are prefixed IMAGINE_MED_ (e.g. IMAGINE_MED_DATA_DIR), except the conventional names
REDIS_URL, DATABASE_URL, DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET
and SLACK_API_URL. Secrets are SecretStr, so they never appear in a repr or a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The published default watermark key: marks made with it prove nothing (anyone can forge or
# strip them), so a service others use must not run on it (`watermark_key_refusal`).
DEVELOPMENT_WATERMARK_KEY = "imagine-med-development-key"


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, f"IMAGINE_MED_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_", extra="ignore")

    # "production" makes a service refuse the public development watermark key (below)
    env: str = "development"

    # storage
    data_dir: Path = Path("data")
    redis_url: str | None = Field(default=None, validation_alias=_alias("REDIS_URL"))
    database_url: str | None = Field(default=None, validation_alias=_alias("DATABASE_URL"))
    redis_prefix: str = "imagine-med"
    # job files: unset = <data_dir>/files; s3://bucket/prefix = S3-compatible object storage
    # (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as boto3 reads them)
    blobs: str | None = None
    s3_endpoint_url: str | None = None  # e.g. http://minio:9000 (unset: AWS)
    s3_region: str | None = None
    # delete job files not written for this many days (0: keep forever); an S3 bucket also
    # gets a lifecycle rule saying so
    blob_retention_days: int = Field(default=0, ge=0)
    presign_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)  # S3's SigV4 maximum
    # /healthz, /readyz and /metrics of a worker or bot process (0: off); `run` serves the
    # queue's metrics on IMAGINE_MED_METRICS_PORT
    health_port: int = Field(default=0, ge=0, le=65535)

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
    # the teaching-file PACS `imagine-med pacs` sends to without --to (teaching/pacs.py):
    # http(s)://[user:password@]host/dicom-web (STOW-RS) or dicom://AE@host:port (C-STORE)
    pacs_url: SecretStr | None = None
    pacs_calling_ae: str = Field(default="IMAGINE_MED", min_length=1, max_length=16)

    # provenance: HMAC key for the invisible watermark; the default is for development only.
    watermark_key: SecretStr = SecretStr(DEVELOPMENT_WATERMARK_KEY)
    watermark_key_id: str = "dev"

    @property
    def development_watermark_key(self) -> bool:
        return self.watermark_key.get_secret_value() == DEVELOPMENT_WATERMARK_KEY

    def watermark_key_refusal(self, adapters: Sequence[str] = ()) -> str | None:
        """Why a service must not start, or None. On the public development key anyone can
        forge the mark on any image, or subtract it so that verify says NOT marked: fine for a
        local CLI run (stamp.py warns), not for a chat bot others use, nor in production."""
        if not self.development_watermark_key:
            return None
        if not adapters and self.env.strip().lower() != "production":
            return None
        why = (f"the {' and '.join(adapters)} adapter{'s' if len(adapters) > 1 else ''} "
               "would publish images" if adapters else "IMAGINE_MED_ENV is production")
        return (
            f"Refusing to start: {why} marked with the public development watermark key, "
            "which anyone can use to forge or remove the mark. Set IMAGINE_MED_WATERMARK_KEY "
            "to a secret (e.g. the output of `python -c \"import secrets; "
            "print(secrets.token_urlsafe(32))\"`) and IMAGINE_MED_WATERMARK_KEY_ID to a short "
            "name for it."
        )

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
