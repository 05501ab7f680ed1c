"""The roll of members present (STATUTE_RULES §1, §2) and the ways onto it: the rotating venue code
scanned by a signed-in phone, and the Secretariat's desk. No browser: delegates sign in with a
Python Ed25519 key enrolled exactly as enrol.js does it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import csrf_from, enrol_python_key
from sqlalchemy import select

from voting.models import Attendance, AuditEvent, Delegate, Meeting, Member
from voting.services import attendance, roster
from voting.services import meetings as meeting_service

WINDOW = attendance.WINDOW_SECONDS


def page(resp: Any) -> str:
    return resp.get_data(as_text=True)


def events(session: Any, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def make_meeting(session: Any, key: str, body: str = "excom", rule_set: str = "wego-2017",
                 title: str | None = None) -> Meeting:
    now = datetime.now(UTC).replace(microsecond=0)
    meeting = meeting_service.create_meeting({
        "key": key, "title": title or f"Meeting {key}", "body": body, "rule_set": rule_set,
        "starts_at": (now - timedelta(minutes=30)).isoformat(), "ends_at": (now + timedelta(hours=4)).isoformat(),
    })
    session.commit()
    return meeting


def add_delegate(session: Any, member: Member, name: str, voting: bool = True) -> Delegate:
    delegate = roster.add_delegate(member, {"display_name": name, "email": name.lower().replace(" ", ".") + "@example.org",
                                            "is_voting": voting})
    session.commit()
    return delegate


def seated(session: Any, make_member: Any, count: int) -> list[Member]:
    """`count` members seated on the Executive Committee for this year."""
    year = datetime.now(UTC).year
    members = [make_member(f"Excom City {i:02d}") for i in range(1, count + 1)]
    for member in members:
        roster.seat_member(member, "member", year - 1, year + 1)
    session.commit()
    return members


def check_in(session: Any, meeting: Meeting, *delegates: Delegate) -> None:
    for delegate in delegates:
        attendance.set_presence(meeting, delegate, True, via="desk")
    session.commit()


def at_second(into_window: int, windows_from_now: int = 0) -> datetime:
    """A moment `into_window` seconds into a 30-second window near now (so that codes are current)."""
    start = (int(datetime.now(UTC).timestamp()) // WINDOW + windows_from_now) * WINDOW
    return datetime.fromtimestamp(start + into_window, UTC)


def freeze(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(attendance, "utcnow", lambda: moment)


def code_at(meeting: Meeting, moment: datetime, windows_back: int = 0) -> str:
    return attendance.checkin_code(meeting, int(moment.timestamp()) // WINDOW - windows_back)


# ---------------------------------------------------------------- the roll and the quorum


@pytest.mark.parametrize(("rule_set", "required"), [("wego-2014", 5), ("wego-2017", 4)])
def test_excom_of_13_quorum_under_each_rule_set(session: Any, make_member: Any, rule_set: str, required: int) -> None:
    """Art. 16.1: one third (2014: 5 of 13, as 4 × 3 = 12 < 13) or one fourth (2017: 4, as 3 × 4 = 12 < 13)."""
    members = seated(session, make_member, 13)
    delegates = [add_delegate(session, m, f"Delegate {i:02d}") for i, m in enumerate(members, 1)]
    meeting = make_meeting(session, f"excom-{rule_set}", rule_set=rule_set)

    check_in(session, meeting, *delegates[:required - 1])
    roll = attendance.roll(meeting)
    assert (roll.total, roll.present, roll.quorum_required, roll.quorum_met) == (13, required - 1, required, False)
    assert roll.quorum_article == "Art. 16.1"

    check_in(session, meeting, delegates[required - 1])
    roll = attendance.roll(meeting)
    assert (roll.present, roll.quorum_met) == (required, True)
    assert [e.member.name for e in roll.members if e.present] == [m.name for m in members[:required]]


def test_ga_counts_full_members_once_and_others_as_attendees(session: Any, make_member: Any) -> None:
    twice = make_member("Seoul", country="Korea")           # two voting representatives in the hall
    by_attendee = make_member("Tbilisi", country="Georgia")  # only its non-voting attendee in the hall
    once = make_member("Makati", country="Philippines")
    away = make_member("Kazan", country="Russia")
    others = [make_member("Gyeonggi", category="associate"), make_member("Denver", category="friendship"),
              make_member("Techcorp", category="corporate")]
    in_hall = [add_delegate(session, twice, "Seoul One"), add_delegate(session, twice, "Seoul Two"),
               add_delegate(session, by_attendee, "Tbilisi Attendee", voting=False),
               add_delegate(session, once, "Makati One")]
    in_hall += [add_delegate(session, m, f"{m.name} Delegate", voting=(i != 1)) for i, m in enumerate(others)]
    add_delegate(session, away, "Kazan One")
    meeting = make_meeting(session, "ga-2017", body="ga")

    check_in(session, meeting, *in_hall)
    roll = attendance.roll(meeting)
    by_name = {e.member.name: e for e in roll.members}
    assert sorted(by_name) == ["Kazan", "Makati", "Seoul", "Tbilisi"]  # the full members, nobody else
    assert (roll.total, roll.present) == (4, 2)
    assert by_name["Seoul"].present and by_name["Seoul"].delegates_in == ("Seoul One", "Seoul Two")
    assert by_name["Makati"].present
    assert not by_name["Tbilisi"].present and by_name["Tbilisi"].delegates_in == ()
    assert not by_name["Kazan"].present
    # Tbilisi's attendee and the three delegates of associate, friendship and corporate members.
    assert roll.attendees_present == 4
    assert roll.quorum_required == 1  # one fourth of 4 full members (wego-2017)


def test_roll_json_api(client: Any, session: Any, make_member: Any, login: Any) -> None:
    members = seated(session, make_member, 3)
    delegate = add_delegate(session, members[0], "Ana Roll")
    guest = add_delegate(session, make_member("Guest City", category="associate"), "Guest Person", voting=False)
    meeting = make_meeting(session, "excom-json")
    check_in(session, meeting, delegate, guest)
    assert client.get(f"/api/meetings/{meeting.id}/roll").status_code in (302, 401)  # not signed in

    login("observer")
    resp = client.get(f"/api/meetings/{meeting.id}/roll")
    assert resp.status_code == 200
    assert resp.get_json() == {
        "meeting": meeting.id, "present": 1, "total": 3, "attendees_present": 1,
        "quorum": {"required": 1, "met": True, "article": "Art. 16.1", "words": "one fourth or more"},
        "members": [{"id": m.id, "name": m.name, "present": m.id == members[0].id,
                     "delegates_in": ["Ana Roll"] if m.id == members[0].id else []} for m in members],
    }
    assert client.get("/api/meetings/999999/roll").status_code == 404


def test_delegate_cannot_read_the_roll_or_the_venue_code(client: Any, session: Any, make_member: Any) -> None:
    member = seated(session, make_member, 1)[0]
    delegate = add_delegate(session, member, "Curious Delegate")
    meeting = make_meeting(session, "excom-private")
    enrol_python_key(client, session, delegate)
    for url in (f"/api/meetings/{meeting.id}/roll", f"/api/meetings/{meeting.id}/venue-code",
                f"/meetings/{meeting.id}/venue-code.png", f"/meetings/{meeting.id}/roll"):
        assert client.get(url).status_code == 403, url


# ---------------------------------------------------------------- the desk


def test_desk_check_in_and_out_are_audited(client: Any, session: Any, make_member: Any, login: Any) -> None:
    member = seated(session, make_member, 1)[0]
    delegate = add_delegate(session, member, "Desk Person")
    meeting = make_meeting(session, "excom-desk")
    login("secretariat")

    resp = client.post(f"/meetings/{meeting.id}/desk/{delegate.id}", data={"action": "in", "q": "Desk"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/meetings/{meeting.id}/desk?q=Desk"
    assert "Desk Person is checked in." in page(client.get(resp.headers["Location"]))
    assert attendance.is_checked_in(meeting, delegate)
    # Pressing again changes nothing and records nothing.
    client.post(f"/meetings/{meeting.id}/desk/{delegate.id}", data={"action": "in"})
    [event] = events(session, "attendance.check_in")
    assert (event.actor, event.entity, event.entity_id) == ("staff:secretariat-user", "attendance", f"{meeting.id}:{delegate.id}")
    assert event.after == {"meeting_id": meeting.id, "delegate_id": delegate.id, "member_id": member.id,
                           "present": True, "via": "desk"}
    assert attendance.roll(meeting).present == 1

    resp = client.post(f"/meetings/{meeting.id}/desk/{delegate.id}", data={"action": "out"})
    assert resp.status_code == 302
    session.expire_all()
    assert not attendance.is_checked_in(meeting, delegate)
    [event] = events(session, "attendance.check_out")
    assert event.after is not None and (event.after["present"], event.after["via"]) == (False, "desk")
    assert attendance.roll(meeting).present == 0

    assert client.post(f"/meetings/{meeting.id}/desk/{delegate.id}", data={"action": "maybe"}).status_code == 422
    assert client.post(f"/meetings/{meeting.id}/desk/999999", data={"action": "in"}).status_code == 404
    assert len(events(session, "attendance.check_in")) == 1 and len(events(session, "attendance.check_out")) == 1


def test_desk_is_for_the_secretariat_only(client: Any, session: Any, make_member: Any, login: Any) -> None:
    member = seated(session, make_member, 1)[0]
    delegate = add_delegate(session, member, "Someone")
    meeting = make_meeting(session, "excom-desk-roles")
    login("chair")
    assert client.post(f"/meetings/{meeting.id}/desk/{delegate.id}", data={"action": "in"}).status_code == 403
    assert client.get(f"/meetings/{meeting.id}/desk").status_code == 403
    assert session.scalar(select(Attendance).where(Attendance.delegate_id == delegate.id)) is None


# ---------------------------------------------------------------- the venue code


@pytest.fixture
def hall(client: Any, session: Any, make_member: Any) -> dict[str, Any]:
    """A current EXCOM meeting, another meeting, and a delegate signed in on the test client (the phone)."""
    member = seated(session, make_member, 2)[0]
    delegate = add_delegate(session, member, "Phone Owner")
    meeting = make_meeting(session, "excom-hall", title="Executive Committee, Hall A")
    other = make_meeting(session, "excom-other", title="Executive Committee, Hall B")
    _key, key_id = enrol_python_key(client, session, delegate)
    return {"meeting": meeting, "other": other, "delegate": delegate, "key_id": key_id}


def test_python_enrolment_signs_the_phone_in(client: Any, session: Any, hall: dict[str, Any]) -> None:
    me = client.get("/me")
    assert me.status_code == 200
    assert "Python test · pytest" in page(me) and hall["key_id"] in page(me)
    [event] = events(session, "device_key.enrol")
    assert event.entity_id == hall["key_id"]


def test_current_code_checks_in(client: Any, session: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    meeting, delegate = hall["meeting"], hall["delegate"]
    now = at_second(20)
    freeze(monkeypatch, now)
    url = f"/c/excom-hall/{code_at(meeting, now)}"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Check in Phone Owner" in page(confirm) and ">Check in</button>" in page(confirm)
    assert not attendance.is_checked_in(meeting, delegate)  # opening the link alone changes nothing

    done = client.post(url)
    assert done.status_code == 302 and done.headers["Location"] == "/me"
    assert "You are checked in at Executive Committee, Hall A." in page(client.get("/me"))
    session.expire_all()
    assert attendance.is_checked_in(meeting, delegate)
    [event] = events(session, "attendance.check_in")
    assert event.actor == f"delegate:{delegate.id}" and event.after is not None and event.after["via"] == "venue-qr"
    assert "You are already checked in." in page(client.get(url))


def test_lower_case_code_is_the_same_code(client: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = at_second(3)
    freeze(monkeypatch, now)
    assert client.get(f"/c/excom-hall/{code_at(hall['meeting'], now).lower()}").status_code == 200


def test_previous_code_within_the_grace_is_accepted(client: Any, hall: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    now = at_second(attendance.GRACE_SECONDS - 1)
    freeze(monkeypatch, now)
    assert client.get(f"/c/excom-hall/{code_at(hall['meeting'], now, windows_back=1)}").status_code == 200
    assert client.post(f"/c/excom-hall/{code_at(hall['meeting'], now, windows_back=1)}").status_code == 302


@pytest.mark.parametrize(("into", "back"), [(attendance.GRACE_SECONDS + 1, 1), (5, 3), (25, 100)])
def test_old_code_is_refused_as_expired(client: Any, session: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                        into: int, back: int) -> None:
    now = at_second(into)
    freeze(monkeypatch, now)
    url = f"/c/excom-hall/{code_at(hall['meeting'], now, windows_back=back)}"
    for resp in (client.get(url), client.post(url)):
        assert resp.status_code == 400
        assert "This check-in code has expired" in page(resp) and "Scan the code on the screen in the hall again." in page(resp)
    assert client.get(url, headers={"Accept": "application/json"}).get_json()["error"] == "checkin_refused"
    assert not attendance.is_checked_in(hall["meeting"], hall["delegate"])
    assert events(session, "attendance.check_in") == []


def test_code_of_another_meeting_is_refused(client: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = at_second(15)
    freeze(monkeypatch, now)
    resp = client.get(f"/c/excom-hall/{code_at(hall['other'], now)}")
    assert resp.status_code == 400
    assert "This check-in code is not valid for Executive Committee, Hall A" in page(resp)
    # and the other meeting takes it
    assert client.get(f"/c/excom-other/{code_at(hall['other'], now)}").status_code == 200


@pytest.mark.parametrize("garbage", ["AAAAAAAAAAAA", "abc", "0" * 80, "%F0%9F%90%8D", "'%20OR%201=1"])
def test_garbage_code_is_refused(client: Any, hall: dict[str, Any], garbage: str) -> None:
    resp = client.get(f"/c/excom-hall/{garbage}")
    assert resp.status_code == 400
    assert "not valid for Executive Committee, Hall A" in page(resp)
    assert client.post(f"/c/excom-hall/{garbage}").status_code == 400
    assert not attendance.is_checked_in(hall["meeting"], hall["delegate"])


def test_unknown_meeting_is_not_found(client: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = at_second(15)
    freeze(monkeypatch, now)
    resp = client.get(f"/c/no-such-meeting/{code_at(hall['meeting'], now)}")
    assert resp.status_code == 404 and "There is no meeting at this check-in address." in page(resp)


def test_confirming_after_the_code_rotated(client: Any, session: Any, hall: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A phone that opened a valid code may press the button after it rotated, within CONFIRM_SECONDS;
    the same old code without that earlier scan, or much later, is refused."""
    opened = at_second(28)  # scanned at the end of its window
    code = code_at(hall["meeting"], opened)
    url = f"/c/excom-hall/{code}"
    freeze(monkeypatch, opened + timedelta(seconds=40))
    assert client.post(url).status_code == 400  # never opened: an old code

    freeze(monkeypatch, opened)
    assert client.get(url).status_code == 200
    freeze(monkeypatch, opened + timedelta(seconds=attendance.CONFIRM_SECONDS + 1))
    assert client.post(url).status_code == 400  # too late

    freeze(monkeypatch, opened)
    assert client.get(url).status_code == 200
    freeze(monkeypatch, opened + timedelta(seconds=40))  # the screen shows the next-but-one code
    assert client.post(url).status_code == 302
    session.expire_all()
    assert attendance.is_checked_in(hall["meeting"], hall["delegate"])
    assert client.post(url).status_code == 400  # used: the scan is forgotten once confirmed


