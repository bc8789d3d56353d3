"""Web-only settings, from the environment (IMAGINE_MED_WEB_*)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_WEB_", extra="ignore")

    # 127.0.0.1 unless told otherwise: the app is for this machine until someone decides to
    # publish it (behind TLS; then set cookie_secure).
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Signs session cookies. Unset: a random key kept in <data dir>/web-secret (mode 0600), so
    # sessions survive restarts of the same install and differ between installs.
    secret: SecretStr | None = None
    cookie_secure: bool = False
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    # Public base URL for OAuth redirects (the provider calls us back there).
    base_url: str = "http://127.0.0.1:8080"
    # OAuth2 / OpenID Connect clients; a provider appears on the sign-in page when both are set.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    discord_client_id: str | None = None
    discord_client_secret: SecretStr | None = None
    # Local accounts that moderate (usernames, comma-separated); chat identities moderate by the
    # bot's own grants (IMAGINE_MED_BOT_MODERATORS), so the same people moderate everywhere.
    local_moderators: str = ""
    # Whether anyone may create a local account from the sign-in page.
    open_signup: bool = True
    # How often a page's progress stream looks at its job.
    progress_poll_s: float = Field(default=0.05, gt=0, le=5)
    # Sign-in attempts a minute per client address: plenty for a person, far too few for a
    # password-guessing script (a classroom behind one NAT address may want more).
    login_per_minute: int = Field(default=10, ge=1, le=10_000)

    def local_moderator_names(self) -> frozenset[str]:
        return frozenset(n.strip().lower() for n in self.local_moderators.split(",")
                         if n.strip())

    def secret_key(self, data_dir: Path) -> bytes:
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        path = data_dir / "web-secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip().encode()
