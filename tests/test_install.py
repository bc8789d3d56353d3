"""One-paste install (issue 24): the Slack manifest and the Discord invite URL hold exactly what
the adapters' code uses, read from the code itself."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
import yaml

from imagine_med.bot import discord_app, install, slack_app

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "deploy" / "slack-manifest.yaml"


def _client_calls(module) -> set[str]:
    """Every `self.client.<method>(...)` / `client.<method>(...)` the module's source makes."""
    tree = ast.parse(Path(module.__file__).read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name == "client":
                out.add(node.func.attr)
    return out


def test_the_slack_manifest_loads_with_every_command_and_scope_the_code_uses():
    doc = yaml.safe_load(MANIFEST.read_text())
    commands = [c["command"] for c in doc["features"]["slash_commands"]]
    assert sorted(commands) == sorted(slack_app.COMMANDS)
    calls = _client_calls(slack_app)
    assert calls, "no Web API calls found: the scan is broken"
    unknown = calls - set(install.SLACK_METHOD_SCOPES)
    assert not unknown, f"Web API methods without a scope entry: {unknown}"
    unused = set(install.SLACK_METHOD_SCOPES) - calls - {"auth_test"}  # bolt calls auth.test
    assert not unused, f"scope entries for methods the adapter no longer calls: {unused}"
    assert sorted(doc["oauth_config"]["scopes"]["bot"]) == install.slack_scopes()
    assert doc["settings"]["interactivity"]["is_enabled"] is True
    assert doc["settings"]["socket_mode_enabled"] is True


def test_discord_and_slack_offer_the_same_commands():
    source = Path(discord_app.__file__).read_text()
    names = re.findall(r'(?:@tree\.command|app_commands\.Group)\(\s*name="([^"]+)"', source)
    assert sorted(f"/{n}" for n in names) == sorted(slack_app.COMMANDS)


def test_the_invite_url_asks_for_exactly_the_permissions_used():
    out = subprocess.run([sys.executable, "-m", "imagine_med.cli", "discord", "invite-url",
                          "--client-id", "1234567890123"], capture_output=True, text=True,
                         check=True).stdout.strip()
    url = urlparse(out)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    q = parse_qs(url.query)
    assert q["client_id"] == ["1234567890123"]
    assert q["scope"] == ["bot applications.commands"]
    granted = {name for name, on in discord.Permissions(int(q["permissions"][0])) if on}
    wanted = discord.Permissions(**dict.fromkeys(install.DISCORD_PERMISSIONS, True))
    assert granted == {name for name, on in wanted if on}  # (view_channel reads read_messages)
    assert len(granted) == len(install.DISCORD_PERMISSIONS)
    assert not granted & {"administrator", "manage_messages", "mention_everyone",
                          "read_message_history", "manage_channels"}
    source = Path(discord_app.__file__).read_text()
    threads = {"create_public_threads", "send_messages_in_threads"}
    assert (threads <= granted) == ("start_thread_with_message" in source)  # only when used


def test_the_application_id_comes_from_the_token():
    import base64

    token = base64.b64encode(b"987654321012345678").decode().rstrip("=") + ".GabcD.xyz"
    assert install.client_id_from_token(token) == "987654321012345678"
    assert install.client_id_from_token("not a token") is None
