"""Model constraints hold in the database itself, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from voting.models import Category, Delegate, ExcomSeat, Meeting, Member, MemberStatus


def _commit_fails(session, obj) -> None:  # type: ignore[no-untyped-def]
    session.add(obj)
    with pytest.raises((IntegrityError, StatementError)):
        session.commit()
    session.rollback()


def test_member_name_and_country_are_unique(session) -> None:  # type: ignore[no-untyped-def]
    session.add(Member(name="Seoul", country="Korea", region="Asia-Pacific", category=Category.FULL))
    session.commit()
    _commit_fails(session, Member(name="Seoul", country="Korea", region="Asia-Pacific", category=Category.FULL))


def test_category_is_checked_by_the_database(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((IntegrityError, StatementError)):
        session.execute(text(
            "INSERT INTO member (name, country, region, category, status, is_placeholder, notes, created_at) "
            "VALUES ('X', 'Y', 'Europe', 'honorary', 'active', false, '', CURRENT_TIMESTAMP)"
        ))
        session.commit()
    session.rollback()


def test_delegate_needs_an_existing_member(session) -> None:  # type: ignore[no-untyped-def]
    _commit_fails(session, Delegate(member_id=999_999, display_name="x", email="x@example.org"))


def test_delegate_email_unique_per_member(session, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member()
    session.add(Delegate(member_id=member.id, display_name="a", email="a@example.org"))
    session.commit()
    _commit_fails(session, Delegate(member_id=member.id, display_name="b", email="a@example.org"))


def test_seat_term_must_not_end_before_it_starts(session, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member()
    _commit_fails(session, ExcomSeat(member_id=member.id, term_start=2017, term_end=2014))


def test_timestamps_must_be_timezone_aware_and_come_back_utc(session) -> None:  # type: ignore[no-untyped-def]
    naive = datetime(2017, 6, 27, 17, 0)
    _commit_fails(session, Meeting(key="m1", body="excom", rule_set="wego-2014", title="t", starts_at=naive, ends_at=naive))
    aware = datetime.fromisoformat("2017-06-27T17:00:00+04:00")
    meeting = Meeting(key="m2", body="excom", rule_set="wego-2014", title="t", starts_at=aware, ends_at=aware)
    session.add(meeting)
    session.commit()
    session.expire_all()
    loaded = session.get(Meeting, meeting.id)
    assert loaded.starts_at == aware and loaded.starts_at.tzinfo == UTC


def test_suspension_takes_effect_on_its_date() -> None:
    member = Member(name="X", country="Y", region="Europe", category=Category.FULL,
                    status=MemberStatus.SUSPENDED, status_effective_on=date(2017, 7, 1))
    assert member.votes_in_ga_on(date(2017, 6, 27))
    assert not member.votes_in_ga_on(date(2017, 7, 1))
    friendship = Member(name="Z", country="Y", region="Africa", category=Category.FRIENDSHIP, status=MemberStatus.ACTIVE)
    assert not friendship.votes_in_ga_on(date(2017, 6, 27))
