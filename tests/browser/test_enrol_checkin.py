"""Issue 4 in a real browser: a delegate's phone scans the badge QR, gets a WebCrypto key, checks in
from the hall's rotating QR, and the chair sees the member counted present; plus the ECDSA fallback
and a staff device key. Debian's chromium at phone size, driven by Playwright."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from tests.browser.pages import sign_in
from voting.models import Delegate, DeviceKey, Meeting, Member
from voting.qr import qr_png
from voting.services import identity, roster
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

CHAIR_PASSWORD = "chair password for the browser test"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
WAIT_MS = 10_000
# What chromium logs for a page answered with an error status; expected where the test asks for one.
ERROR_STATUS_NOTE = r"Failed to load resource: the server responded with a status of {}"

# Runs before any page script: this browser "lacks" Ed25519, as older Safari and Firefox do.
NO_ED25519 = """
(() => {
  const original = SubtleCrypto.prototype.generateKey;
  SubtleCrypto.prototype.generateKey = function (algorithm, ...rest) {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (String(name).toLowerCase() === "ed25519") {
      return Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"));
    }
    return original.call(this, algorithm, ...rest);
  };
})();
"""

# The stored key record, and whether its private half can be exported (it must not be).
EXPORT_ATTEMPT = """
async () => {
  if (!window.WeGO) {  // pages without the key store (like /me) load it here, as the voting page will
    await new Promise((ok, fail) => {
      const s = document.createElement("script");
      s.src = "/static/js/keystore.js"; s.onload = ok; s.onerror = fail; document.head.appendChild(s);
    });
  }
  const records = await window.WeGO.keys.all();
  const out = [];
  for (const r of records) {
    let exported;
    try { await crypto.subtle.exportKey("pkcs8", r.privateKey); exported = "exported"; }
    catch (e) { exported = "refused: " + e.name; }
    out.push({holder: r.holder, keyId: r.keyId, algorithm: r.algorithm, extractable: r.privateKey.extractable,
              type: r.privateKey.type, exported: exported});
  }
  return out;
}
"""


# ---------------------------------------------------------------- the roster, as the Secretariat has it


def _now_meeting(session: Any, key: str) -> Meeting:
    now = datetime.now(UTC).replace(microsecond=0)
    meeting = meeting_service.create_meeting({
        "key": key, "title": "Executive Committee, Seoul", "body": "excom", "rule_set": "wego-2017",
        "starts_at": (now - timedelta(minutes=10)).isoformat(), "ends_at": (now + timedelta(hours=3)).isoformat(),
        "venue": "Seoul City Hall", "city": "Seoul",
    })
    session.commit()
    return meeting


def _excom(session: Any, make_member: Any, names: list[str]) -> list[Member]:
    year = datetime.now(UTC).year
    members = [make_member(name, country=country) for name, country in names]
    for i, member in enumerate(members):
        roster.seat_member(member, "president" if i == 0 else "member", year - 1, year + 1)
    session.commit()
    return members


def _delegate(session: Any, member: Member, name: str, voting: bool = True) -> Delegate:
    delegate = roster.add_delegate(member, {"display_name": name, "email": name.lower().replace(" ", ".") + "@example.org",
                                            "is_voting": voting})
    session.commit()
    return delegate


def _badge_url(base: str, token: str, app: Any) -> str:
    """The URL the Secretariat prints in the badge QR (badges.enrolment_url when it exists)."""
    try:
        from voting.services.badges import enrolment_url  # type: ignore[import-not-found]
    except ImportError:
        return f"{base}/e/{token}"
    with app.test_request_context("/", base_url=base):
        return str(enrolment_url(token))


def _decode_qr(png: bytes) -> str:
    """Read a QR code from an image as a phone camera would."""
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("RGB"))
    texts = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code in the image, found {found!r}"
    return texts[0]


def _read_screen(screen: Any) -> str:
    """Point a phone at the hall's screen: decode the QR as shown. Should the code rotate while the
    picture is taken (the new image still loading), look again."""
    for _ in range(3):
        try:
            return _decode_qr(screen.locator("#venue-qr").screenshot())
        except AssertionError:
            screen.wait_for_timeout(500)
    return _decode_qr(screen.locator("#venue-qr").screenshot())


def _device_keys(session: Any, **where: Any) -> list[dict[str, Any]]:
    """The registered keys as plain values, read in a transaction that ends at once: on SQLite the
    test's session writes (BEGIN IMMEDIATE), and holding its lock would stall the live server."""
    session.rollback()
    query = select(DeviceKey).order_by(DeviceKey.enrolled_at)
    for column, value in where.items():
        query = query.where(getattr(DeviceKey, column) == value)
    rows = [{c: getattr(k, c) for c in ("key_id", "algorithm", "device", "delegate_id", "staff_id", "revoked_at")}
            for k in session.scalars(query)]
    session.rollback()
    return rows


