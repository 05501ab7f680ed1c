"""Issue 6 end to end: the demo Executive Committee meeting run from the chair's console over HTTP
(quorum snapshot, a decision on each agenda item, a host-city tie decided by the Secretary General's
casting vote under wego-2017, certificates that verify), and a General Assembly tie that ends in
the Art. 12.11 fall-back."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ballots.record import verify_record
from tests.voting.chair_helpers import Phone, StaffDevice, open_vote, phone_for, staff_device
from voting.demo.loader import load_demo
from voting.models import Meeting, Member, Vote, VoteState
from voting.services import attendance, record_export, roster
from voting.services import meetings as meeting_service


@pytest.fixture
def excom(app: Any, session: Any, make_staff: Any) -> dict[str, Any]:
    """The demo EXCOM meeting of 2017 under wego-2017, 12 of its 13 members checked in with phones."""
    load_demo()
    meeting = session.scalars(select(Meeting).where(Meeting.key == "excom-2017")).one()
    meeting.rule_set = "wego-2017"
    members = roster.excom_members_on(meeting.starts_at.date())
    assert len(members) == 13
    phones: dict[str, Phone] = {}
    for member in members[:12]:
        rep = next(d for d in member.delegates if d.is_voting)
        attendance.set_presence(meeting, rep, True, via="desk")
        session.commit()
        phones[member.name] = phone_for(app, session, rep)
    session.commit()
    chair = staff_device(app, make_staff, "chair")
    sg = staff_device(app, make_staff, "secretary-general")
    return {"meeting": meeting, "phones": phones, "chair": chair, "sg": sg, "absent": members[12].name}


def _close(chair: StaffDevice, vote_id: int) -> None:
    assert chair.client.post(f"/chair/votes/{vote_id}/close").status_code == 302


def test_the_demo_excom_meeting_end_to_end(app: Any, session: Any, excom: dict[str, Any], tmp_path: Any) -> None:
    meeting, phones, chair, sg = excom["meeting"], excom["phones"], excom["chair"], excom["sg"]
    names = list(phones)
    console = chair.client.get(f"/chair/meetings/{meeting.id}")
    assert console.status_code == 200 and "12 of 13 members present" in console.get_data(as_text=True)

    certified = []
    for item in meeting.agenda:
        if item.decision.value == "host-city":
            vote_id = open_vote(chair, item.id, "Which city should host the next General Assembly?", ["ha-noi", "sejong"])
            for i, name in enumerate(names):
                phones[name].vote(vote_id, "sejong" if i % 2 == 0 else "ha-noi")
            _close(chair, vote_id)
            page = chair.client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
            assert "casting vote" in page
            # Certifying before the casting vote is refused; then the chair asks, the SG casts.
            early = chair.client.post(f"/api/chair/votes/{vote_id}/certificate", json={})
            assert early.status_code == 409 and "casting vote" in early.get_json()["message"]
            assert chair.client.post(f"/chair/votes/{vote_id}/casting-vote").status_code == 302
            vote = session.get(Vote, vote_id)
            assert sg.client.get(f"/sg/votes/{vote_id}").status_code == 200
            assert sg.cast_casting_vote(vote, "ha-noi").status_code == 200
        else:
            vote_id = open_vote(chair, item.id, f"Does the Executive Committee approve: {item.title}?")
            for i, name in enumerate(names):
                phones[name].vote(vote_id, "no" if i < 3 else "yes")
            _close(chair, vote_id)
        chair.certify(vote_id)
        certified.append(vote_id)

    session.expire_all()
    votes = session.scalars(select(Vote).where(Vote.meeting_id == meeting.id)).all()
    assert len(votes) == len(meeting.agenda) and all(v.state == VoteState.CERTIFIED for v in votes)
    results = app.test_client().get("/results/excom-2017").get_data(as_text=True)
    assert "Decided: Ha Noi" in results and "Adopted" in results
    memo = chair.client.get(f"/chair/meetings/{meeting.id}/memorandum.md").get_data(as_text=True)
    assert "The Executive Committee approved" in memo and "9 of 12 members present concurring" in memo

    record = record_export.build_record(meeting, certified_only=True)
    report = verify_record(record)
    assert report.ok, report.to_text()
    assert app.test_client().get(f"/results/votes/{certified[0]}/certificate.pdf").data.startswith(b"%PDF")

    # The operator's export, checked by the offline verifier as an observer would run it.
    out = tmp_path / "record.json"
    result = app.test_cli_runner().invoke(args=["export", "--meeting", "excom-2017", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = subprocess.run([sys.executable, "-m", "ballots.verify", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert app.test_client().get("/results/excom-2017/record.json").get_json()["type"] == "wego-election-record"


def test_bad_chair_actions_are_refused(app: Any, session: Any, excom: dict[str, Any], login: Any) -> None:
    meeting, chair, phones = excom["meeting"], excom["chair"], excom["phones"]
    item = meeting.agenda[0]
    vote_id = open_vote(chair, item.id, "First question?")
    again = chair.client.post(f"/chair/items/{item.id}/open", data={"question": "Second?", "confirm_report": "1"})
    assert again.status_code == 409 and "already open" in again.get_data(as_text=True)
    early = chair.client.post(f"/api/chair/votes/{vote_id}/certificate", json={})
    assert early.status_code == 409 and "Close the vote" in early.get_json()["message"]
    next(iter(phones.values())).vote(vote_id, "yes")
    _close(chair, vote_id)
    twice = chair.client.post(f"/chair/votes/{vote_id}/close")
    assert twice.status_code == 409 and "already closed" in twice.get_data(as_text=True)
    # wego-2014 allows no casting vote at all.
    meeting.rule_set = "wego-2014"
    session.commit()
    host = next(i for i in meeting.agenda if i.decision.value == "host-city")
    vid = open_vote(chair, host.id, "Host?", ["ha-noi", "sejong"])
    _close(chair, vid)
    refused = chair.client.post(f"/chair/votes/{vid}/casting-vote")
    assert refused.status_code == 403 and "allows no casting vote" in refused.get_data(as_text=True)
    # A show of hands larger than the members present is refused; nothing is recorded.
    other = meeting.agenda[1]
    hv = open_vote(chair, other.id, "By hand?")
    big = chair.client.post(f"/chair/votes/{hv}/hands", data={"count-yes": "10", "count-no": "5", "count-abstain": "0"})
    assert big.status_code == 422 and "more than the 12 members present" in big.get_data(as_text=True)
    # Delegates and observers can neither open, close nor certify.
    phone = next(iter(phones.values()))
    assert phone.client.post(f"/chair/items/{other.id}/open", data={"question": "x"}).status_code == 403
    assert phone.client.post(f"/chair/votes/{hv}/close").status_code == 403
    assert phone.client.post(f"/api/chair/votes/{vid}/certificate", json={}).status_code == 403
    observer = login("observer")
    client = app.test_client()
    client.post("/login", data={"username": observer.username, "password": "correct horse battery"})
    assert client.post(f"/chair/votes/{hv}/close").status_code == 403


def test_show_of_hands_needs_a_second_staff_and_is_marked_in_the_certificate(
        app: Any, session: Any, excom: dict[str, Any], make_staff: Any) -> None:
    meeting, chair = excom["meeting"], excom["chair"]
    item = meeting.agenda[2]
    vote_id = open_vote(chair, item.id, "Taken by hand?")
    ok = chair.client.post(f"/chair/votes/{vote_id}/hands", data={"count-yes": "8", "count-no": "3", "count-abstain": "1"})
    assert ok.status_code == 302
    early = chair.client.post(f"/api/chair/votes/{vote_id}/certificate", json={})
    assert early.status_code == 409 and "second staff" in early.get_json()["message"]
    secretariat = staff_device(app, make_staff, "secretariat")
    assert secretariat.client.post(f"/chair/votes/{vote_id}/hands/confirm").status_code == 302
    chair.certify(vote_id)
    page = app.test_client().get(f"/results/votes/{vote_id}/certificate").get_data(as_text=True)
    assert "not signed by delegates" in page and "Adopted" in page
    record = record_export.build_record(meeting, certified_only=True)
    report = verify_record(record)
    assert report.ok, report.to_text()


@pytest.fixture
def small_ga(app: Any, session: Any, make_member: Any, make_staff: Any) -> dict[str, Any]:
    """A General Assembly under wego-2017 (the GA selects the host) with 6 full members present."""
    meeting = meeting_service.create_meeting({
        "key": "ga-2020", "title": "5th General Assembly", "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2020-07-01T09:00+09:00", "ends_at": "2020-07-04T18:00+09:00"})
    item = meeting_service.add_agenda_item(meeting, {"number": "1", "title": "Host city of the next General Assembly",
                                                     "decision": "host-city"})
    for name in ("Sejong", "Ha Noi"):
        bidder = make_member(name, country="Korea" if name == "Sejong" else "Vietnam")
        meeting_service.add_candidacy(meeting, bidder, "host-city", date(2020, 1, 10))
    session.commit()
    members = session.scalars(select(Member)).all()
    for n in range(4):
        members.append(make_member(f"GA City {n}"))
    phones = []
    for member in members:
        rep = roster.add_delegate(member, {"display_name": f"{member.name} representative", "email": f"r@{member.id}.example",
                                           "voting": "yes"})
        attendance.set_presence(meeting, rep, True, via="desk")
        session.commit()
        phones.append(phone_for(app, session, rep))
    return {"meeting": meeting, "item": item, "phones": phones, "chair": staff_device(app, make_staff, "chair")}


def test_a_ga_tie_repeated_ends_in_the_art_12_11_fallback(app: Any, session: Any, small_ga: dict[str, Any]) -> None:
    chair, phones, item = small_ga["chair"], small_ga["phones"], small_ga["item"]
    assert len(phones) == 6
    vote_id = open_vote(chair, item.id, "Which city should host the next General Assembly?", ["ha-noi", "sejong"])
    for i, phone in enumerate(phones):
        phone.vote(vote_id, "sejong" if i < 3 else "ha-noi")
    _close(chair, vote_id)
    page = chair.client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    assert "Open round 2" in page
    chair.certify(vote_id)  # the first round is certified as "another round needed"
    resp = chair.client.post(f"/chair/votes/{vote_id}/next-round")
    assert resp.status_code == 302
    round2 = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    for i, phone in enumerate(phones):
        phone.vote(round2, "sejong" if i < 3 else "ha-noi")
    _close(chair, round2)
    chair.certify(round2)
    session.expire_all()
    from voting.services import certification

    body = certification.certificate_of(session.get(Vote, round2)).document["body"]
    assert body["outcome"]["decision"] == "no_decision"
    assert body["outcome"]["fallback"]["article"].startswith("Art. 12.11")
    assert "Art. 12.11" in app.test_client().get("/results/ga-2020").get_data(as_text=True)
    record = record_export.build_record(small_ga["meeting"], certified_only=True)
    report = verify_record(record)
    assert report.ok, report.to_text()


@pytest.fixture
def demo_ga(app: Any, session: Any, make_staff: Any) -> dict[str, Any]:
    """The demo General Assembly of 2017 (secret elections by default), a quorum of its full members
    checked in with phones, the chair's laptop and the Secretariat's."""
    load_demo()
    meeting = session.scalars(select(Meeting).where(Meeting.key == "ga-2017")).one()
    assert meeting.secret_elections
    members = [m for m in attendance.voting_members(meeting) if any(d.is_voting for d in m.delegates)]
    need = attendance.roll(meeting).quorum_required
    phones: dict[str, Phone] = {}
    for member in members[: need + 2]:
        rep = next(d for d in member.delegates if d.is_voting)
        attendance.set_presence(meeting, rep, True, via="desk")
        session.commit()
        phones[member.name] = phone_for(app, session, rep)
    session.commit()
    return {"meeting": meeting, "phones": phones, "chair": staff_device(app, make_staff, "chair"),
            "secretariat": staff_device(app, make_staff, "secretariat")}


def test_the_demo_ga_elects_excom_by_secret_ballot_and_its_record_verifies(
        app: Any, session: Any, demo_ga: dict[str, Any], tmp_path: Any) -> None:
    """Issue 9's "done when" over HTTP (the browser version is tests/browser/test_secret_election.py):
    the tellers' key leaves the server before the close, the key file opens the sealed ballots, the
    chair certifies, the key is published, and the offline verifier re-opens and recounts."""
    import json

    from ballots.sealed import tracker

    meeting, phones, chair, desk = demo_ga["meeting"], demo_ga["phones"], demo_ga["chair"], demo_ga["secretariat"]
    item = next(i for i in meeting.agenda if i.decision.value == "excom-election")
    page = chair.client.get(f"/chair/meetings/{meeting.id}").get_data(as_text=True)
    assert "Secret ballot" in page
    from voting.services import chairing

    candidates = [c.option.id for c in chairing.candidates_for(item)]
    assert len(candidates) == 11 and all(f'value="{c}"' in page for c in candidates)
    # 20 seats less the president city and seven vice presidents: the 11 candidates are each approved or not.
    vote_id = open_vote(chair, item.id, "Elect the Executive Committee members for 2017-2020", candidates,
                        seats=12, secret=True)
    vote = session.get(Vote, vote_id)
    assert vote.is_secret and json.loads(vote.definition)["kind"] == "excom-approval"
    options = [o["id"] for o in json.loads(vote.definition)["options"]]
    kind = json.loads(vote.definition)["kind"]
    receipts = {}
    for i, (name, phone) in enumerate(phones.items()):
        if kind == "excom-approval":
            choice: Any = {o: ("yes" if (i + k) % 3 else "no") for k, o in enumerate(options)}
        else:
            choice = options[i % len(options): i % len(options) + 1]
        receipts[name] = phone.vote(vote_id, choice)
        assert receipts[name]["tracker"]
    # Turnout only, while open: no partial counts on the chair's page.
    live = chair.client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    assert f'<span id="t-voted">{len(phones)}</span> of' in live and "Secret ballot" in live

    # The Secretariat keeps the key file and removes the server's copy; the count then waits for it.
    key_file = desk.client.post(f"/meetings/{meeting.id}/tellers/export").get_data()
    assert json.loads(key_file)["private_key"]
    removed = desk.client.post(f"/meetings/{meeting.id}/tellers/remove",
                               data={"key_file": (io.BytesIO(key_file), "wego-teller-key.json")},
                               content_type="multipart/form-data")
    assert removed.status_code == 302
    _close(chair, vote_id)
    early = chair.client.post(f"/api/chair/votes/{vote_id}/certificate", json={})
    assert early.status_code == 409 and "tellers' key" in early.get_json()["message"]
    opened = chair.client.post(f"/chair/votes/{vote_id}/open-sealed",
                               data={"key_file": (io.BytesIO(key_file), "wego-teller-key.json")},
                               content_type="multipart/form-data")
    assert opened.status_code == 302, opened.get_data(as_text=True)
    chair.certify(vote_id)
    published = desk.client.post(f"/meetings/{meeting.id}/tellers/publish", data={
        "confirm": "1", "key_file": (io.BytesIO(key_file), "wego-teller-key.json")}, content_type="multipart/form-data")
    assert published.status_code == 302, published.get_data(as_text=True)

    session.expire_all()
    record = record_export.build_record(meeting, certified_only=True)
    report = verify_record(record)
    assert report.ok, report.to_text()
    assert "re-opened with the published tellers' key" in report.to_text()
    ref = f"v{vote_id}"
    sealed = record["secret"]["votes"][ref]["sealed"]
    from ballots.signatures import b64url_decode

    assert sorted(r["tracker"] for r in receipts.values()) == [tracker(b64url_decode(s)) for s in sealed]

    # An observer's run of the offline verifier, with one delegate's receipt file (tracker beside it).
    out, receipt = tmp_path / "record.json", tmp_path / "receipt.json"
    out.write_text(json.dumps(record), encoding="utf-8")
    first = next(iter(receipts.values()))
    receipt.write_text(json.dumps({**first["receipt"], "tracker": first["tracker"]}), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "ballots.verify", str(out), "--receipt", str(receipt),
                          "--tracker", first["tracker"]], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RECEIPT: OK" in run.stdout and "TRACKER: OK" in run.stdout
