"""The Secretariat's roster pages through HTTP: every write is audited, every refusal writes nothing
and keeps what the person typed, and read pages serve each staff role."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text

from voting.models import AgendaItem, AuditEvent, Candidacy, Delegate, ExcomSeat, Meeting, Member
from voting.services import meetings as meeting_service
from voting.services import roster

READ_ROLES = ["secretariat", "chair", "secretary-general", "observer"]

MEMBER = {"name": "Ulaanbaatar", "country": "Mongolia", "region": "Asia-Pacific", "category": "full",
          "status": "active", "status_effective_on": "", "fee_paid_through": "2017", "joined_on": "2010-09-01",
          "notes": ""}
MEETING = {"key": "excom-2017", "title": "Executive Committee 2017", "body": "excom", "rule_set": "wego-2017",
           "starts_at": "2017-06-27T17:00+04:00", "ends_at": "2017-06-27T18:30+04:00", "venue": "Hilton",
           "city": "Ulyanovsk", "host_member_id": ""}


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def events(session: Any, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def page(resp: Any) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def secretariat(login: Any) -> Any:
    return login("secretariat")


@pytest.fixture
def member(make_member: Any) -> Member:
    return make_member("Chengdu", country="China")


def add_delegate(session: Any, member: Member, name: str, voting: bool) -> Delegate:
    d = roster.add_delegate(session.get(Member, member.id), {
        "display_name": name, "email": f"{name.lower().replace(' ', '.')}@example.org", "is_voting": voting})
    session.commit()
    return d


# ---------------------------------------------------------------- members


def test_add_member(client: Any, session: Any, secretariat: Any) -> None:
    resp = client.post("/members/new", data=MEMBER)
    assert resp.status_code == 302
    m = session.scalars(select(Member).where(Member.name == "Ulaanbaatar")).one()
    assert resp.headers["Location"] == f"/members/{m.id}"
    assert (m.country, m.fee_paid_through, m.joined_on) == ("Mongolia", 2017, date(2010, 9, 1))
    created = events(session, "member.create")
    assert created[-1].entity_id == str(m.id) and created[-1].actor == "staff:secretariat-user"
    assert "Ulaanbaatar (Mongolia) is on the roster." in page(client.get(resp.headers["Location"]))


def test_member_form_errors_keep_what_was_typed(client: Any, session: Any, secretariat: Any) -> None:
    resp = client.post("/members/new", data={**MEMBER, "name": "", "notes": "typed with care"})
    assert resp.status_code == 422
    body = page(resp)
    assert "Enter the member&#39;s name." in body
    assert 'value="Mongolia"' in body and "typed with care" in body
    assert count(session, Member) == 0


def test_duplicate_member_refused(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    before = count(session, AuditEvent)
    resp = client.post("/members/new", data={**MEMBER, "name": "chengdu", "country": "CHINA", "notes": "second try"})
    assert resp.status_code == 409
    body = page(resp)
    assert "chengdu (CHINA) is already on the roster." in body and "Edit the existing member instead." in body
    assert "second try" in body
    assert count(session, Member) == 1 and count(session, AuditEvent) == before


def test_edit_member_is_audited_with_before_and_after(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    form = page(client.get(f"/members/{member.id}/edit"))
    assert 'value="Chengdu"' in form and "never deleted" in form
    resp = client.post(f"/members/{member.id}/edit", data={**MEMBER, "name": "Chengdu", "country": "China",
                                                           "region": "Europe", "fee_paid_through": "2018"})
    assert resp.status_code == 302
    update = events(session, "member.update")[-1]
    assert update.entity_id == str(member.id)
    assert update.before["region"] == "Asia-Pacific" and update.after["region"] == "Europe"
    assert update.before["fee_paid_through"] is None and update.after["fee_paid_through"] == 2018
    body = page(client.get(f"/members/{member.id}"))
    assert "member.update" in body and "Europe" in body


def test_rename_onto_another_member_refused(client: Any, session: Any, secretariat: Any, make_member: Any) -> None:
    a = make_member("Kazan", country="Russia")
    make_member("Ufa", country="Russia")
    resp = client.post(f"/members/{a.id}/edit", data={**MEMBER, "name": "Ufa", "country": "Russia"})
    assert resp.status_code == 409 and "already on the roster as another member" in page(resp)
    assert session.get(Member, a.id).name == "Kazan"


def test_withdrawal_needs_its_effective_date(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    values = {**MEMBER, "name": "Chengdu", "country": "China", "status": "withdrawn"}
    resp = client.post(f"/members/{member.id}/edit", data=values)
    assert resp.status_code == 422
    assert "needs the date it takes effect" in page(resp)
    session.expire_all()
    assert session.get(Member, member.id).status.value == "active"
    assert events(session, "member.update") == []

    resp = client.post(f"/members/{member.id}/edit", data={**values, "status_effective_on": "2017-06-27"})
    assert resp.status_code == 302
    m = session.get(Member, member.id)
    assert (m.status.value, m.status_effective_on) == ("withdrawn", date(2017, 6, 27))
    assert count(session, Member) == 1  # withdrawn, not deleted
    assert "Withdrawn since 27 Jun 2017" in page(client.get(f"/members/{member.id}"))


def test_members_list_counts_and_filters(client: Any, session: Any, secretariat: Any, make_member: Any) -> None:
    make_member("Seoul", country="Korea")
    make_member("Kazan", country="Russia", region="Europe")
    make_member("Jeonju", country="Korea", category="friendship")
    placeholder = make_member("Placeholder member city 001")
    placeholder.is_placeholder = True
    session.commit()
    body = page(client.get("/members"))
    assert "3 full members · 1 friendship member" in body
    assert "placeholder</span>" in body and "1 of them demo placeholder" in body
    body = page(client.get("/members?category=friendship"))
    assert "Jeonju" in body and "Seoul" not in body and "1 friendship member" in body
    body = page(client.get("/members?q=kor"))
    assert "Seoul" in body and "Jeonju" in body and "Kazan" not in body
    body = page(client.get("/members?region=Europe"))
    assert "Kazan" in body and "Seoul" not in body
    body = page(client.get("/members?q=%25"))
    assert "No member matches these filters" in body
    resp = client.get("/members?category=bogus&status=gone")  # a stale or edited link lists everyone
    assert resp.status_code == 200 and "3 full members · 1 friendship member" in page(resp)


def test_unknown_member_is_a_helpful_404(client: Any, secretariat: Any) -> None:
    resp = client.get("/members/9999")
    assert resp.status_code == 404
    assert "There is no member number 9999." in page(resp) and "members list" in page(resp)
    assert client.get("/delegates/9999/edit").status_code == 404
    assert client.post("/meetings/9999/agenda/new", data={}).status_code == 404


# ---------------------------------------------------------------- delegates


def test_add_and_edit_delegate(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    resp = client.post(f"/members/{member.id}/delegates/new", data={
        "display_name": "Chengdu representative 1", "email": "Rep1@Chengdu.example", "phone": "+86 28 1234", "is_voting": "y"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/members/{member.id}#delegates"
    d = session.scalars(select(Delegate)).one()
    assert (d.email, d.is_voting, d.is_active) == ("rep1@chengdu.example", True, True)
    body = page(client.get(f"/members/{member.id}"))
    assert "1 of 2 voting representatives" in body and "Voting representative</span>" in body

    resp = client.post(f"/delegates/{d.id}/edit", data={
        "display_name": "Chengdu attendee", "email": "rep1@chengdu.example", "phone": "", "is_active": "y"})
    assert resp.status_code == 302
    session.expire_all()
    d = session.get(Delegate, d.id)
    assert (d.display_name, d.is_voting, d.phone) == ("Chengdu attendee", False, None)
    update = events(session, "delegate.update")[-1]
    assert update.before["is_voting"] is True and update.after["is_voting"] is False
    assert "0 of 2 voting representatives" in page(client.get(f"/members/{member.id}"))


def test_third_voting_representative_refused(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    add_delegate(session, member, "Rep One", True)
    add_delegate(session, member, "Rep Two", True)
    before = count(session, AuditEvent)
    resp = client.post(f"/members/{member.id}/delegates/new", data={
        "display_name": "Rep Three", "email": "three@example.org", "is_voting": "y"})
    assert resp.status_code == 409
    body = page(resp)
    assert "Chengdu already has 2 voting representatives; a member may have at most 2." in body
    assert "Make one of them a non-voting attendee first" in body
    assert 'value="Rep Three"' in body and 'value="three@example.org"' in body
    assert count(session, Delegate) == 2 and count(session, AuditEvent) == before


def test_attendee_cannot_be_made_a_third_voter(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    add_delegate(session, member, "Rep One", True)
    add_delegate(session, member, "Rep Two", True)
    attendee = add_delegate(session, member, "Attendee", False)
    resp = client.post(f"/delegates/{attendee.id}/edit", data={
        "display_name": "Attendee", "email": attendee.email, "is_voting": "y", "is_active": "y"})
    assert resp.status_code == 409 and "already has 2 voting representatives" in page(resp)
    session.expire_all()
    assert session.get(Delegate, attendee.id).is_voting is False


def test_deactivate_keeps_the_delegate(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    d = add_delegate(session, member, "Rep One", True)
    resp = client.post(f"/delegates/{d.id}/deactivate")
    assert resp.status_code == 302
    session.expire_all()
    d = session.get(Delegate, d.id)
    assert d is not None and d.is_active is False
    assert events(session, "delegate.update")[-1].after["is_active"] is False
    body = page(client.get(f"/members/{member.id}"))
    assert "Inactive" in body and "0 of 2 voting representatives" in body


@pytest.mark.parametrize("role", READ_ROLES)
def test_delegate_contact_only_for_the_secretariat(client: Any, session: Any, login: Any, member: Member, role: str) -> None:
    d = roster.add_delegate(session.get(Member, member.id), {
        "display_name": "Rep One", "email": "rep.one@chengdu.example", "phone": "+86 28 5555", "is_voting": True})
    session.commit()
    login(role)
    body = page(client.get(f"/members/{member.id}"))
    assert "Rep One" in body
    if role == "secretariat":
        assert "rep.one@chengdu.example" in body and "+86 28 5555" in body
        assert f"/delegates/{d.id}/edit" in body
    else:
        assert "rep.one@chengdu.example" not in body and "+86 28 5555" not in body
        assert "shown only to the Secretariat" in body
        assert f"/delegates/{d.id}/edit" not in body and "Add a delegate" not in body


# ---------------------------------------------------------------- Executive Committee seats


def test_add_and_edit_seat(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    resp = client.post("/seats/new", data={"member_id": member.id, "office": "vice-president",
                                           "term_start": "2016", "term_end": "2018"})
    assert resp.status_code == 302
    seat = session.scalars(select(ExcomSeat)).one()
    assert (seat.office.value, seat.term_start, seat.term_end) == ("vice-president", 2016, 2018)
    body = page(client.get("/seats"))
    assert "Term 2016–2018" in body and "Vice president" in body and "Chengdu" in body

    resp = client.post(f"/seats/{seat.id}/edit", data={"office": "president", "term_start": "2016", "term_end": "2019"})
    assert resp.status_code == 302
    update = events(session, "excom_seat.update")[-1]
    assert update.before["office"] == "vice-president" and update.after["office"] == "president"
    assert update.after["term_end"] == 2019


def test_seat_refusals_write_nothing(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    resp = client.post("/seats/new", data={"member_id": member.id, "office": "member", "term_start": "2018", "term_end": "2016"})
    assert resp.status_code == 422 and "the last not before the first" in page(resp)
    assert count(session, ExcomSeat) == 0
    client.post("/seats/new", data={"member_id": member.id, "office": "member", "term_start": "2016", "term_end": "2018"})
    resp = client.post("/seats/new", data={"member_id": member.id, "office": "member", "term_start": "2016", "term_end": "2017"})
    assert resp.status_code == 409 and "already has a seat for the term starting 2016" in page(resp)
    assert count(session, ExcomSeat) == 1


def test_seat_edit_onto_an_existing_term_is_refused(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    m = session.get(Member, member.id)
    roster.seat_member(m, "member", 2014, 2016)
    later = roster.seat_member(m, "member", 2017, 2019)
    session.commit()
    resp = client.post(f"/seats/{later.id}/edit", data={"office": "member", "term_start": "2014", "term_end": "2016"})
    assert resp.status_code == 409 and "already has a seat for the term starting 2014" in page(resp)


# ---------------------------------------------------------------- meetings, agenda, candidacies


def test_add_and_edit_meeting_in_the_venue_clock(client: Any, session: Any, secretariat: Any) -> None:
    form = page(client.get("/meetings/new"))
    assert "2017-06-27T17:00+04:00" in form  # the format is said on the page
    resp = client.post("/meetings/new", data=MEETING)
    assert resp.status_code == 302
    mt = session.scalars(select(Meeting)).one()
    assert mt.utc_offset_minutes == 240 and mt.starts_at.hour == 13
    body = page(client.get(f"/meetings/{mt.id}"))
    assert "27 Jun 2017, 17:00 (UTC+04:00)" in body and "wego-2017" in body and "Executive Committee" in body

    form = page(client.get(f"/meetings/{mt.id}/edit"))
    assert 'value="2017-06-27T17:00+04:00"' in form
    resp = client.post(f"/meetings/{mt.id}/edit", data={**MEETING, "title": "EXCOM 2017 (Ulyanovsk)"})
    assert resp.status_code == 302
    update = events(session, "meeting.update")[-1]
    assert update.before["title"] == "Executive Committee 2017" and update.after["title"] == "EXCOM 2017 (Ulyanovsk)"


def test_meeting_time_without_offset_refused(client: Any, session: Any, secretariat: Any) -> None:
    resp = client.post("/meetings/new", data={**MEETING, "starts_at": "2017-06-27T17:00"})
    assert resp.status_code == 422
    assert "needs the venue&#39;s UTC offset" in page(resp) and 'value="2017-06-27T17:00"' in page(resp)
    assert count(session, Meeting) == 0


def test_duplicate_meeting_key_refused(client: Any, session: Any, secretariat: Any) -> None:
    assert client.post("/meetings/new", data=MEETING).status_code == 302
    resp = client.post("/meetings/new", data={**MEETING, "title": "Another"})
    assert resp.status_code == 409 and "A meeting named excom-2017 already exists." in page(resp)
    assert count(session, Meeting) == 1


@pytest.fixture
def meeting(session: Any) -> Meeting:
    mt = meeting_service.create_meeting(MEETING)
    session.commit()
    return mt


def test_add_and_edit_agenda_item(client: Any, session: Any, secretariat: Any, meeting: Meeting) -> None:
    resp = client.post(f"/meetings/{meeting.id}/agenda/new", data={
        "number": "7", "title": "Election of the host city of the 2018 General Assembly", "presenter": "Secretariat",
        "decision": "host-city", "summary": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#agenda")
    item = session.scalars(select(AgendaItem)).one()
    body = page(client.get(f"/meetings/{meeting.id}"))
    assert "Election of the host city" in body and "Host city (exhaustive ballot)" in body

    resp = client.post(f"/agenda/{item.id}/edit", data={"number": "7", "title": "Host city 2018", "decision": "motion"})
    assert resp.status_code == 302
    update = events(session, "agenda_item.update")[-1]
    assert update.before["decision"] == "host-city" and update.after["decision"] == "motion"

    resp = client.post(f"/meetings/{meeting.id}/agenda/new", data={"number": "7", "title": "Again", "decision": "none"})
    assert resp.status_code == 409 and "Agenda item 7 already exists" in page(resp)
    assert count(session, AgendaItem) == 1


def test_add_candidacy_with_notice_date(client: Any, session: Any, secretariat: Any, meeting: Meeting, member: Member) -> None:
    resp = client.post(f"/meetings/{meeting.id}/candidacies/new", data={
        "member_id": member.id, "kind": "host-city", "notified_on": "2017-05-28", "notes": "letter of 28 May"})
    assert resp.status_code == 302
    cand = session.scalars(select(Candidacy)).one()
    assert (cand.kind.value, cand.notified_on, cand.notes) == ("host-city", date(2017, 5, 28), "letter of 28 May")
    body = page(client.get(f"/meetings/{meeting.id}"))
    assert "28 May 2017" in body and "30 days before the meeting" in body and "Chengdu" in body
    assert events(session, "candidacy.create")

    resp = client.post(f"/meetings/{meeting.id}/candidacies/new", data={
        "member_id": member.id, "kind": "host-city", "notified_on": "2017-05-29"})
    assert resp.status_code == 409 and "already has a host-city candidacy" in page(resp)
    resp = client.post(f"/meetings/{meeting.id}/candidacies/new", data={
        "member_id": member.id, "kind": "excom", "notified_on": "28/05/2017"})
    assert resp.status_code == 422 and "Enter a date like 2017-06-27." in page(resp)
    assert count(session, Candidacy) == 1


def test_meeting_page_counts_who_may_vote(client: Any, session: Any, secretariat: Any, make_member: Any, meeting: Meeting) -> None:
    seated = [make_member(f"Seated {n}") for n in range(3)]
    make_member("Withdrawn", status="withdrawn", status_effective_on="2017-01-01")
    make_member("Friend", category="friendship")
    for m in seated:
        roster.seat_member(session.get(Member, m.id), "member", 2016, 2018)
    roster.seat_member(session.get(Member, seated[0].id), "member", 2010, 2012)
    ga = meeting_service.create_meeting({**MEETING, "key": "ga-2017", "body": "ga", "title": "General Assembly 2017"})
    session.commit()
    assert "<strong>3</strong> Executive Committee members seated for 2017" in page(client.get(f"/meetings/{meeting.id}"))
    assert "<strong>3</strong> full members in good standing on 27 Jun 2017" in page(client.get(f"/meetings/{ga.id}"))


# ---------------------------------------------------------------- read pages and the audit log


@pytest.mark.parametrize("role", READ_ROLES)
def test_read_pages_render_for_each_read_role(client: Any, session: Any, login: Any, member: Member,
                                              meeting: Meeting, role: str) -> None:
    m = session.get(Member, member.id)
    roster.add_delegate(m, {"display_name": "Rep", "email": "rep@example.org", "is_voting": True})
    roster.seat_member(m, "president", 2016, 2018)
    meeting_service.add_agenda_item(meeting, {"number": "1", "title": "Opening", "decision": "none"})
    meeting_service.add_candidacy(meeting, m, "excom", date(2017, 5, 1))
    session.commit()
    login(role)
    for url in ["/members", f"/members/{member.id}", "/seats", "/meetings", f"/meetings/{meeting.id}"]:
        resp = client.get(url)
        assert resp.status_code == 200, (role, url)
        assert "Chengdu" in page(resp) or url == "/meetings"
    audit_status = client.get("/audit").status_code
    assert audit_status == (200 if role in ("secretariat", "observer") else 403)
    assert client.get("/members/new").status_code == (200 if role == "secretariat" else 403)


def test_audit_log_pages_and_diffs(client: Any, session: Any, secretariat: Any, make_member: Any) -> None:
    for n in range(55):
        make_member(f"City {n:02d}")
    total = count(session, AuditEvent)
    body = page(client.get("/audit"))
    assert "The chain verifies." in body and f"All {total} events" in body
    assert f"page 1 of {-(-total // 50)}" in body and "City 54" in body and "member.create" in body
    assert "City 00" in page(client.get("/audit?page=2"))
    assert client.get("/audit?page=99").status_code == 404


def test_audit_log_names_the_first_broken_event(client: Any, session: Any, secretariat: Any, member: Member) -> None:
    seq = events(session, "member.create")[0].seq
    session.execute(text("UPDATE audit_event SET actor = 'staff:mallory' WHERE seq = :seq"), {"seq": seq})
    session.commit()
    body = page(client.get("/audit"))
    assert f"The chain is broken at event #{seq}:" in body and "does not match its hash" in body
