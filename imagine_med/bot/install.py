"""What installing the bots needs, in one place: the Slack app's scopes per Web API method the
adapter calls (deploy/slack-manifest.yaml lists exactly their union), and the Discord bot's
permissions with the reason for each (`imagine-med discord invite-url` asks for exactly these).

A test reads the Slack adapter's source for every Web API method it calls and checks it is in
`SLACK_METHOD_SCOPES`, and that the manifest's commands and scopes are the adapter's.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

# Slack Web API method (as slack_sdk names the client call) -> bot scopes it needs
# (https://api.slack.com/methods: each method's "Required scopes").
SLACK_METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_delete": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "conversations_open": ("im:write",),  # answer keys, DICOM and results by direct message
    "conversations_members": ("channels:read", "groups:read"),  # channel grants of moderators
    "files_info": ("files:read",),  # /imagine-med-verify, --image
    "files_list": ("files:read",),  # --image: the newest image its user shared
    "files_upload_v2": ("files:write",),  # grids, answer keys
    "views_open": (),  # the Refine and Reject forms (a trigger id, no scope)
    "auth_test": (),
}
SLACK_COMMAND_SCOPE = "commands"  # every slash command


def slack_scopes() -> list[str]:
    """The bot scopes the adapter needs: its methods' and `commands`."""
    return sorted({SLACK_COMMAND_SCOPE, *(s for v in SLACK_METHOD_SCOPES.values() for s in v)})


# Discord permission (discord.Permissions attribute) -> why the bot needs it. Interaction
# responses and followups need none; these are for what the bot token posts.
DISCORD_PERMISSIONS: dict[str, str] = {
    "view_channel": "see the channel it posts late results into",
    "send_messages": "post a result after the interaction token expired (15 minutes)",
    "embed_links": "long messages (over 2,000 characters) go out as an embed",
    "attach_files": "the grid, upscales and answer-key overlays",
    "create_public_threads": "follow-ups (U, V, reroll, Refine) in a thread under the grid",
    "send_messages_in_threads": "post follow-ups and their results in that thread",
}
DISCORD_SCOPES = ("bot", "applications.commands")


def discord_permissions_value() -> int:
    import discord

    return discord.Permissions(**dict.fromkeys(DISCORD_PERMISSIONS, True)).value


def client_id_from_token(token: str) -> str | None:
    """A bot token's first part is its user id (the application id) in base64."""
    head = token.strip().split(".")[0]
    try:
        text = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if text.isdigit() else None


def invite_url(client_id: str) -> str:
    """The OAuth2 URL that adds the bot with exactly DISCORD_PERMISSIONS."""
    query = urlencode({"client_id": client_id, "scope": " ".join(DISCORD_SCOPES),
                       "permissions": str(discord_permissions_value())})
    return f"https://discord.com/oauth2/authorize?{query}"