def test_signed_out_phone_is_told_to_scan_its_badge(app: Any, session: Any, make_member: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    meeting = make_meeting(session, "excom-nobadge", title="Executive Committee, Hall C")
    phone = app.test_client()
    now = at_second(12)
    freeze(monkeypatch, now)
    resp = phone.get(f"/c/excom-nobadge/{code_at(meeting, now)}")
    assert resp.status_code == 401
    assert "Scan your badge first" in page(resp) and "check-in code for Executive Committee, Hall C" in page(resp)
    assert "Check in</button>" not in page(resp)
    post = phone.post(f"/c/excom-nobadge/{code_at(meeting, now)}")
    assert post.status_code in (302, 401) and session.scalar(select(Attendance)) is None
    # An invalid code says so first, signed in or not.
    assert phone.get("/c/excom-nobadge/AAAAAAAAAAAA").status_code == 400


def test_phone_stays_signed_in_when_its_network_changes(client: Any, hall: dict[str, Any]) -> None:
    """A signed-out delegate needs a new code from the desk, so a new address (hall Wi-Fi to mobile
    data) must not end the session (Flask-Login session_protection "basic", not "strong")."""
    assert client.get("/me").status_code == 200
    assert client.get("/me", environ_base={"REMOTE_ADDR": "100.64.7.9"}).status_code == 200  # mobile data
    assert client.get("/me").status_code == 200  # back on the hall's Wi-Fi


def test_checkout_from_the_phone(client: Any, session: Any, hall: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    meeting = hall["meeting"]
    now = at_second(15)
    freeze(monkeypatch, now)
    client.get(f"/c/excom-hall/{code_at(meeting, now)}")
    assert client.post(f"/c/excom-hall/{code_at(meeting, now)}").status_code == 302
    resp = client.post(f"/me/checkout/{meeting.id}")
    assert resp.status_code == 302
    assert "You are checked out of Executive Committee, Hall A." in page(client.get("/me"))
    session.expire_all()
    assert not attendance.is_checked_in(meeting, hall["delegate"])
    [event] = events(session, "attendance.check_out")
    assert event.actor == f"delegate:{hall['delegate'].id}" and event.after is not None and event.after["via"] == "self"


def test_venue_code_api_gives_the_current_code(client: Any, session: Any, make_member: Any, login: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    meeting = make_meeting(session, "excom-screen")
    login("chair")
    now = at_second(7)
    freeze(monkeypatch, now)
    body = client.get(f"/api/meetings/{meeting.id}/venue-code").get_json()
    assert body["code"] == code_at(meeting, now) and body["seconds_left"] == WINDOW - 7
    assert body["url"] == f"http://localhost/c/excom-screen/{body['code']}"
    png = client.get(body["image"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.headers["Cache-Control"] == "no-store"
    assert client.get(f"/meetings/{meeting.id}/venue-code").status_code == 200


# ---------------------------------------------------------------- with CSRF on, as in production


@pytest.fixture
def csrf_on(app_config: dict[str, Any]) -> None:
    app_config["WTF_CSRF_ENABLED"] = True


def test_enrol_and_check_in_with_csrf(csrf_on: None, client: Any, session: Any, make_member: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    member = seated(session, make_member, 1)[0]
    delegate = add_delegate(session, member, "Careful Person")
    meeting = make_meeting(session, "excom-csrf")
    enrol_python_key(client, session, delegate)
    now = at_second(15)
    freeze(monkeypatch, now)
    url = f"/c/excom-csrf/{code_at(meeting, now)}"
    confirm = client.get(url)
    assert client.post(url).status_code == 400  # no token: refused
    assert client.post(url, data={"csrf_token": csrf_from(page(confirm))}).status_code == 302
    session.expire_all()
    assert attendance.is_checked_in(meeting, delegate)
