"""Badges and the Secretariat's key pages (issue 4): `voting badges` prints a sheet whose QR codes
decode to working enrolment URLs and revoke each delegate's earlier code; one delegate's QR shown on
screen, e-mailed (a local SMTP server) or re-issued; the key-status page shows every state; and
only the Secretariat reaches any of it."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from aiosmtpd.controller import Controller
from flask import Flask, g
from PIL import Image
from sqlalchemy import func, select
from test_enrolment_tokens import DEVICE, Phone, enrol  # same folder (pytest prepends it)

from voting.models import AuditEvent, Delegate, DeviceKey, EnrolmentToken, Member, utcnow
from voting.qr import qr_png
from voting.services import audit, badges, identity, roster
from voting.services import meetings as meeting_service

BASE = "https://vote.example.org"
STAFF = ["secretariat", "chair", "secretary-general", "observer"]


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in test_enrolment_tokens: one `g` is shared by the clients while the test holds an app
    context, so forget Flask-Login's cached user at each request. And keep the CLI's actor to us."""
    monkeypatch.setattr(audit, "_cli_actor", [])

    @app.before_request
    def _forget_cached_user() -> None:
        g.pop("_login_user", None)


@pytest.fixture
def world(app: Flask, session: Any, make_member: Any) -> dict[str, Any]:
    """A General Assembly and an EXCOM meeting; members with voting and non-voting delegates, an
    inactive delegate, a withdrawn member, a city whose name is not Latin-1."""
    app.config["PUBLIC_BASE_URL"] = BASE
    beyoglu = make_member("Beyoğlu", country="Türkiye", region="Europe")
    seoul = make_member("Seoul", country="Korea")
    ulyanovsk = make_member("Ulyanovsk", country="Russia", region="Europe", category="associate")
    gone = make_member("Gone City", country="Nowhere", status="withdrawn", status_effective_on="2016-01-01")

    def add(member: Member, name: str, email: str, voting: bool, active: bool = True) -> Delegate:
        d = roster.add_delegate(session.get(Member, member.id), {"display_name": name, "email": email, "is_voting": voting})
        d.is_active = active
        return d

    delegates = [
        add(beyoglu, "Ayşe Yılmaz", "ayse@beyoglu.example", True), add(beyoglu, "Mehmet Öz", "mehmet@beyoglu.example", True),
        add(beyoglu, "Deniz Kaya", "deniz@beyoglu.example", False), add(seoul, "Kim Minjun", "kim@seoul.example", True),
        add(ulyanovsk, "Olga Petrova", "olga@ulyanovsk.example", False),
    ]
    add(seoul, "Former Delegate", "former@seoul.example", True, active=False)
    add(gone, "Nobody Here", "nobody@gone.example", True)
    roster.seat_member(session.get(Member, seoul.id), "president", 2016, 2018)
    ga = meeting_service.create_meeting({
        "key": "ga-2017", "title": "4th General Assembly", "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2017-06-28T09:00+04:00", "ends_at": "2017-06-28T18:00+04:00"})
    excom = meeting_service.create_meeting({
        "key": "excom-2017", "title": "Executive Committee 2017", "body": "excom", "rule_set": "wego-2017",
        "starts_at": "2017-06-27T17:00+04:00", "ends_at": "2017-06-27T18:30+04:00"})
    session.commit()
    return {"ga": ga, "excom": excom, "delegates": delegates, "ayse": delegates[0], "kim": delegates[3]}


def tokens_of(session: Any) -> list[EnrolmentToken]:
    session.expire_all()
    return list(session.scalars(select(EnrolmentToken).order_by(EnrolmentToken.id)))


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def typed_code(html: str) -> str:
    """The code the QR page shows for typing, as a token."""
    found = re.search(r"<code>([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3}-[0-9A-Z]{6})</code>", html)
    assert found, "no typed code on the page"
    return identity.normalize_token(found.group(1))


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def pdf_text(pdf: bytes, tmp_path: Path) -> str | None:
    if not shutil.which("pdftotext"):
        return None
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode("utf-8")


