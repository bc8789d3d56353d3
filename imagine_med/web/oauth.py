"""Sign in with Slack (OpenID Connect) or Discord (OAuth2), through Authlib's httpx client.

The identity becomes the chat one (`slack:<team>:<user>`, `discord:<guild>:<user>`), so the
bot's moderator grants (IMAGINE_MED_BOT_MODERATORS) and rate-limit buckets apply on the web as
in chat. Discord users are no member of a workspace as such: the guild is the first one named
in the bot's grants that they belong to (its roles read from the member endpoint), else none.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from imagine_med.bot.access import Grant
from imagine_med.errors import UserError


class OAuthError(UserError):
    """The provider refused or answered something unexpected."""


@dataclass(frozen=True)
class Provider:
    name: str
    authorize_url: str
    token_url: str
    scope: str
    api: str


SLACK = Provider("slack", "https://slack.com/openid/connect/authorize",
                 "https://slack.com/api/openid.connect.token", "openid profile",
                 "https://slack.com/api/")
DISCORD = Provider("discord", "https://discord.com/oauth2/authorize",
                   "https://discord.com/api/oauth2/token", "identify guilds guilds.members.read",
                   "https://discord.com/api/")
PROVIDERS = {p.name: p for p in (SLACK, DISCORD)}


@dataclass(frozen=True)
class Identity:
    platform: str
    team: str | None
    user: str
    name: str
    roles: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.team or '-'}:{self.user}"


def _client(provider: Provider, client_id: str, client_secret: str, redirect_uri: str,
            **kwargs: Any) -> Any:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    return AsyncOAuth2Client(client_id, client_secret, scope=provider.scope,
                             redirect_uri=redirect_uri, timeout=10, **kwargs)


def authorize_url(provider: Provider, client_id: str, client_secret: str,
                  redirect_uri: str) -> tuple[str, str, str]:
    """(URL to send the browser to, state, PKCE verifier); both are kept in the session."""
    verifier = secrets.token_urlsafe(48)
    client = _client(provider, client_id, client_secret, redirect_uri,
                     code_challenge_method="S256")
    url, state = client.create_authorization_url(provider.authorize_url,
                                                 code_verifier=verifier,
                                                 nonce=secrets.token_urlsafe(16))
    return url, state, verifier


async def identify(provider: Provider, client_id: str, client_secret: str, redirect_uri: str,
                   callback_url: str, state: str, verifier: str,
                   grants: frozenset[Grant]) -> Identity:
    client = _client(provider, client_id, client_secret, redirect_uri, state=state)
    try:
        async with client:
            await client.fetch_token(provider.token_url, authorization_response=callback_url,
                                     code_verifier=verifier)
            if provider is SLACK:
                r = await client.get(provider.api + "openid.connect.userInfo")
                info = r.json()
                if not info.get("ok", True) or "https://slack.com/user_id" not in info:
                    raise OAuthError("Slack did not say who you are; try again.")
                return Identity("slack", info.get("https://slack.com/team_id"),
                                info["https://slack.com/user_id"],
                                info.get("name") or info["https://slack.com/user_id"])
            me = (await client.get(provider.api + "users/@me")).json()
            if "id" not in me:
                raise OAuthError("Discord did not say who you are; try again.")
            name = me.get("global_name") or me.get("username") or me["id"]
            guilds = {g["id"] for g in (await client.get(provider.api + "users/@me/guilds")
                                        ).json() if isinstance(g, dict) and "id" in g}
            for g in sorted({g.team for g in grants if g.platform == "discord"}):
                if g in guilds:
                    member = (await client.get(
                        provider.api + f"users/@me/guilds/{g}/member")).json()
                    return Identity("discord", g, me["id"], name,
                                    tuple(member.get("roles") or ()))
            return Identity("discord", None, me["id"], name)
    except OAuthError:
        raise
    except Exception as exc:
        raise OAuthError(f"Signing in with {provider.name.capitalize()} failed "
                         f"({type(exc).__name__}); try again.") from exc
