"""Shared extension objects: the database, the login manager, CSRF and the rate limiter."""

from __future__ import annotations

import contextvars
import logging
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


# A session that wrote what must not outlive the commit in SQLite's write-ahead log sets this in its
# info: the close of a secret vote, whose log still holds every envelope beside its sealed ballot
# in the order they came (docs/secretariat-secret.md).
TRUNCATE_WAL = "voting.truncate_wal"


def _truncate_wal_if_asked(session: Session) -> None:
    """After the commit: copy the WAL into the database file and cut the WAL to zero bytes."""
    if not session.info.pop(TRUNCATE_WAL, False):
        return
    raw = session.get_bind().raw_connection()
    try:
        busy, _log, _done = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    if busy:
        logging.getLogger(__name__).warning(
            "SQLite's write-ahead log could not be emptied after the close of a secret vote (a reader held it); "
            "it is emptied at the next close, or run: sqlite3 instance/voting.sqlite 'PRAGMA wal_checkpoint(TRUNCATE)'")


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
        if engine.dialect.name == "sqlite":
            event.listen(factory, "after_commit", _truncate_wal_if_asked)

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
