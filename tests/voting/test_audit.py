"""The audit log is a hash chain: every roster change is recorded, and any edit is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from voting.models import AuditEvent
from voting.services import audit, roster


@pytest.fixture
def chain(session, make_member):  # type: ignore[no-untyped-def]
    member = make_member("Chengdu", country="China")
    roster.update_member(member, {"name": "Chengdu", "country": "China", "region": "Asia-Pacific", "category": "full", "fee_paid_through": 2017})
    roster.add_delegate(member, {"display_name": "Chengdu representative 1", "email": "r1@chengdu.example", "voting": "yes"})
    session.commit()
    return session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def test_changes_are_recorded_with_before_and_after(chain) -> None:  # type: ignore[no-untyped-def]
    assert [e.action for e in chain] == ["member.create", "member.update", "delegate.create"]
    update = chain[1]
    assert update.before["fee_paid_through"] is None and update.after["fee_paid_through"] == 2017
    assert update.prev_hash == chain[0].hash
    assert audit.verify_audit_chain() is None


@pytest.mark.parametrize("column,value", [
    ("actor", "'staff:mallory'"),
    ("action", "'member.delete'"),
    ("entity_id", "'42'"),
    ("after", "'{\"name\": \"Forged\"}'"),
    ("before", "'{}'"),
    ("hash", "'" + "f" * 64 + "'"),
    ("prev_hash", "'" + "1" * 64 + "'"),
])
def test_changing_any_field_of_any_event_breaks_the_chain(session, chain, column, value) -> None:  # type: ignore[no-untyped-def]
    for seq in (1, 2, 3):
        session.execute(text(f"UPDATE audit_event SET {column} = {value} WHERE seq = :seq"), {"seq": seq})
        brk = audit.verify_audit_chain()
        assert brk is not None, f"changing {column} of event {seq} went unnoticed"
        session.rollback()


def test_changing_a_timestamp_breaks_the_chain(session, chain) -> None:  # type: ignore[no-untyped-def]
    event = chain[0]
    event.at = event.at.replace(microsecond=(event.at.microsecond + 1) % 1_000_000)
    session.flush()
    assert audit.verify_audit_chain() is not None


def test_removing_the_last_event_is_detected(session, chain) -> None:  # type: ignore[no-untyped-def]
    session.execute(text("DELETE FROM audit_event WHERE seq = 3"))
    brk = audit.verify_audit_chain()
    assert brk is not None and "head" in brk.reason


def test_removing_a_middle_event_is_detected(session, chain) -> None:  # type: ignore[no-untyped-def]
    session.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    assert audit.verify_audit_chain() is not None


def test_cli_reports_a_broken_chain(app, session, chain) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "3 events" in ok.output
    session.execute(text("UPDATE audit_event SET actor = 'x' WHERE seq = 2"))
    session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and "event 2" in bad.output