def pdf_qr_urls(pdf: bytes, tmp_path: Path) -> list[str] | None:
    """Every QR code on the rendered pages, decoded (None when poppler's pdftoppm is missing)."""
    if not shutil.which("pdftoppm"):
        return None
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(path), str(tmp_path / "page")], check=True)
    urls = []
    for png in sorted(tmp_path.glob("page*.png")):
        urls += [r.text for r in zxingcpp.read_barcodes(Image.open(png))]
    return urls


# ---------------------------------------------------------------- who gets a badge, and the URL


def test_delegates_for_a_meeting(app: Flask, session: Any, world: dict[str, Any]) -> None:
    ga = [d.display_name for d in badges.delegates_for_meeting(world["ga"])]
    assert ga == ["Ayşe Yılmaz", "Mehmet Öz", "Deniz Kaya", "Kim Minjun", "Olga Petrova"]  # voting first per member
    excom = [d.display_name for d in badges.delegates_for_meeting(world["excom"])]
    assert excom == ["Kim Minjun"]  # only the members seated that year
    only = badges.only_member(badges.delegates_for_meeting(world["ga"]), "beyoğlu")
    assert {d.member.name for d in only} == {"Beyoğlu"}
    with pytest.raises(badges.Invalid, match="No delegate of a member called 'Seul'") as err:
        badges.only_member(badges.delegates_for_meeting(world["ga"]), "Seul")
    assert "Seoul" in err.value.hint


def test_enrolment_url_and_its_qr(app: Flask, session: Any, world: dict[str, Any]) -> None:
    token = identity.issue_token(world["ayse"]).token
    url = badges.enrolment_url(token)
    assert url == f"{BASE}/e/{token}"
    assert badges.typed_entry(url) == "vote.example.org/e"
    decoded = zxingcpp.read_barcodes(Image.open(BytesIO(qr_png(url))))
    assert [r.text for r in decoded] == [url]

    app.config["PUBLIC_BASE_URL"] = None
    with app.test_request_context("/", base_url="https://hall.example:8443"):
        assert badges.enrolment_url(token) == f"https://hall.example:8443/e/{token}"
    with pytest.raises(badges.Invalid, match="not configured"):
        badges.enrolment_url(token)  # a command without a request nor PUBLIC_BASE_URL cannot guess the host


# ---------------------------------------------------------------- the command


