"""Fixtures shared by the app and browser tests: a migrated database per test run (SQLite by
default, PostgreSQL when VOTING_TEST_DATABASE_URL is set), emptied after every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import g, request_started
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("VOTING_TEST_DATABASE_URL")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test worker."""
    from voting import migrate
    from voting.extensions import make_engine

    if PG_URL:
        base = make_url(PG_URL)
        name = f"{base.database}_{_worker()}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_tables(engine: Any) -> None:
    from voting.extensions import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
            has_seq = conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first()
            if has_seq:
                conn.execute(text("DELETE FROM sqlite_sequence"))
        # The migrations seed the chain heads; put them back as a fresh database has them.
        conn.execute(text("INSERT INTO chain_head (name, seq, hash) VALUES ('audit', 0, :g), ('keys', 0, :g)"), {"g": "0" * 64})


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Test configuration; tests may change it before the `app` fixture is built."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ORG_KEY_FILE": str(tmp_path / "org_key.pem"),
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from voting import create_app
    from voting.extensions import db

    monkeypatch.setenv("VOTING_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(app_config)

    # The `session` fixture keeps an app context pushed for the whole test and Flask reuses it for
    # test-client requests, so flask.g (Flask-Login's cached user, Flask-WTF's CSRF token) would
    # carry over from one request, and one client, to the next. Each request starts clean.
    def forget(_sender: Any, **_extra: Any) -> None:
        for name in ("_login_user", "csrf_token"):
            g.pop(name, None)

    request_started.connect(forget, application)
    yield application
    with application.app_context():
        db.remove()
        _empty_tables(db.engine)
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    """A writing database session inside an app context (services flush; tests commit)."""
    from voting.extensions import db, writing

    with app.app_context(), writing():
        yield db.session
        db.session.rollback()


@pytest.fixture
def make_member(session: Any) -> Any:
    from voting.services import roster

    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **values: Any) -> Any:
        n = next(counter)
        base = {"name": name or f"Test City {n}", "country": values.pop("country", "Testland"),
                "region": "Asia-Pacific", "category": "full"}
        base.update(values)
        member = roster.create_member(base)
        session.commit()
        return member

    return make


@pytest.fixture
def make_staff(session: Any) -> Any:
    """Create a staff account with a known password and return (account, password)."""
    from voting.auth.passwords import hash_password
    from voting.services import staff

    def make(role: str, username: str | None = None, password: str = "correct horse battery") -> tuple[Any, str]:
        account, _otp = staff.create_staff(username or role, role, f"Test {role}")
        account.password_hash = hash_password(password)
        account.must_change_password = False
        session.commit()
        return account, password

    return make


@pytest.fixture
def login(client: Any, make_staff: Any) -> Any:
    """Sign the test client in as a new staff account with the given role."""

    def do(role: str) -> Any:
        account, password = make_staff(role, username=f"{role}-user")
        resp = client.post("/login", data={"username": account.username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return account

    return do
