"""Configuration precedence: defaults < instance/config.py < VOTING_* environment < test_config."""

from __future__ import annotations

from pathlib import Path

import pytest

from voting import config as default_config
from voting import create_app


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("VOTING_INSTANCE_PATH", str(path))
    for name in list(__import__("os").environ):
        if name.startswith("VOTING_") and name not in ("VOTING_INSTANCE_PATH", "VOTING_TEST_DATABASE_URL", "VOTING_REQUIRE_BROWSER"):
            monkeypatch.delenv(name)
    return path


def test_defaults_apply(instance: Path) -> None:
    app = create_app()
    assert app.config["ENROL_TOKEN_TTL_HOURS"] == 72
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'voting.sqlite'}"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_instance_config_overrides_defaults(instance: Path) -> None:
    (instance / "config.py").write_text("ENROL_TOKEN_TTL_HOURS = 24\nLOG_ORIGIN = 'vote.example'\n")
    app = create_app()
    assert app.config["ENROL_TOKEN_TTL_HOURS"] == 24
    assert app.config["LOG_ORIGIN"] == "vote.example"


def test_environment_overrides_instance_config(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (instance / "config.py").write_text("ENROL_TOKEN_TTL_HOURS = 24\n")
    monkeypatch.setenv("VOTING_ENROL_TOKEN_TTL_HOURS", "12")
    monkeypatch.setenv("VOTING_DATABASE_URL", "sqlite:///" + str(instance / "other.sqlite"))
    app = create_app()
    assert app.config["ENROL_TOKEN_TTL_HOURS"] == 12  # parsed as JSON: an int
    assert app.config["DATABASE_URL"].endswith("other.sqlite")


def test_test_config_overrides_everything(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOTING_ENROL_TOKEN_TTL_HOURS", "12")
    app = create_app({"ENROL_TOKEN_TTL_HOURS": 1})
    assert app.config["ENROL_TOKEN_TTL_HOURS"] == 1


def test_secret_key_is_created_once_with_private_mode(instance: Path) -> None:
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_parser_keeps_strings_and_ignores_test_variables() -> None:
    env = {"VOTING_LOG_ORIGIN": "vote.example", "VOTING_MAIL_USE_TLS": "true", "VOTING_TEST_DATABASE_URL": "x", "HOME": "/"}
    parsed = default_config.from_environment(env)
    assert parsed == {"LOG_ORIGIN": "vote.example", "MAIL_USE_TLS": True}