def test_the_command_prints_a_badge_per_delegate_and_revokes_earlier_codes(
        app: Flask, client: Any, session: Any, world: dict[str, Any], tmp_path: Path) -> None:
    earlier = identity.issue_token(session.get(Delegate, world["ayse"].id)).token
    session.commit()
    out = tmp_path / "badges.pdf"
    result = app.test_cli_runner().invoke(args=["badges", "--meeting", "ga-2017", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote 5 badges for 3 members of 4th General Assembly to {out} (1 A4 page)." in result.output
    assert "earlier unused code no longer works" in result.output

    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) == 5  # one QR per badge
    assert not list(tmp_path.glob("*.partial"))

    rows = tokens_of(session)
    fresh = [t for t in rows if t.revoked_at is None]
    assert len(fresh) == 5 and all(t.meeting_id == world["ga"].id for t in fresh)
    assert {t.delegate_id for t in fresh} == {d.id for d in world["delegates"]}
    assert client.get(f"/e/{earlier}").status_code == 410  # the earlier code is revoked

    text = pdf_text(pdf, tmp_path)
    if text is not None:
        for name in ("Beyoğlu", "Ayşe Yılmaz", "Mehmet Öz", "Kim Minjun", "Olga Petrova", "Voting representative",
                     "Attendee (no vote)", "4th General Assembly", "or open vote.example.org/e and type:"):
            assert name in text, name
        assert "Former Delegate" not in text and "Nobody Here" not in text
    urls = pdf_qr_urls(pdf, tmp_path)
    if urls is not None:
        assert len(urls) == 5 and all(u.startswith(f"{BASE}/e/") for u in urls)
        printed = {u.rsplit("/", 1)[1] for u in urls}
        assert {identity.token_hash(t) for t in printed} == {t.token_hash for t in fresh}
        for token in printed:
            assert client.get(f"/e/{token}").status_code == 200
            if text is not None:
                assert identity.format_token(token) in text  # the typed fallback matches the QR


def test_the_command_pages_and_filters(app: Flask, session: Any, world: dict[str, Any], tmp_path: Path) -> None:
    seoul = session.get(Member, world["kim"].member_id)
    for n in range(10):
        roster.add_delegate(seoul, {"display_name": f"Seoul attendee {n}", "email": f"a{n}@seoul.example", "is_voting": False})
    session.commit()
    out = tmp_path / "all.pdf"
    result = app.test_cli_runner().invoke(args=["badges", "--meeting", "ga-2017", "--out", str(out)])
    assert result.exit_code == 0 and "Wrote 15 badges" in result.output and "(2 A4 pages)" in result.output
    assert pdf_pages(out.read_bytes()) == 2

    out = tmp_path / "one.pdf"
    result = app.test_cli_runner().invoke(args=["badges", "--meeting", "ga-2017", "--member", "BEYOĞLU", "--out", str(out)])
    assert result.exit_code == 0 and "Wrote 3 badges for 1 member" in result.output
    result = app.test_cli_runner().invoke(args=["badges", "--meeting", "excom-2017", "--out", str(out)])
    assert result.exit_code == 0 and "Wrote 11 badges for 1 member of Executive Committee 2017" in result.output


def test_the_command_refuses_clearly_and_changes_nothing(app: Flask, session: Any, world: dict[str, Any],
                                                         tmp_path: Path) -> None:
    before = count(session, EnrolmentToken)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["badges", "--meeting", "ga-2071", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "There is no meeting 'ga-2071'. Meetings: ga-2017, excom-2017." in result.output
    result = runner.invoke(args=["badges", "--meeting", "ga-2017", "--member", "Seul", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "Did you mean: Seoul?" in result.output
    result = runner.invoke(args=["badges", "--meeting", "ga-2017", "--out", str(tmp_path / "no" / "x.pdf")])
    assert result.exit_code == 1 and "does not exist" in result.output
    app.config["PUBLIC_BASE_URL"] = None
    result = runner.invoke(args=["badges", "--meeting", "ga-2017", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "Set PUBLIC_BASE_URL" in result.output
    assert count(session, EnrolmentToken) == before and not (tmp_path / "x.pdf").exists()


def test_the_sheet_without_unicode_fonts_still_prints(app: Flask, session: Any, world: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(badges, "FONT_CANDIDATES", [])
    issued = [(world["ayse"], identity.issue_token(world["ayse"], world["ga"]))]
    pdf = badges.badge_sheet_pdf(world["ga"], issued)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
    text = pdf_text(pdf, tmp_path)
    if text is not None:
        assert "Beyoglu" in text and "Ayse Yilmaz" in text  # transliterated, not dropped


# ---------------------------------------------------------------- the Secretariat's pages


@pytest.fixture
def secretariat(login: Any) -> Any:
    return login("secretariat")


def test_show_qr_issues_a_new_code_on_screen(client: Any, session: Any, world: dict[str, Any], secretariat: Any) -> None:
    earlier = identity.issue_token(session.get(Delegate, world["ayse"].id)).token
    session.commit()
    resp = client.post(f"/delegates/{world['ayse'].id}/enrolment",
                       data={"action": "show", "meeting": str(world["ga"].id), "q": "bey"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<svg role="img" aria-label="Enrolment QR code for Ayşe Yılmaz"' in html
    assert "Beyoğlu" in html and "Voting representative" in html and "4th General Assembly" in html
    assert "or open <strong>vote.example.org/e</strong> and type:" in html
    assert 'id="print-qr"' in html and "js/badges.js" in html and "<script>" not in html
    assert f"/keys?meeting={world['ga'].id}&amp;q=bey#d{world['ayse'].id}" in html
    token = typed_code(html)
    assert client.get(f"/e/{token}").status_code == 200
    assert client.get(f"/e/{earlier}").status_code == 410
    assert tokens_of(session)[-1].meeting_id == world["ga"].id


def test_no_get_issues_a_code(client: Any, session: Any, world: dict[str, Any], secretariat: Any) -> None:
    assert client.get(f"/delegates/{world['ayse'].id}/enrolment").status_code == 405
    assert client.get(f"/meetings/{world['ga'].id}/badges.pdf").status_code == 405
    assert client.get("/keys").status_code == 200
    assert client.get(f"/meetings/{world['ga'].id}/badges").status_code == 200
    assert count(session, EnrolmentToken) == 0


def test_bad_actions_are_refused(client: Any, session: Any, world: dict[str, Any], secretariat: Any) -> None:
    assert client.post(f"/delegates/{world['ayse'].id}/enrolment", data={"action": "print"}).status_code == 422
    assert client.post("/delegates/9999/enrolment", data={"action": "show"}).status_code == 404
    inactive = session.scalars(select(Delegate).where(Delegate.display_name == "Former Delegate")).one()
    resp = client.post(f"/delegates/{inactive.id}/enrolment", data={"action": "show"})
    assert resp.status_code == 409 and "no longer on the roster" in resp.get_data(as_text=True)
    assert count(session, EnrolmentToken) == 0


def test_print_badges_from_the_browser_needs_confirmation(client: Any, session: Any, world: dict[str, Any],
                                                          secretariat: Any, tmp_path: Path) -> None:
    form = client.get(f"/meetings/{world['ga'].id}/badges").get_data(as_text=True)
    assert "5</strong> active delegates of\n    3 members" in form and "stop working" in form
    refused = client.post(f"/meetings/{world['ga'].id}/badges.pdf", data={})
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    assert count(session, EnrolmentToken) == 0

    resp = client.post(f"/meetings/{world['ga'].id}/badges.pdf", data={"confirm": "yes"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "attachment; filename*=UTF-8''badges-ga-2017.pdf" == resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.data.startswith(b"%PDF") and count(session, EnrolmentToken) == 5

    one = client.post(f"/meetings/{world['ga'].id}/badges.pdf",
                      data={"confirm": "yes", "member": str(world["ayse"].member_id)})
    assert one.status_code == 200 and "badges-ga-2017-Beyo%C4%9Flu.pdf" in one.headers["Content-Disposition"]
    rows = tokens_of(session)
    assert len(rows) == 8 and sum(t.revoked_at is None for t in rows) == 5
    urls = pdf_qr_urls(one.data, tmp_path)
    if urls is not None:
        assert len(urls) == 3 and all(client.get(u.removeprefix(BASE)).status_code == 200 for u in urls)


def _state_world(app: Flask, session: Any, world: dict[str, Any]) -> dict[str, Delegate]:
    """One delegate in each state: phone set up; unused code; expired code; revoked code; phone
    switched off and no code; nothing at all."""
    ds = {d.display_name: session.get(Delegate, d.id) for d in world["delegates"]}
    phone_token = identity.issue_token(ds["Ayşe Yılmaz"]).token
    identity.issue_token(ds["Mehmet Öz"])
    expired = identity.issue_token(ds["Deniz Kaya"]).record
    expired.expires_at = utcnow() - timedelta(hours=1)
    revoked = identity.issue_token(ds["Kim Minjun"]).record
    revoked.revoked_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert enrol(app.test_client(), phone_token, ds["Ayşe Yılmaz"], Phone()).status_code == 200
    return ds


def test_the_key_status_page_shows_every_state(app: Flask, client: Any, session: Any, world: dict[str, Any],
                                               secretariat: Any) -> None:
    ds = _state_world(app, session, world)
    resp = client.get(f"/keys?meeting={world['ga'].id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)

    def row(delegate: Delegate) -> str:
        found = re.search(rf'<tr id="d{delegate.id}"[^>]*>(.*?)</tr>', html, re.S)
        assert found, delegate.display_name
        return re.sub(r"\s+", " ", found.group(1))

    ayse = row(ds["Ayşe Yılmaz"])
    assert "Phone set up" in ayse and DEVICE in ayse and "since " in ayse and "(UTC+04:00)" in ayse
    assert "Used" in ayse and "Re-issue (lost phone)" in ayse
    mehmet = row(ds["Mehmet Öz"])
    assert "No key yet" in mehmet and "Unused" in mehmet and "expires " in mehmet
    assert "Re-issue (lost phone)" not in mehmet  # no phone to switch off
    assert "Expired" in row(ds["Deniz Kaya"]) and "Revoked" in row(ds["Kim Minjun"])
    olga = row(ds["Olga Petrova"])
    assert "No key yet" in olga and "No code yet" in olga and "Attendee (no vote)" in olga
    for r in (ayse, mehmet, olga):
        assert 'value="show"' in r and 'value="email"' in r
    assert "Former Delegate" not in html and "Nobody Here" not in html
    assert "1 phone set up" in html and "1 code waiting" in html and "3 need a code" in html


def test_the_key_status_page_filters(app: Flask, client: Any, session: Any, world: dict[str, Any], secretariat: Any) -> None:
    ds = _state_world(app, session, world)

    def names(query: str) -> set[str]:
        html = client.get("/keys" + query).get_data(as_text=True)
        return {d for d in ds if f'id="d{ds[d].id}"' in html}

    assert names("") == set(ds)
    assert names("?status=phone") == {"Ayşe Yılmaz"}
    assert names("?status=waiting") == {"Mehmet Öz"}
    assert names("?status=needs-code") == {"Deniz Kaya", "Kim Minjun", "Olga Petrova"}
    assert names("?q=beyo%C4%9Flu") == {"Ayşe Yılmaz", "Mehmet Öz", "Deniz Kaya"}  # ğ folds as a person expects
    assert names("?q=BEYOĞLU&status=phone") == {"Ayşe Yılmaz"}
    assert names(f"?meeting={world['excom'].id}") == {"Kim Minjun"}
    assert names("?status=bogus") == set(ds) and names("?page=0") == set(ds) and names("?page=99") == set(ds)
    assert client.get("/keys?meeting=abc").status_code == 404


def test_reissue_from_the_page_switches_off_the_phone(app: Flask, client: Any, session: Any, world: dict[str, Any],
                                                      secretariat: Any) -> None:
    ds = _state_world(app, session, world)
    ayse = ds["Ayşe Yılmaz"]
    key = identity.active_key(delegate=ayse)
    assert key is not None
    resp = client.post(f"/delegates/{ayse.id}/enrolment", data={"action": "reissue"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f"<strong>{DEVICE}</strong> is switched off" in html
    token = typed_code(html)
    session.expire_all()
    assert session.get(DeviceKey, key.key_id).revoked_at is not None
    page = re.sub(r"\s+", " ", client.get("/keys").get_data(as_text=True))
    assert f"{DEVICE} switched off" in page and "Unused" in page
    assert client.get(f"/e/{token}").status_code == 200


# ---------------------------------------------------------------- e-mail


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(app: Flask) -> Iterator[Inbox]:
    """A local SMTP server on a free port; the app's MAIL_HOST/MAIL_PORT point at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="secretariat@wego.example")
    yield inbox
    controller.stop()


def test_email_the_qr(app: Flask, client: Any, session: Any, world: dict[str, Any], secretariat: Any, smtp: Inbox) -> None:
    ayse = world["ayse"]
    earlier = identity.issue_token(session.get(Delegate, ayse.id)).token
    session.commit()
    resp = client.post(f"/delegates/{ayse.id}/enrolment",
                       data={"action": "email", "meeting": str(world["ga"].id), "status": "waiting"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/keys?meeting={world['ga'].id}&status=waiting#d{ayse.id}"
    flashed = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"E-mailed a new code to Ayşe Yılmaz at {ayse.email}" in flashed

    assert len(smtp.messages) == 1
    mail_from, rcpt, msg = smtp.messages[0]
    assert mail_from == "secretariat@wego.example" and rcpt == [ayse.email]
    assert msg["To"].addresses[0].addr_spec == ayse.email
    assert msg["Subject"] == "Your code to set up your phone for 4th General Assembly"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "This is your personal code to set up your phone" in text and "Secretariat desk" in text
    url = re.search(rf"{re.escape(BASE)}/e/([0-9A-Z]{{26}})", text)
    assert url, text
    token = url.group(1)
    assert identity.format_token(token) in text and "vote.example.org/e" in text

    html_part = msg.get_body(preferencelist=("html",))
    html = html_part.get_content()
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert "http" not in re.sub(r'href="[^"]*"|' + re.escape(url.group(0)), "", html)  # no external images or links
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == f"<{cid}>"
    decoded = zxingcpp.read_barcodes(Image.open(BytesIO(images[0].get_content())))
    assert [r.text for r in decoded] == [url.group(0)]

    assert client.get(f"/e/{token}").status_code == 200  # the e-mailed code works
    assert client.get(f"/e/{earlier}").status_code == 410
    sent = session.scalars(select(AuditEvent).where(AuditEvent.action == "enrolment_token.email")).all()
    assert len(sent) == 1 and sent[0].after["to"] == ayse.email and sent[0].actor == "staff:secretariat-user"


def test_email_with_the_mail_server_down(app: Flask, client: Any, session: Any, world: dict[str, Any],
                                         secretariat: Any) -> None:
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    ayse = world["ayse"]
    earlier = identity.issue_token(session.get(Delegate, ayse.id)).token
    session.commit()
    before_tokens, before_events = count(session, EnrolmentToken), count(session, AuditEvent)

    resp = client.post(f"/delegates/{ayse.id}/enrolment", data={"action": "email"})
    assert resp.status_code == 503
    html = resp.get_data(as_text=True).replace("&#39;", "'")
    assert f"The e-mail to {ayse.email} could not be sent" in html and "connection refused" in html
    assert "No new code was issued; the delegate's earlier code, if any, still works." in html
    assert 'value="show"' in html  # offers to show the QR on screen instead

    session.expire_all()
    assert count(session, EnrolmentToken) == before_tokens and count(session, AuditEvent) == before_events
    assert client.get(f"/e/{earlier}").status_code == 200  # nothing was revoked either


def test_email_to_an_address_smtp_cannot_carry(app: Flask, client: Any, session: Any, world: dict[str, Any],
                                               secretariat: Any, smtp: Inbox) -> None:
    deniz = session.get(Delegate, world["delegates"][2].id)
    deniz.email = "deniz.kaya.ş@beyoglu.example"
    session.commit()
    resp = client.post(f"/delegates/{deniz.id}/enrolment", data={"action": "email"})
    assert resp.status_code == 422
    assert "cannot be used to send mail" in resp.get_data(as_text=True)
    assert smtp.messages == [] and count(session, EnrolmentToken) == 0


# ---------------------------------------------------------------- roles


def _routes(world: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    d, m = world["ayse"].id, world["ga"].id
    return [
        ("GET", "/keys", {}),
        ("GET", f"/keys?meeting={m}", {}),
        ("GET", f"/meetings/{m}/badges", {}),
        ("POST", f"/delegates/{d}/enrolment", {"action": "show"}),
        ("POST", f"/delegates/{d}/enrolment", {"action": "reissue"}),
        ("POST", f"/meetings/{m}/badges.pdf", {"confirm": "yes"}),
    ]


@pytest.mark.parametrize("role", STAFF)
def test_only_the_secretariat(app: Flask, session: Any, world: dict[str, Any], make_staff: Any, role: str) -> None:
    account, password = make_staff(role, username=f"{role}-badges")
    client = app.test_client()
    assert client.post("/login", data={"username": account.username, "password": password}).status_code == 302
    for method, url, data in _routes(world):
        resp = client.open(url, method=method, data=data)
        assert resp.status_code == (200 if role == "secretariat" else 403), (role, method, url)
    if role != "secretariat":
        assert count(session, EnrolmentToken) == 0


def test_anonymous_is_sent_to_sign_in(app: Flask, client: Any, session: Any, world: dict[str, Any]) -> None:
    for method, url, data in _routes(world):
        resp = client.open(url, method=method, data=data)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), (method, url)
    assert count(session, EnrolmentToken) == 0


def test_every_badges_view_declares_the_secretariat(app: Flask) -> None:
    endpoints = [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("badges.")]
    assert sorted(endpoints) == ["badges.badges_pdf", "badges.enrolment", "badges.keys", "badges.print_form"]
    for endpoint in endpoints:
        assert app.view_functions[endpoint].access == frozenset({"secretariat"})
