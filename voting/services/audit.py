"""Appending to and checking the audit chain."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ballots.chain import GENESIS, ChainBreak, event_hash, verify_chain

from ..extensions import db
from ..models import AuditEvent, ChainHead, utcnow

AUDIT_CHAIN = "audit"
_cli_actor: list[str] = []


def set_cli_actor(actor: str) -> None:
    """Commands run by an operator are recorded as `cli:<name>`."""
    _cli_actor[:] = [actor]


def current_actor() -> str:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return str(current_user.actor)
    return _cli_actor[0] if _cli_actor else "system"


def lock_head(session: Session, name: str) -> ChainHead:
    """The chain's head row, locked for update so that appends are serialized (PostgreSQL row
    lock; on SQLite the writing transaction already holds the database write lock)."""
    head = session.scalars(select(ChainHead).where(ChainHead.name == name).with_for_update()).first()
    if head is None:
        head = ChainHead(name=name, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of a model row as JSON values."""
    mapper = inspect(obj).mapper
    return {col.key: jsonable(getattr(obj, col.key)) for col in mapper.column_attrs}


def record(action: str, obj: Any, before: dict[str, Any] | None, *, actor: str | None = None) -> AuditEvent:
    """Append one event for a change to `obj` (after flush, so it has its id)."""
    session = db.session
    session.flush()
    after = snapshot(obj) if obj is not None else None
    entity = obj.__tablename__ if obj is not None else "none"
    entity_id = str(inspect(obj).identity[0]) if obj is not None else ""
    return append(action, entity, entity_id, before, after, actor=actor)


def apply_changes(obj: Any, values: dict[str, Any], action: str) -> Any:
    """Set the values on a row and record one audit event with before and after, if anything changed."""
    before = snapshot(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    if snapshot(obj) != before:
        record(action, obj, before)
    return obj


def append(
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    actor: str | None = None,
) -> AuditEvent:
    session = db.session
    head = lock_head(session, AUDIT_CHAIN)
    event = AuditEvent(
        seq=head.seq + 1,
        at=utcnow(),
        actor=actor or current_actor(),
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        prev_hash=head.hash,
    )
    event.hash = event_hash(head.hash, event.body())
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.flush()
    return event


def verify_audit_chain() -> ChainBreak | None:
    """Re-hash every event in order; the first break, or None when the chain holds to its head."""
    session = db.session
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(populate_existing=True)).all()
    brk = verify_chain((e.seq, e.prev_hash, e.hash, e.body()) for e in events)
    if brk is not None:
        return brk
    head = session.get(ChainHead, AUDIT_CHAIN, populate_existing=True)
    last_hash = events[-1].hash if events else GENESIS
    if head is not None and (head.hash != last_hash or head.seq != len(events)):
        return ChainBreak(len(events), None, "the chain head does not match the last event (events removed?)")
    for expected, event in enumerate(events, start=1):
        if event.seq != expected:
            return ChainBreak(expected - 1, event.seq, "an event is missing before it")
    return None
