"""Shared extension objects: the database, the login manager, CSRF and the rate limiter."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so that migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite serializes writers: a transaction that reads first and writes later can fail with
# SQLITE_BUSY_SNAPSHOT. Requests that write therefore begin with BEGIN IMMEDIATE (taking the
# write lock up front, waiting on busy_timeout), while GET requests begin deferred and read freely.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten with zeros, not left in free pages: the close of a secret vote
        # rewrites its sealed ballots in tracker order, and the old rows kept the order of arrival.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, explicit BEGIN) or PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


class Database:
    """Per-app engine and scoped session; `db.session` is the current app's session."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["voting.db"] = (engine, scoped_session(factory))

        @app.teardown_appcontext
        def _remove(exc: BaseException | None) -> None:
            _engine, sess = app.extensions["voting.db"]
            if exc is not None:
                sess.rollback()
            sess.remove()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["voting.db"][0]

    @property
    def session(self) -> Session:
        return current_app.extensions["voting.db"][1]()

    def remove(self) -> None:
        """End the current thread's session (rolling back anything uncommitted)."""
        current_app.extensions["voting.db"][1].remove()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


db = Database()


@contextmanager
def writing() -> Iterator[None]:
    """Mark the current context as a writer (SQLite: transactions begin IMMEDIATE)."""
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
