"""Settings come from the environment in one place; secrets never show in logs or reprs."""

from __future__ import annotations

import logging

import pytest

from imagine_med.settings import Settings


def test_conventional_and_prefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:6379/3")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("IMAGINE_MED_MAX_PERMUTATIONS", "6")
    s = Settings()
    assert s.redis_url == "redis://example:6379/3"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.max_permutations == 6


def test_sqlite_default_under_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("IMAGINE_MED_DATA_DIR", str(tmp_path))
    assert Settings().resolved_database_url() == f"sqlite:///{tmp_path / 'imagine-med.db'}"


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture) -> None:
    token = "xoxb-very-secret-token-123"
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-456")
    s = Settings()
    assert s.slack_bot_token is not None
    assert s.slack_bot_token.get_secret_value() == token
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s / %r", s, s)
    assert token not in caplog.text and "discord-secret-456" not in caplog.text
    assert token not in repr(s) and token not in str(s.model_dump())
