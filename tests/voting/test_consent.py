"""Issue 8 end to end over HTTP: the Secretariat drafts a resolution, sends it (the text's hash fixed,
links e-mailed to a local SMTP server), the representatives follow their links on phones with
Python keys (setting the phone up, or signing in with the key it holds), answer, and the resolution
is adopted at the moment the threshold is reached; late answers are kept and not counted; the chair
certifies; the record verifies with ballots.record and `python -m ballots.verify`. Then every bad
input with its message, the deadline without adoption, and the migration from 0005."""

from __future__ import annotations

import asyncio
import html as htmllib
import json
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from ballots.canonical import canonical_bytes
from ballots.record import verify_record
from ballots.signatures import BALLOT_LABEL, ENROL_LABEL, b64url_encode, enrolment_message, key_id_for
from tests.voting.chair_helpers import staff_device
from tests.voting.helpers import csrf_from
from voting.models import (
    Ballot,
    ConsentLink,
    DeviceKey,
    LateAnswer,
    Member,
    Resolution,
    ResolutionState,
    Vote,
    VoteState,
)
from voting.services import consent, identity, record_export, roster

BASE = "http://localhost"
LINK = re.compile(r"http://localhost/consent/([0-9A-Z]{26})")
TEXT = ("The Executive Committee approves the 2026 budget of the Secretariat as attached,\n"
        "and asks the Secretary General to report on it at the next meeting.")


# ---------------------------------------------------------------- fixtures


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"

    def links_for(self, email: str) -> list[str]:
        found = []
        for msg in self.messages:
            if msg["To"].addresses[0].addr_spec == email:
                found.extend(LINK.findall(msg.get_body(preferencelist=("plain",)).get_content()))
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(app: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=controller.port, MAIL_SENDER="secretariat@wego.example")
    yield inbox
    controller.stop()