def _staff_login(browser: Any, base: str, console: Any, username: str, viewport: dict[str, int]) -> Any:
    """A staff browser signed in through the sign-in form at /login."""
    context = browser.new_context(viewport=viewport)
    page = console.watch(context.new_page())
    sign_in(page, base, username, CHAIR_PASSWORD)
    assert f"Test {username}" in page.locator(".topbar").inner_text()
    page.close()
    return context


def _cookie(context: Any, name: str) -> dict[str, Any] | None:
    return next((c for c in context.cookies() if c["name"] == name), None)


def _enrol_on(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Set up this phone").click()
    page.wait_for_url(re.compile(r"/me$"), timeout=WAIT_MS)


# ---------------------------------------------------------------- the tests


def test_badge_enrol_then_venue_checkin_counts_member_present(
        app: Any, live_server: str, browser: Any, phone: Any, new_phone: Any, session: Any, make_member: Any, make_staff: Any,
        console: Any, shot: Any) -> None:
    from playwright.sync_api import expect

    assert app.config["WTF_CSRF_ENABLED"] and app.config["SESSION_COOKIE_SECURE"]  # as in production
    meeting = _now_meeting(session, "excom-seoul")
    members = _excom(session, make_member, [("Seoul", "Korea"), ("Ulaanbaatar", "Mongolia"), ("Chengdu", "China"),
                                            ("Kazan", "Russia")])
    delegate = _delegate(session, members[1], "Bolor Erdene")
    make_staff("chair", username="chair", password=CHAIR_PASSWORD)
    issued = identity.issue_token(delegate, meeting)
    session.commit()
    ids = {"meeting": meeting.id, "delegate": delegate.id, "member": members[1].id}

    # The badge: the QR the Secretariat prints, read back as a phone camera would.
    url = _decode_qr(qr_png(_badge_url(live_server, issued.token, app)))
    assert url == f"{live_server}/e/{issued.token}"

    # The phone opens it: one sentence says what will happen, one button does it.
    page = console.watch(phone.new_page())
    page.goto(url)
    lead = page.locator(".lead").inner_text()
    assert lead == ("This phone will create a private signing key for Bolor Erdene, voting representative of "
                    "Ulaanbaatar, and sign you in for Executive Committee, Seoul.")
    shot(page, "phone-enrol")
    page.get_by_role("button", name="Set up this phone").click()
    page.wait_for_url(f"{live_server}/me", timeout=WAIT_MS)
    expect(page.locator("h1")).to_have_text("Bolor Erdene")
    facts = page.locator("dl.facts").inner_text()
    assert "Chrome" in facts and "since" in facts, facts
    shot(page, "phone-me")

    # The session cookie carries the Secure, HttpOnly and SameSite=Lax flags, and chromium kept it.
    cookie = _cookie(phone, "session")
    assert cookie is not None and cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax", cookie

    # A real WebCrypto key: Ed25519, registered, its private half not exportable from IndexedDB.
    keys = _device_keys(session, delegate_id=ids["delegate"])
    assert [(k["algorithm"], k["revoked_at"]) for k in keys] == [("Ed25519", None)]
    assert re.fullmatch(r"Android · Chrome \d+", keys[0]["device"]), keys[0]
    stored = page.evaluate(EXPORT_ATTEMPT)
    assert stored == [{"holder": f"d{ids['delegate']}", "keyId": keys[0]["key_id"], "algorithm": "Ed25519",
                       "extractable": False, "type": "private", "exported": "refused: InvalidAccessError"}]

    # The same badge on another phone: the code is used up, and that phone is not signed in.
    console.allow(ERROR_STATUS_NOTE.format(410))
    thief = console.watch(new_phone().new_page())
    response = thief.goto(url)
    assert response is not None and response.status == 410
    assert "already used" in thief.locator("main").inner_text()
    assert thief.get_by_role("button", name="Set up this phone").count() == 0
    me = thief.context.request.get(f"{live_server}/me", max_redirects=0)
    assert me.status == 302 and me.headers["location"].startswith("/login"), (me.status, me.headers)

    # The chair: the hall's screen (projector) and the roll (laptop), live.
    chair = _staff_login(browser, live_server, console, "chair", PROJECTOR)
    try:
        screen = console.watch(chair.new_page())
        screen.goto(f"{live_server}/meetings/{ids['meeting']}/venue-code")
        screen.wait_for_function(
            "() => { const i = document.getElementById('venue-qr');"
            " return i.complete && i.naturalWidth > 0 && i.src.includes('w=')"
            " && document.getElementById('venue-text').textContent.length === 12; }", timeout=WAIT_MS)
        shot(screen, "projector-venue-code")
        venue_url = _read_screen(screen)
        assert re.fullmatch(rf"{re.escape(live_server)}/c/excom-seoul/[A-Z2-7]{{12}}", venue_url), venue_url

        roll = console.watch(chair.new_page())
        roll.set_viewport_size(LAPTOP)
        roll.goto(f"{live_server}/meetings/{ids['meeting']}/roll")
        expect(roll.locator(".big-figure")).to_have_text("0 of 4 voting members present")

        # The delegate scans the screen and confirms.
        page.goto(venue_url)
        expect(page.locator(".lead")).to_have_text(
            "Check in Bolor Erdene (Ulaanbaatar) as present in the hall.")
        shot(page, "phone-checkin-confirm")
        page.get_by_role("button", name="Check in").click()
        page.wait_for_url(f"{live_server}/me", timeout=WAIT_MS)
        expect(page.locator(".flash-success")).to_have_text("You are checked in at Executive Committee, Seoul.")
        expect(page.locator(".meeting-line .badge.ok")).to_have_text("Checked in")
        shot(page, "phone-checked-in")

        # The roll updates without reload.
        expect(roll.locator(".big-figure")).to_have_text("1 of 4 voting members present", timeout=5_000)
        row = roll.locator("#roll-members tr", has_text="Ulaanbaatar")
        expect(row.locator(".badge")).to_have_text("Present")
        expect(row).to_contain_text("Bolor Erdene")
        expect(roll.locator("#roll-members .badge.ok")).to_have_count(1)
        shot(roll, "laptop-roll")
    finally:
        chair.close()
    assert not console.unexpected()


def test_ecdsa_p256_fallback_where_ed25519_is_missing(
        live_server: str, phone: Any, session: Any, make_member: Any, console: Any) -> None:
    meeting = _now_meeting(session, "excom-fallback")
    member = _excom(session, make_member, [("Makati", "Philippines")])[0]
    delegate = _delegate(session, member, "Maria Santos")
    issued = identity.issue_token(delegate, meeting)
    session.commit()
    delegate_id = delegate.id

    phone.add_init_script(NO_ED25519)
    page = console.watch(phone.new_page())
    _enrol_on(page, f"{live_server}/e/{issued.token}")
    assert "Chrome" in page.locator("dl.facts").inner_text()

    keys = _device_keys(session, delegate_id=delegate_id)
    assert [k["algorithm"] for k in keys] == ["ECDSA-P256"]
    stored = page.evaluate(EXPORT_ATTEMPT)
    assert [(r["algorithm"], r["extractable"], r["exported"]) for r in stored] == [
        ("ECDSA-P256", False, "refused: InvalidAccessError")]
    assert not console.unexpected()


def test_chair_enrols_a_staff_device_key(
        browser: Any, live_server: str, session: Any, make_staff: Any, console: Any) -> None:
    account, _ = make_staff("chair", username="chair", password=CHAIR_PASSWORD)
    account_id = account.id
    context = _staff_login(browser, live_server, console, "chair", LAPTOP)
    try:
        page = console.watch(context.new_page())
        page.goto(f"{live_server}/account/device")
        assert "You have no signing key yet." in page.locator("main").inner_text()
        page.get_by_role("button", name="Create a key on this device").click()
        page.wait_for_function("() => document.body.innerText.includes('Your key')", timeout=WAIT_MS)
        keys = _device_keys(session, staff_id=account_id)
        assert [(k["algorithm"], k["delegate_id"], k["revoked_at"]) for k in keys] == [("Ed25519", None, None)]
        assert keys[0]["key_id"] in page.locator("main").inner_text()
        stored = page.evaluate(EXPORT_ATTEMPT)
        assert [(r["holder"], r["keyId"], r["extractable"]) for r in stored] == [(f"s{account_id}", keys[0]["key_id"], False)]
    finally:
        context.close()
    assert not console.unexpected()
