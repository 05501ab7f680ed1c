"""Meetings, agenda items and candidacies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from ballots.rules import available_rule_sets

from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import AgendaItem, Body, Candidacy, CandidacyKind, DecisionKind, Meeting, Member
from . import audit
from .roster import _choice, _text

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}$")


def _when(raw: Any, what: str) -> datetime:
    """An aware datetime from '2017-06-27T17:00+04:00' (an offset is required: the hall's clock)."""
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise Invalid(f"The {what} '{raw}' is not a date and time like 2017-06-27T17:00+04:00.") from None
    if value.tzinfo is None:
        raise Invalid(f"The {what} needs the venue's UTC offset, like 2017-06-27T17:00+04:00.")
    try:
        value.astimezone(UTC)  # 0001-01-01T00:00+14:00 has no UTC time: it would overflow when stored
    except OverflowError:
        raise Invalid(f"The {what} '{raw}' is too far in the past or the future.") from None
    return value


def _meeting_values(values: Mapping[str, Any]) -> dict[str, Any]:
    key = _text(values, "key", required=True, limit=60).lower()
    if not KEY_RE.match(key):
        raise Invalid("The short name may hold only lower-case letters, digits and hyphens, like excom-2017.")
    rule_set = _text(values, "rule_set", required=True, limit=60)
    if rule_set not in available_rule_sets():
        raise Invalid(f"Unknown rule set '{rule_set}'; use one of: {', '.join(available_rule_sets())}.")
    starts = _when(values.get("starts_at"), "start")
    ends = _when(values.get("ends_at"), "end")
    if ends < starts:
        raise Invalid("The meeting cannot end before it starts.")
    offset = starts.utcoffset() or timedelta(0)
    host_id = values.get("host_member_id") or None
    if host_id is not None and db.session.get(Member, int(host_id)) is None:
        raise Invalid("The host must be a member on the roster.")
    return {
        "key": key,
        "body": _choice(values, "body", Body),
        "rule_set": rule_set,
        "title": _text(values, "title", required=True, limit=200),
        "starts_at": starts,
        "ends_at": ends,
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "venue": _text(values, "venue", required=False, limit=200),
        "city": _text(values, "city", required=False, limit=120),
        "host_member_id": int(host_id) if host_id is not None else None,
    }


def local_input(value: datetime, offset_minutes: int) -> str:
    """A stored time as the hall's clock with its offset, for an edit form."""
    return value.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat(timespec="minutes")


def create_meeting(values: Mapping[str, Any]) -> Meeting:
    clean = _meeting_values(values)
    if db.session.scalars(select(Meeting).where(Meeting.key == clean["key"])).first():
        raise Conflict(f"A meeting named {clean['key']} already exists.", hint="Choose another short name.")
    meeting = Meeting(**clean)
    db.session.add(meeting)
    audit.record("meeting.create", meeting, None)
    return meeting


def update_meeting(meeting: Meeting, values: Mapping[str, Any]) -> Meeting:
    clean = _meeting_values(values)
    other = db.session.scalars(select(Meeting).where(Meeting.key == clean["key"])).first()
    if other is not None and other.id != meeting.id:
        raise Conflict(f"A meeting named {clean['key']} already exists.")
    return audit.apply_changes(meeting, clean, "meeting.update")


def _position(number: str) -> int:
    """Agenda order: numbered items by number, others (like 'A' or '0') first in insertion order."""
    digits = re.match(r"\d+", number)
    return min(int(digits.group()), 10**6) * 100 if digits else 0  # an item 12345678901 still fits the column


def _agenda_values(values: Mapping[str, Any]) -> dict[str, Any]:
    number = _text(values, "number", required=True, limit=20)
    return {
        "number": number,
        "position": _position(number),
        "title": _text(values, "title", required=True, limit=300),
        "presenter": _text(values, "presenter", required=False, limit=200),
        "decision": _choice(values, "decision", DecisionKind, DecisionKind.MOTION),
        "summary": _text(values, "summary", required=False, limit=4000),
    }


def add_agenda_item(meeting: Meeting, values: Mapping[str, Any]) -> AgendaItem:
    clean = _agenda_values(values)
    if any(i.number == clean["number"] for i in meeting.agenda):
        raise Conflict(f"Agenda item {clean['number']} already exists in this meeting.")
    item = AgendaItem(meeting=meeting, **clean)
    db.session.add(item)
    audit.record("agenda_item.create", item, None)
    return item


def update_agenda_item(item: AgendaItem, values: Mapping[str, Any]) -> AgendaItem:
    clean = _agenda_values(values)
    if any(i.number == clean["number"] and i.id != item.id for i in item.meeting.agenda):
        raise Conflict(f"Agenda item {clean['number']} already exists in this meeting.")
    return audit.apply_changes(item, clean, "agenda_item.update")


def add_candidacy(meeting: Meeting, member: Member, kind: str | CandidacyKind, notified_on: date | None, notes: str = "") -> Candidacy:
    kind_v = _choice({"kind": kind}, "kind", CandidacyKind)
    if any(c.member_id == member.id and c.kind == kind_v for c in meeting.candidacies):
        raise Conflict(f"{member.name} already has a {kind_v.value} candidacy for this meeting.")
    cand = Candidacy(meeting=meeting, member=member, kind=kind_v, notified_on=notified_on, notes=notes)
    db.session.add(cand)
    audit.record("candidacy.create", cand, None)
    return cand
