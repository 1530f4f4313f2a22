from __future__ import annotations

from pathlib import Path

import pytest

from msa.core import env
from msa.core.errors import ConfigurationError


def test_defaults_and_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSA_REPORT_INTERVAL_S", raising=False)
    assert env.env_int("MSA_REPORT_INTERVAL_S") == 10
    monkeypatch.setenv("MSA_REPORT_INTERVAL_S", "x")
    with pytest.raises(ConfigurationError, match="whole number"):
        env.env_int("MSA_REPORT_INTERVAL_S")
    monkeypatch.setenv("MSA_DEMO", "maybe")
    with pytest.raises(ConfigurationError, match="0 or 1"):
        env.env_bool("MSA_DEMO")
    monkeypatch.setenv("MSA_ALLOWED_HOSTS", " a.example , ,b.example")
    assert env.env_list("MSA_ALLOWED_HOSTS") == ["a.example", "b.example"]


def test_undeclared_settings_and_missing_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match="not a declared setting"):
        env.env_str("MSA_NOT_A_SETTING")
    monkeypatch.delenv("MSA_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="must be set"):
        env.env_str("MSA_SECRET_KEY")


def test_database_config() -> None:
    sqlite = env.database_config(None, "/tmp/x.sqlite3")
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in sqlite["OPTIONS"]["init_command"]
    pg = env.database_config("postgres://msa@db.internal:5432/msa", "unused")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["HOST"], pg["NAME"], pg["USER"]) == ("db.internal", "msa", "msa")
    # ASGI runs each request in its own thread: pooled, never kept per thread
    assert pg["CONN_MAX_AGE"] == 0
    assert pg["OPTIONS"]["pool"]["max_size"] == 20
    # the hot path's server-bound statements are prepared (Django turns it off by default)
    assert pg["OPTIONS"]["prepare_threshold"] == env.PREPARE_THRESHOLD
    with pytest.raises(ConfigurationError, match="postgres://"):
        env.database_config("mysql://x/y", "unused")


@pytest.mark.parametrize("document", ["docs/settings.md", "README.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (Path(__file__).resolve().parents[3] / document).read_text()
    hint = f"regenerate the table in {document}: python -m msa.core.env"
    assert env.settings_table() in text, hint