class Clock:
    """The consent service's and certification's clock, which a test can move past the deadline."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("voting.services.consent.utcnow", c.now)
    monkeypatch.setattr("voting.services.certification.utcnow", c.now)
    return c


def make_excom(session: Any, make_member: Any, n: int, *, two_reps: tuple[int, ...] = ()) -> list[Member]:
    """n members seated on the EXCOM this year, each with a voting representative (two for some)."""
    year = datetime.now(UTC).year
    members = []
    for i in range(n):
        member = make_member(f"City {i:02d}", country=f"Country {i:02d}")
        roster.seat_member(member, "member", year - 1, year + 1)
        for k in range(2 if i in two_reps else 1):
            roster.add_delegate(member, {"display_name": f"Rep {k + 1} of City {i:02d}",
                                         "email": f"rep{k + 1}@city{i:02d}.example", "is_voting": True})
        members.append(member)
    session.commit()
    return members


def deadline_text(days: float = 2, offset: str = "+09:00") -> str:
    hours = int(offset[1:3]) * (1 if offset[0] == "+" else -1)
    local = datetime.now(UTC) + timedelta(days=days, hours=hours)
    return local.strftime("%Y-%m-%dT%H:%M") + offset


def draft(client: Any, **values: Any) -> int:
    data = {"title": "Budget 2026 of the Secretariat", "text": TEXT,
            "attachments": "Budget 2026 | https://we-gov.example/files/budget-2026.pdf",
            "rule": "written-consent", "rule_set": "wego-2014", "deadline": deadline_text()}
    data.update(values)
    resp = client.post("/resolutions/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])


def page_hash(client: Any, rid: int) -> str:
    page = client.get(f"/resolutions/{rid}").get_data(as_text=True)
    return re.search(r'name="text_sha256" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]


def send(client: Any, rid: int, *, email: bool = True) -> Any:
    data = {"confirm": "yes", "text_sha256": page_hash(client, rid)}
    if email:
        data["email"] = "yes"
    resp = client.post(f"/resolutions/{rid}/send", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


def text_of(resp: Any) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def words_of(resp: Any) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


@dataclass
class LinkPhone:
    """A representative's phone following personal links: a test client and (once set up) its key."""

    app: Any
    client: Any = None
    key: ed25519.Ed25519PrivateKey | None = None
    key_id: str | None = None
    pages: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    def open(self, token: str) -> dict[str, str]:
        resp = self.client.get(f"/consent/{token}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        page = resp.get_data(as_text=True)
        found = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', page))
        found["refusal"] = htmllib.unescape(re.search(r'id="link-refused"[^>]*>([^<]*)<', page).group(1))  # type: ignore[union-attr]
        found["csrf"] = csrf_from(page)
        self.pages[token] = found
        return found

    def enrol(self, token: str) -> Any:
        """What consent.js does on a phone without the key, when the link may set one up."""
        data = self.open(token)
        key = ed25519.Ed25519PrivateKey.generate()
        spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        key_id = key_id_for(spki)
        proof = key.sign(ENROL_LABEL + enrolment_message(data["holder"], key_id, data["enrol-challenge"]))
        resp = self.client.post("/api/consent/enrol", json={"link": token, "public_key": b64url_encode(spki),
                                                            "signature": b64url_encode(proof), "device": "Python phone"},
                                headers={"X-CSRFToken": data["csrf"]})
        if resp.status_code == 200:
            self.key, self.key_id = key, key_id
        return resp

    def sign_in(self, token: str, key: ed25519.Ed25519PrivateKey | None = None, key_id: str | None = None) -> Any:
        """What consent.js does on a phone that holds the delegate's key."""
        data = self.open(token)
        key, key_id = key or self.key, key_id or self.key_id
        assert key is not None and key_id is not None
        message = consent.SIGNIN_LABEL + consent.signin_message(data["holder"], key_id, data["challenge"])
        return self.client.post("/api/consent/signin", json={"link": token, "key": key_id,
                                                             "signature": b64url_encode(key.sign(message))},
                                headers={"X-CSRFToken": data["csrf"]})

    def answer(self, vote_id: int, choice: str) -> Any:
        info = self.client.get(f"/api/votes/{vote_id}").get_json()
        csrf = self.client.get("/api/session").get_json()["csrf_token"]
        data = canonical_bytes({"v": 1, "vote": info["vote"], "round": info["round"], "vote_sha256": info["vote_sha256"],
                                "member": info["member"], "delegate": info["delegate"], "key": info["key"],
                                "choice": choice, "nonce": b64url_encode(secrets.token_bytes(18))})
        assert self.key is not None
        return self.client.post(f"/api/votes/{vote_id}/ballots", headers={"X-CSRFToken": csrf},
                                json={"ballot": data.decode(), "signature": b64url_encode(self.key.sign(BALLOT_LABEL + data))})


def resolution(session: Any, rid: int) -> Resolution:
    session.expire_all()
    r = session.get(Resolution, rid)
    assert r is not None
    return r


# ---------------------------------------------------------------- the whole flow


def test_draft_send_answer_adopt_certify_and_verify(app: Any, client: Any, session: Any, make_member: Any,
                                                    make_staff: Any, login: Any, smtp: Inbox, tmp_path: Any) -> None:
    members = make_excom(session, make_member, 14, two_reps=(0,))
    login("secretariat")
    rid = draft(client)
    page = text_of(client.get(f"/resolutions/{rid}"))
    assert "Draft, not sent" in page and consent.text_hash(TEXT) in page
    assert "Two thirds or more of all 14 members must consent: at least 10 (Art. 16.3)." in page

    # The Secretariat may edit the draft; the hash it confirms is of the text it read.
    assert client.post(f"/resolutions/{rid}/edit", data={
        "title": "Budget 2026 of the Secretariat", "text": TEXT + "\n", "rule": "written-consent",
        "attachments": "Budget 2026 | https://we-gov.example/files/budget-2026.pdf",
        "rule_set": "wego-2014", "deadline": deadline_text()}).status_code == 302
    stale = client.post(f"/resolutions/{rid}/send", data={"confirm": "yes", "email": "yes",
                                                         "text_sha256": consent.text_hash(TEXT + " (old)")})
    assert stale.status_code == 409 and "The text changed since you reviewed it" in text_of(stale)
    send(client, rid)

    r = resolution(session, rid)
    assert r.state == ResolutionState.SENT and r.text_sha256 == consent.text_hash(TEXT)
    definition = json.loads(r.vote.definition)  # type: ignore[union-attr]
    assert definition["kind"] == "written-consent" and definition["text"] == TEXT
    assert definition["text_sha256"] == consent.text_hash(TEXT) and definition["rule"] == "written-consent"
    assert definition["roll"]["total"] == 14 == len(definition["roll"]["present"])
    assert definition["roll"]["quorum_required"] == 0 and definition["meeting"]["key"] == f"consent-{rid}"
    vote_id = r.vote_id
    assert vote_id is not None

    # The text is fixed: an edit after sending is refused, and a copy is a new draft.
    for resp in (client.get(f"/resolutions/{rid}/edit"),
                 client.post(f"/resolutions/{rid}/edit", data={"title": "Changed", "text": "Changed"})):
        assert resp.status_code == 409 and "An edit after sending is a new resolution" in text_of(resp)
    copied = client.post(f"/resolutions/{rid}/copy")
    assert copied.status_code == 302 and resolution(session, rid).text == TEXT
    new_id = int(copied.headers["Location"].split("/")[-2])
    assert resolution(session, new_id).state == ResolutionState.DRAFT and resolution(session, new_id).copied_from_id == rid

    # One e-mail per voting representative (15), each with its own link; no phone is set up yet.
    assert len(smtp.messages) == 15
    assert all(m["Subject"].startswith("Written consent requested: Budget 2026 of the Secretariat") for m in smtp.messages)
    links = {m.id: smtp.links_for(m.delegates[0].email)[0] for m in members}
    second = smtp.links_for(members[0].delegates[1].email)[0]
    assert "the link sets one up first" in smtp.messages[0].get_body(preferencelist=("plain",)).get_content()

    phones: dict[int, LinkPhone] = {}
    for m in members[:13]:
        phone = LinkPhone(app)
        resp = phone.enrol(links[m.id])
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.get_json()["next"] == f"/consent/answer/{rid}"
        phones[m.id] = phone
    page = text_of(phones[members[0].id].client.get(f"/consent/answer/{rid}"))
    assert TEXT in page and "Budget 2026" in page and "https://we-gov.example/files/budget-2026.pdf" in page

    # 2 objections and an abstention, then consents: adopted at the 10th consent, that moment certified.
    order = [(members[0], "object"), (members[1], "abstain"), (members[2], "object")] + \
        [(m, "consent") for m in members[3:13]]
    receipts = {}
    for m, choice in order[:12]:
        resp = phones[m.id].answer(vote_id, choice)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        receipts[m.id] = resp.get_json()
        if m is members[5]:
            progress = text_of(client.get(f"/resolutions/{rid}"))
            assert "6 of 14 members have answered" in words_of(client.get(f"/resolutions/{rid}"))
            assert "Collecting answers" in progress
            assert "answer-consent" not in progress and "answer-object" not in progress  # no partial results
    assert resolution(session, rid).state == ResolutionState.SENT  # 9 consents so far
    adopting = phones[members[12].id].answer(vote_id, "consent")
    assert adopting.status_code == 201, adopting.get_data(as_text=True)
    r = resolution(session, rid)
    tenth = session.scalars(select(Ballot).where(Ballot.vote_id == vote_id, Ballot.member_ref == f"m{members[12].id}")).one()
    assert r.state == ResolutionState.ADOPTED and r.adopted_at == tenth.received_at
    assert r.vote.state == VoteState.CLOSED and r.vote.closed_at == tenth.received_at  # type: ignore[union-attr]
    times = [b.received_at for b in session.scalars(select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.leaf_index))]
    assert times == sorted(times) and len(set(times)) == len(times) == 13

    # The 14th member's answer comes after adoption: refused, kept as late, not counted.
    late_phone = LinkPhone(app)
    assert late_phone.enrol(links[members[13].id]).status_code == 200
    late = late_phone.answer(vote_id, "object")
    assert late.status_code == 409 and late.get_json()["reason"] == "late"
    assert "was adopted on" in late.get_json()["message"] and "recorded as late and is not counted" in late.get_json()["message"]
    kept = session.scalars(select(LateAnswer).where(LateAnswer.vote_id == vote_id)).all()
    assert [(x.member_ref, x.choice, x.reason) for x in kept] == [(f"m{members[13].id}", "object", "adopted")]
    again = late_phone.answer(vote_id, "consent")
    assert again.status_code == 409 and "too late to count" in again.get_json()["message"]
    # A second answer of a member that already answered, by its other representative.
    other = LinkPhone(app)
    assert other.enrol(second).status_code == 200
    twice = other.answer(vote_id, "consent")
    assert twice.status_code == 409 and twice.get_json()["reason"] == "already_answered"
    assert "by its other representative, Rep 1 of City 00" in twice.get_json()["message"]

    progress = text_of(client.get(f"/resolutions/{rid}"))
    assert "Adopted on" in progress and "Late, not counted" in progress and "answer-consent" in progress
    assert "Answered late (not counted)" in progress

    # The chair certifies in the console, like a meeting vote: the adoption moment is in the certificate.
    chair = staff_device(app, make_staff, "chair")
    assert "Certify and sign" in chair.client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    chair.certify(vote_id)
    cert = chair.client.get(f"/results/votes/{vote_id}/certificate.json").get_json()
    outcome = cert["body"]["outcome"]
    assert outcome["decision"] == "adopted" and outcome["adopted_at"] == consent._rfc3339(tenth.received_at)
    assert cert["body"]["closed_at"] == outcome["adopted_at"]
    assert cert["body"]["counts"] == {"consent": 10, "object": 2, "abstain": 1, "not_answered": 1}
    assert "answer 13 in time order" in outcome["explanation"][-1]["text"]
    assert "Adopted" in app.test_client().get(f"/results/consent-{rid}").get_data(as_text=True)

    # The record: the resolution's vote in items, its answer times and late answer in written_consent.
    record = app.test_client().get(f"/results/consent-{rid}/record.json").get_json()
    section = record["written_consent"]
    assert [s["vote"] for s in section] == [f"v{vote_id}"] and len(section[0]["received_at"]) == 13
    assert len(section[0]["late"]) == 1
    report = verify_record(record)
    assert report.ok, report.to_text()
    out = tmp_path / "record.json"
    result = app.test_cli_runner().invoke(args=["export", "--meeting", f"consent-{rid}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = subprocess.run([sys.executable, "-m", "ballots.verify", str(out), "--receipt", str(_receipt(tmp_path, receipts[members[3].id]))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "written consent" in run.stdout and "RESULT: OK" in run.stdout

    try:  # the published shape (docs/record.schema.json), where jsonschema is installed
        import jsonschema
    except ImportError:
        pass
    else:
        from pathlib import Path

        schema = json.loads((Path(__file__).resolve().parents[2] / "docs/record.schema.json").read_text("utf-8"))
        jsonschema.validate(record, schema)

    # Any change shows: a late answer dated before adoption, answer times out of order, a missing section.
    bad = json.loads(json.dumps(record))
    bad["written_consent"][0]["late"][0]["received_at"] = bad["written_consent"][0]["received_at"][0]
    assert any("should have been counted" in f.detail for f in verify_record(bad).failures)
    bad = json.loads(json.dumps(record))
    times_ = bad["written_consent"][0]["received_at"]
    times_[11], times_[12] = times_[12], times_[11]
    assert any("increase strictly in log order" in f.detail for f in verify_record(bad).failures)
    bad = json.loads(json.dumps(record))
    bad["written_consent"] = []
    assert any("no entry for vote" in f.detail for f in verify_record(bad).failures)


def _receipt(tmp_path: Any, answer: dict[str, Any]) -> Any:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(answer["receipt"]), encoding="utf-8")
    return path


# ---------------------------------------------------------------- links and phones


def test_links_sign_in_a_phone_with_the_key_and_refuse_a_forwarded_link(app: Any, client: Any, session: Any,
                                                                         make_member: Any, login: Any, smtp: Inbox) -> None:
    members = make_excom(session, make_member, 3)
    login("secretariat")
    rid = draft(client, rule_set="wego-2017")
    send(client, rid)
    rep = members[0].delegates[0]
    token = smtp.links_for(rep.email)[0]
    phone = LinkPhone(app)
    assert phone.enrol(token).status_code == 200

    # The same link forwarded to another phone (no key there): the page and the server refuse it.
    forwarded = LinkPhone(app)
    data = forwarded.open(token)
    message = f"This link is for {rep.display_name}'s phone; answer from the phone that holds your key, or ask the Secretariat for a new link."
    assert data["refusal"] == message and data["can-enrol"] == "" and data["key"] == phone.key_id
    refused = forwarded.enrol(token)
    assert refused.status_code == 403 and refused.get_json()["message"] == message
    stranger = ed25519.Ed25519PrivateKey.generate()
    refused = forwarded.sign_in(token, stranger, phone.key_id)
    assert refused.status_code == 403 and refused.get_json()["message"] == message
    assert forwarded.client.get(f"/consent/answer/{rid}").status_code == 302  # not signed in: to the sign-in page

    # A reminder brings a new link that only signs in (the phone has a key now); on the phone it works.
    assert client.post(f"/resolutions/{rid}/remind").status_code == 302
    reminder = smtp.links_for(rep.email)[-1]
    assert reminder != token
    reminder_mail = [m for m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert len(reminder_mail) == 3  # every representative of the three members, none has answered
    phone2 = LinkPhone(app)  # the same phone after its session ended: a fresh client, the same key
    phone2.key, phone2.key_id = phone.key, phone.key_id
    assert phone2.open(reminder)["can-enrol"] == ""
    signed = phone2.sign_in(reminder)
    assert signed.status_code == 200, signed.get_data(as_text=True)
    assert phone2.answer(resolution(session, rid).vote_id, "consent").status_code == 201  # type: ignore[arg-type]
    link = session.scalars(select(ConsentLink).where(ConsentLink.token_hash == consent.link_hash(reminder))).one()
    assert link.last_used_at is not None and link.purpose == "reminder" and link.enrolment_token_id is None
    assert forwarded.enrol(reminder).status_code == 403

    # Lost phone: the Secretariat switches the key off and e-mails a link that sets up a new phone.
    rep2 = members[1].delegates[0]
    p = LinkPhone(app)
    outdated = p.enrol(smtp.links_for(rep2.email)[0])  # the reminder's link replaced it for setting up a phone
    assert outdated.status_code == 403 and "A newer link replaced this one" in outdated.get_json()["message"]
    assert p.enrol(smtp.links_for(rep2.email)[-1]).status_code == 200
    assert client.post(f"/resolutions/{rid}/links/{rep2.id}", data={"action": "lost-phone"}).status_code == 302
    session.expire_all()
    assert session.get(DeviceKey, p.key_id).revoked_at is not None
    fresh = LinkPhone(app)
    assert fresh.enrol(smtp.links_for(rep2.email)[-1]).status_code == 200
    assert p.client.get(f"/api/votes/{resolution(session, rid).vote_id}").status_code in (302, 401)  # signed out
    shown = client.post(f"/resolutions/{rid}/links/{members[2].delegates[0].id}", data={"action": "show"})
    assert shown.status_code == 200 and "<svg" in shown.get_data(as_text=True)

    # The typed fallback and a mistyped link.
    assert client.post("/consent", data={"code": identity.format_token(token).lower()}).headers["Location"] == f"/consent/{token}"
    assert app.test_client().get("/consent/" + "0" * 26).status_code == 404
    assert app.test_client().get("/consent/nonsense").status_code == 400


def test_sheet_of_links_is_a_pdf(app: Any, client: Any, session: Any, make_member: Any, login: Any) -> None:
    make_excom(session, make_member, 3, two_reps=(1,))
    login("secretariat")
    rid = draft(client)
    assert "Send the resolution first" in client.get(f"/resolutions/{rid}/sheet").get_data(as_text=True)
    send(client, rid, email=False)
    assert client.post(f"/resolutions/{rid}/sheet.pdf", data={}).status_code == 422
    pdf = client.post(f"/resolutions/{rid}/sheet.pdf", data={"confirm": "yes"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    sheets = session.scalars(select(ConsentLink).where(ConsentLink.purpose == "sheet")).all()
    assert len(sheets) == 4


# ---------------------------------------------------------------- bad input, each with its message


def test_bad_answers_are_refused_with_clear_messages(app: Any, client: Any, session: Any, make_member: Any,
                                                     login: Any) -> None:
    members = make_excom(session, make_member, 4)
    outsider = make_member("Not Seated City")
    attendee = roster.add_delegate(members[0], {"display_name": "Attendee of City 00", "email": "att@city00.example",
                                                "is_voting": False})
    roster.add_delegate(outsider, {"display_name": "Rep of Not Seated", "email": "rep@notseated.example", "is_voting": True})
    session.commit()
    login("secretariat")
    rid = draft(client, rule_set="wego-2017")
    send(client, rid, email=False)
    r = resolution(session, rid)
    vote_id = r.vote_id

    # A member not on the Executive Committee (enrolled with a badge code, signed in, answering).
    from tests.voting.helpers import enrol_python_key

    out = LinkPhone(app)
    out.key, out.key_id = enrol_python_key(out.client, session, outsider.delegates[0])
    resp = out.answer(vote_id, "consent")  # type: ignore[arg-type]
    body = resp.get_json()
    assert resp.status_code == 403 and body["reason"] == "not_excom_member"
    assert "Not Seated City is not a member of the Executive Committee on this resolution's roll" in body["message"]
    assert "is not a member of the Executive Committee" in text_of(out.client.get(f"/consent/answer/{rid}"))

    att = LinkPhone(app)
    att.key, att.key_id = enrol_python_key(att.client, session, attendee)
    resp = att.answer(vote_id, "consent")  # type: ignore[arg-type]
    assert resp.status_code == 403 and "without a vote" in resp.get_json()["message"]

    rep = members[1].delegates[0]
    p = LinkPhone(app)
    p.key, p.key_id = enrol_python_key(p.client, session, rep)
    resp = p.answer(vote_id, "yes")  # type: ignore[arg-type]
    assert resp.status_code == 422 and "answer consent, object or abstain" in resp.get_json()["message"]
    assert p.answer(vote_id, "consent").status_code == 201  # type: ignore[arg-type]
    resp = p.answer(vote_id, "object")  # type: ignore[arg-type]
    assert resp.status_code == 409 and "already answered this resolution" in resp.get_json()["message"]
    assert "by you" in resp.get_json()["message"]
    assert session.scalars(select(LateAnswer)).all() == []

    # The chair cannot close a resolution's vote by hand.
    assert "closes by itself" in _closing_refused(app, vote_id)  # type: ignore[arg-type]


def _closing_refused(app: Any, vote_id: int) -> str:
    from voting.errors import Conflict
    from voting.extensions import db, writing
    from voting.services import casting

    with app.app_context(), writing():
        try:
            casting.close_vote(db.session.get(Vote, vote_id))
        except Conflict as err:
            return err.message
    return ""


def test_bad_drafts_and_sends(app: Any, client: Any, session: Any, make_member: Any, login: Any) -> None:
    login("secretariat")
    nobody = draft(client)
    resp = client.post(f"/resolutions/{nobody}/send", data={"confirm": "yes", "text_sha256": page_hash(client, nobody)})
    assert resp.status_code == 422 and "No member holds an Executive Committee seat" in text_of(resp)
    make_excom(session, make_member, 2)
    resp = client.post(f"/resolutions/{nobody}/send", data={"text_sha256": page_hash(client, nobody)})
    assert resp.status_code == 422 and "Tick the box" in text_of(resp)
    bad = client.post("/resolutions/new", data={"title": "x", "text": "y", "rule": "special-session-in-writing",
                                                "rule_set": "wego-2017", "deadline": deadline_text()})
    assert bad.status_code == 302  # under wego-2017 more than half of all members approve a special session
    for values, words in [({"deadline": "2026-03-31 18:00"}, "The deadline needs its UTC offset"),
                          ({"attachments": "budget.pdf"}, "is not a web address"),
                          ({"rule": "by-fax"}, "Choose the rule"),
                          ({"text": "   "}, "Write the full text of the resolution.")]:
        data = {"title": "t", "text": "x", "rule": "written-consent", "rule_set": "wego-2014", "deadline": deadline_text()}
        data.update(values)
        resp = client.post("/resolutions/new", data=data)
        assert resp.status_code == 422, (values, resp.status_code)
        assert words in text_of(resp), values
    past = draft(client, deadline=deadline_text(days=-1))
    resp = client.post(f"/resolutions/{past}/send", data={"confirm": "yes", "text_sha256": page_hash(client, past)})
    assert resp.status_code == 422 and "past or too close" in text_of(resp)
    assert client.post(f"/resolutions/{past}/discard").status_code == 302
    assert client.get(f"/resolutions/{past}").status_code == 404


# ---------------------------------------------------------------- the deadline


def test_not_adopted_at_the_deadline_late_answer_and_record(app: Any, client: Any, session: Any, make_member: Any,
                                                            make_staff: Any, login: Any, smtp: Inbox, clock: Clock) -> None:
    members = make_excom(session, make_member, 13)
    login("secretariat")
    rid = draft(client, rule_set="wego-2017")  # 7 of 13 needed
    send(client, rid)
    vote_id = resolution(session, rid).vote_id
    phones = []
    for m in members[:7]:
        phone = LinkPhone(app)
        assert phone.enrol(smtp.links_for(m.delegates[0].email)[0]).status_code == 200
        phones.append(phone)
    for phone, choice in zip(phones, ["consent"] * 6 + ["object"], strict=True):
        assert phone.answer(vote_id, choice).status_code == 201  # type: ignore[arg-type]
    assert resolution(session, rid).state == ResolutionState.SENT  # 6 consents: one short

    late_phone = LinkPhone(app)  # set up in time, answers too late
    assert late_phone.enrol(smtp.links_for(members[7].delegates[0].email)[0]).status_code == 200
    clock.offset = timedelta(days=3)  # the deadline has passed
    result = app.test_cli_runner().invoke(args=["consent", "close-due"])
    assert result.exit_code == 0 and "Not adopted" in result.output, result.output
    r = resolution(session, rid)
    assert r.state == ResolutionState.NOT_ADOPTED and r.adopted_at is None
    assert r.vote.closed_at == r.deadline_at and r.vote.closed_by == "rule:deadline"  # type: ignore[union-attr]
    assert "No resolution is open" in app.test_client().application.test_cli_runner().invoke(args=["consent", "close-due"]).output

    late = late_phone.answer(vote_id, "consent")  # type: ignore[arg-type]
    assert late.status_code == 409 and "The deadline for answers passed on" in late.get_json()["message"]
    resp = client.post(f"/resolutions/{rid}/remind")
    assert resp.status_code == 409 and "no reminders now" in text_of(resp)

    chair = staff_device(app, make_staff, "chair")
    chair.certify(vote_id)  # type: ignore[arg-type]
    body = chair.client.get(f"/results/votes/{vote_id}/certificate.json").get_json()["body"]
    assert body["outcome"]["decision"] == "not_adopted" and body["outcome"]["adopted_at"] is None
    record = record_export.build_record(resolution(session, rid).meeting, certified_only=True)  # type: ignore[arg-type]
    report = verify_record(record)
    assert report.ok, report.to_text()
    assert [x["received_at"] > body["closed_at"] for x in record["written_consent"][0]["late"]] == [True]


def test_an_overdue_resolution_closes_when_its_page_is_opened(app: Any, client: Any, session: Any, make_member: Any,
                                                               login: Any, clock: Clock) -> None:
    make_excom(session, make_member, 3)
    login("secretariat")
    rid = draft(client)
    send(client, rid, email=False)
    clock.offset = timedelta(days=3)
    page = text_of(client.get(f"/resolutions/{rid}"))
    assert "Not adopted" in page and resolution(session, rid).state == ResolutionState.NOT_ADOPTED


def test_unanimity_dissolving_a_regional_office_in_writing(app: Any, client: Any, session: Any, make_member: Any,
                                                           login: Any) -> None:
    members = make_excom(session, make_member, 5)
    login("secretariat")
    rid = draft(client, rule="dissolve-regional-office-in-writing", rule_set="wego-2014",
                title="Dissolve the regional office for Europe")
    assert "Every one of the 5 members must consent (Art. 13.6(b))." in text_of(client.get(f"/resolutions/{rid}"))
    send(client, rid, email=False)
    vote_id = resolution(session, rid).vote_id
    for i, m in enumerate(members):
        token = consent.issue_link(resolution(session, rid), m.delegates[0], "new-link").token
        session.commit()
        phone = LinkPhone(app)
        assert phone.enrol(token).status_code == 200
        assert phone.answer(vote_id, "consent").status_code == 201  # type: ignore[arg-type]
        assert resolution(session, rid).state == (ResolutionState.ADOPTED if i == 4 else ResolutionState.SENT)


# ---------------------------------------------------------------- the migration


def test_voting_db_upgrade_from_0005_keeps_votes_and_admits_written_consent(app_config: dict[str, Any], tmp_path: Any,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`voting db upgrade` from 0005 with votes, ballots and checkpoints in place (SQLite rebuilds the
    vote table), on this run's database engine."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from voting import create_app, migrate
    from voting.extensions import make_engine

    base = app_config["DATABASE_URL"]
    if base.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
    else:
        name = make_url(base).database + "_upgrade"
        admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine, "0005")
    now = "2020-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO member (id, name, country, region, category, status, is_placeholder, notes, "
                          f"created_at) VALUES (1, 'A', 'B', 'Europe', 'full', 'active', false, '', '{now}')"))
        conn.execute(text("INSERT INTO delegate (id, member_id, display_name, email, is_voting, is_active, created_at) "
                          f"VALUES (1, 1, 'x', 'x@y', true, true, '{now}')"))
        conn.execute(text("INSERT INTO meeting (id, key, body, rule_set, title, starts_at, ends_at, utc_offset_minutes, "
                          f"venue, city, created_at) VALUES (1, 'm', 'excom', 'wego-2017', 't', '{now}', '{now}', 0, '', '', '{now}')"))
        conn.execute(text("INSERT INTO agenda_item (id, meeting_id, number, position, title, presenter, decision, summary) "
                          "VALUES (1, 1, '1', 0, 't', '', 'motion', '')"))
        conn.execute(text("INSERT INTO vote (id, meeting_id, agenda_item_id, round, kind, question, state, definition, "
                          "definition_sha256, opened_at, opened_by, log_size, log_state) VALUES (1, 1, 1, 1, 'motion', 'q', "
                          f"'open', :d, 'aa', '{now}', 'x', 1, '{{}}')"), {"d": b"{}"})
        conn.execute(text("INSERT INTO ballot (id, vote_id, member_ref, member_id, delegate_id, key_id, bytes, bytes_sha256, "
                          "signature, leaf_index, leaf_hash, registry_seq, received_at, receipt) VALUES (1, 1, 'm1', 1, 1, "
                          f"'k', :b, 'bb', :b, 0, 'cc', 1, '{now}', '{{}}')"), {"b": b"x"})
        conn.execute(text("INSERT INTO signed_checkpoint (id, vote_id, size, root, body, signed_at) "
                          f"VALUES (1, 1, 0, 'r', '{{}}', '{now}')"))
    engine.dispose()
    monkeypatch.setenv("VOTING_INSTANCE_PATH", str(tmp_path / "instance"))
    cli_app = create_app({**app_config, "DATABASE_URL": url})
    result = cli_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output, result.output
    engine = make_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"
        assert conn.execute(text("SELECT count(*) FROM ballot")).scalar() == 1
        conn.execute(text("INSERT INTO vote (id, meeting_id, agenda_item_id, round, kind, question, state, definition, "
                          "definition_sha256, opened_at, opened_by, log_size, log_state) VALUES (2, 1, 1, 2, "
                          f"'written-consent', 'q', 'closed', :d, 'ab', '{now}', 'x', 0, '{{}}')"), {"d": b"{}"})
    # The partial unique index (one open vote per item) and the other CHECK constraints survive.
    with pytest.raises(Exception, match="(?i)unique|constraint"), engine.begin() as conn:
        conn.execute(text("INSERT INTO vote (id, meeting_id, agenda_item_id, round, kind, question, state, definition, "
                          "definition_sha256, opened_at, opened_by, log_size, log_state) VALUES (3, 1, 1, 3, 'motion', 'q', "
                          f"'open', :d, 'ac', '{now}', 'x', 0, '{{}}')"), {"d": b"{}"})
    with pytest.raises(Exception, match="(?i)check|constraint"), engine.begin() as conn:
        conn.execute(text("INSERT INTO vote (id, meeting_id, agenda_item_id, round, kind, question, state, definition, "
                          "definition_sha256, opened_at, opened_by, log_size, log_state) VALUES (4, 1, 1, 4, 'by-fax', 'q', "
                          f"'closed', :d, 'ad', '{now}', 'x', 0, '{{}}')"), {"d": b"{}"})
    engine.dispose()
    if not base.startswith("sqlite"):
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
