"""The roll of members present: check-in by rotating venue QR or at the desk (STATUTE_RULES §1, §2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ballots.rules import load_rule_set, quorum_required

from ..errors import DomainError, Forbidden
from ..extensions import db
from ..models import Attendance, Body, Category, Delegate, Meeting, Member, utcnow
from . import audit
from .roster import excom_members_on

WINDOW_SECONDS = 30
# A code scanned in the last seconds of its window may arrive just after it rotates (hall Wi-Fi).
GRACE_SECONDS = 10
OLD_WINDOWS_RECOGNIZED = 2 * 24 * 3600 // WINDOW_SECONDS
# A phone that opened a valid code may confirm the check-in this long afterwards (a slow phone, a
# delegate reading the page): the code on the screen has rotated by then, the scan was in the hall.
CONFIRM_SECONDS = 120


class CheckInRefused(DomainError):
    status = 400
    code = "checkin_refused"


def _window(moment: datetime) -> int:
    return int(moment.timestamp()) // WINDOW_SECONDS


def checkin_code(meeting: Meeting, window: int) -> str:
    """The venue code for one 30-second window: an HMAC under the app secret, 60 bits in base32."""
    key = hashlib.sha256(b"wego-checkin-key/v1\n" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    mac = hmac.new(key, f"wego-checkin/v1\n{meeting.id}\n{window}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode("ascii")[:12]


@dataclass(frozen=True)
class VenueCode:
    code: str
    window: int
    seconds_left: int


def current_code(meeting: Meeting, now: datetime | None = None) -> VenueCode:
    now = now or utcnow()
    window = _window(now)
    left = WINDOW_SECONDS - int(now.timestamp()) % WINDOW_SECONDS
    return VenueCode(checkin_code(meeting, window), window, left)


def verify_code(meeting: Meeting, code: str, now: datetime | None = None) -> None:
    """Accept the current window's code (or the previous one within the grace); say why otherwise."""
    now = now or utcnow()
    code = (code or "").strip().upper()
    not_valid = CheckInRefused(
        _("This check-in code is not valid for %(meeting)s, or is too old.", meeting=meeting.title),
        hint=_("Scan the check-in code shown on the screen in this meeting's hall."))
    # Only a code of the right shape is compared (compare_digest refuses non-ASCII text).
    if not (len(code) == 12 and code.isascii() and code.isalnum()):
        raise not_valid
    window = _window(now)
    into = int(now.timestamp()) % WINDOW_SECONDS
    if hmac.compare_digest(code, checkin_code(meeting, window)):
        return
    if into < GRACE_SECONDS and hmac.compare_digest(code, checkin_code(meeting, window - 1)):
        return
    # Tell an old code of this meeting from one that never belonged to it (bounded search).
    for back in range(1, 121):
        if hmac.compare_digest(code, checkin_code(meeting, window - back)):
            raise CheckInRefused(
                _("This check-in code has expired: the code on the screen changes every 30 seconds."),
                hint=_("Scan the code on the screen in the hall again."))
    raise not_valid


def set_presence(meeting: Meeting, delegate: Delegate, present: bool, *, via: str) -> Attendance:
    """Check a delegate in or out of a meeting; every change is an audit event."""
    if not delegate.is_active:
        raise Forbidden(_("%(name)s is no longer on the roster.", name=delegate.display_name), hint=_("Ask the Secretariat desk."))
    row = db.session.get(Attendance, (meeting.id, delegate.id))
    actor = audit.current_actor()
    if row is None:
        row = Attendance(meeting_id=meeting.id, delegate_id=delegate.id, is_present=False, via=via, by=actor)
        db.session.add(row)
    elif row.is_present == present:
        return row
    row.is_present, row.via, row.by, row.since = present, via, actor, utcnow()
    db.session.flush()
    audit.append("attendance.check_in" if present else "attendance.check_out", "attendance",
                 f"{meeting.id}:{delegate.id}", None,
                 {"meeting_id": meeting.id, "delegate_id": delegate.id, "member_id": delegate.member_id,
                  "present": present, "via": via})
    return row


def is_checked_in(meeting: Meeting, delegate: Delegate) -> bool:
    row = db.session.get(Attendance, (meeting.id, delegate.id))
    return bool(row and row.is_present)


@dataclass(frozen=True)
class MemberRoll:
    member: Member
    present: bool
    delegates_in: tuple[str, ...]


@dataclass(frozen=True)
class Roll:
    """Who votes in this meeting's body, who is present, and the quorum the rule set requires."""

    meeting: Meeting
    members: tuple[MemberRoll, ...]
    total: int
    present: int
    quorum_required: int
    quorum_article: str
    quorum_words: str
    attendees_present: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def quorum_met(self) -> bool:
        return self.present >= self.quorum_required


def voting_members(meeting: Meeting) -> list[Member]:
    """The body's voting members when asked: full members (GA) or seated EXCOM members, in good standing."""
    day = utcnow().date() if utcnow() > meeting.starts_at else meeting.starts_at.date()
    if meeting.body == Body.EXCOM:
        return excom_members_on(meeting.starts_at.date())
    members = db.session.scalars(select(Member).where(Member.category == Category.FULL)).all()
    return sorted((m for m in members if m.in_good_standing_on(day)), key=lambda m: m.name)


def roll(meeting: Meeting) -> Roll:
    """A member is present when at least one of its voting representatives is checked in."""
    rule_set = load_rule_set(meeting.rule_set)
    members = voting_members(meeting)
    rows = db.session.execute(
        select(Delegate, Attendance).join(Attendance, Attendance.delegate_id == Delegate.id)
        .where(Attendance.meeting_id == meeting.id, Attendance.is_present)
    ).all()
    in_by_member: dict[int, list[str]] = {}
    attendees = 0
    for delegate, _att in rows:
        if delegate.is_voting:
            in_by_member.setdefault(delegate.member_id, []).append(delegate.display_name)
        else:
            attendees += 1
    voting_ids = {m.id for m in members}
    attendees += sum(len(v) for k, v in in_by_member.items() if k not in voting_ids)
    entries = tuple(MemberRoll(m, m.id in in_by_member, tuple(in_by_member.get(m.id, ()))) for m in members)
    total = len(members)
    if meeting.body == Body.GA and rule_set.ga_quorum_base == "all_members":
        total = sum(1 for m in db.session.scalars(select(Member)) if m.in_good_standing_on(meeting.starts_at.date()))
    threshold = rule_set.quorum(meeting.body.value)
    return Roll(
        meeting=meeting, members=entries, total=total, present=sum(1 for e in entries if e.present),
        quorum_required=quorum_required(rule_set, meeting.body.value, total),
        quorum_article=threshold.article, quorum_words=threshold.words, attendees_present=attendees,
    )
