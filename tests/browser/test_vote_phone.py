"""Issue 5 in a real browser: a delegate's phone (chromium at 360×740) sees an opened vote appear on
its badge page, chooses, reads exactly what it will sign, signs the canonical ballot with the device
key and sends it; the receipt (short code, QR, JSON download) checks against the signed checkpoint.
A motion and a host-city round, the receipts page, and a lost answer retried with the same bytes."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from ballots.log import ballot_entry
from ballots.receipts import Receipt, check_receipt
from voting.keys import org_key
from voting.models import Ballot, Delegate, Meeting, Vote
from voting.services import attendance, casting, identity, roster
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
# The issue: "the phone shows an opened vote within 2 seconds"; the margin is for the page's own fetch.
OPEN_VOTE_MS = 2_500
RECEIPT_CODE = re.compile(r"[A-Z2-7]{5}-[A-Z2-7]{5}")
MOTION = "Shall the Executive Committee adopt the 2026 budget?"
HOST_CITY = "Which city hosts the 2027 General Assembly?"
# What chromium logs when a request is aborted (the test cuts the network on purpose).
ABORTED_NOTE = r"Failed to load resource: net::ERR_FAILED"


# ---------------------------------------------------------------- the meeting, as the Secretariat has it


@dataclass
class Hall:
    base: str
    meeting_id: int
    delegate_id: int
    member_ref: str
    holder: str


def _hall(session: Any, make_member: Any, base: str) -> tuple[Hall, str]:
    """An EXCOM meeting (wego-2017) under way, four seated cities, one voting delegate of Ulaanbaatar;
    returns the hall and the delegate's enrolment code. Everything is committed."""
    now = datetime.now(UTC).replace(microsecond=0)
    year = now.year
    meeting = meeting_service.create_meeting({
        "key": "excom-vote", "title": "Executive Committee, Seoul", "body": "excom", "rule_set": "wego-2017",
        "starts_at": (now - timedelta(minutes=30)).isoformat(), "ends_at": (now + timedelta(hours=3)).isoformat(),
        "venue": "Seoul City Hall", "city": "Seoul",
    })
    session.commit()
    members = [make_member(name, country=country) for name, country in
               [("Seoul", "Korea"), ("Ulaanbaatar", "Mongolia"), ("Chengdu", "China"), ("Kazan", "Russia")]]
    for i, member in enumerate(members):
        roster.seat_member(member, "president" if i == 0 else "member", year - 1, year + 1)
    delegate = roster.add_delegate(members[1], {"display_name": "Bolor Erdene", "email": "bolor@example.org",
                                                "is_voting": True})
    session.commit()
    token = identity.issue_token(delegate, meeting).token
    holder, member_ref = identity.delegate_ref(delegate)
    hall = Hall(base, meeting.id, delegate.id, member_ref, holder)
    session.commit()
    return hall, token


def _enrol_and_check_in(session: Any, page: Any, hall: Hall, token: str) -> None:
    """The badge QR opens /e/<token> (its decoding is test_enrol_checkin's); the desk checks her in."""
    page.goto(f"{hall.base}/e/{token}")
    page.get_by_role("button", name="Set up this phone").click()
    page.wait_for_url(f"{hall.base}/me", timeout=WAIT_MS)
    attendance.set_presence(session.get(Meeting, hall.meeting_id), session.get(Delegate, hall.delegate_id), True, via="desk")
    session.commit()


def _open(session: Any, hall: Hall, number: str, kind: str, question: str,
          options: list[casting.Option] | None = None) -> int:
    """The chair opens a vote on a new agenda item (after the phone's key is enrolled)."""
    meeting = session.get(Meeting, hall.meeting_id)
    item = meeting_service.add_agenda_item(meeting, {"number": number, "title": question, "decision": kind})
    session.flush()
    vote_id = int(casting.open_vote(item, kind, question, options).id)
    session.commit()
    return vote_id


def _close(session: Any, vote_id: int) -> None:
    casting.close_vote(session.get(Vote, vote_id))
    session.commit()


def _ballots(session: Any, vote_id: int) -> list[dict[str, Any]]:
    """The stored ballots as plain values, read in a transaction that ends at once (on SQLite the
    test's session writes, and holding its lock would stall the live server)."""
    session.rollback()
    rows = [{"bytes": b.bytes, "signature": b.signature, "key_id": b.key_id, "member_ref": b.member_ref,
             "leaf_hash": b.leaf_hash} for b in session.scalars(select(Ballot).where(Ballot.vote_id == vote_id))]
    session.rollback()
    return rows


def _decode_qr(png: bytes) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("RGB"))
    texts = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code in the image, found {found!r}"
    return texts[0]


# ---------------------------------------------------------------- the phone's steps


def _wait_for_vote_card(page: Any, question: str) -> float:
    """The badge page is showing; the vote was just opened. Seconds until its card is on screen."""
    started = time.monotonic()
    page.locator("#open-votes .vote-card", has_text=question).wait_for(timeout=OPEN_VOTE_MS)
    return time.monotonic() - started


def _review(page: Any, choice_label: str, vote_id: int, hall: Hall, choice: str, words: str,
            snap: Callable[[str], None] = lambda _name: None) -> str:
    """Choose, press "Review my vote", check the confirmation; returns the exact text to be signed."""
    from playwright.sync_api import expect

    page.get_by_label(choice_label, exact=True).check()
    snap("chosen")
    page.get_by_role("button", name="Review my vote").click()
    confirm = page.locator("#confirm")
    expect(confirm).to_be_visible()
    expect(page.locator("#ballot-form")).to_be_hidden()
    expect(page.locator("#confirm-words")).to_have_text(words)
    expect(page.get_by_role("button", name="Sign and send my vote")).to_be_in_viewport()
    snap("confirm")
    # The exact canonical JSON the phone will sign, one tap away, and it says what the words say.
    page.get_by_text("Exactly what your phone will sign").click()
    signed = page.locator("#confirm-json")
    expect(signed).to_be_visible()
    text = signed.inner_text()
    ballot = json.loads(text)
    assert (ballot["vote"], ballot["member"], ballot["delegate"], ballot["choice"]) == (
        f"v{vote_id}", hall.member_ref, hall.holder, choice), ballot
    assert text == json.dumps(ballot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # canonical
    snap("confirm-signed-text")
    return str(text)


def _receipt_on_screen(page: Any) -> str:
    """After "Sign and send": the receipt code and its QR; returns the code."""
    from playwright.sync_api import expect

    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#confirm")).to_be_hidden()
    code = page.locator("#receipt-code").inner_text()
    assert RECEIPT_CODE.fullmatch(code), code
    page.wait_for_function("() => { const i = document.getElementById('receipt-qr');"
                           " return i.complete && i.naturalWidth > 0; }", timeout=WAIT_MS)
    return str(code)


def _download_receipt(page: Any) -> dict[str, Any]:
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download receipt (JSON)").click()
    assert re.fullmatch(r"receipt-[A-Z2-7]{5}-[A-Z2-7]{5}\.json", download.value.suggested_filename)
    data: dict[str, Any] = json.loads(Path(download.value.path()).read_text("utf-8"))
    return data


def _check(receipt_json: dict[str, Any], stored: dict[str, Any], vote_id: int) -> Receipt:
    """The downloaded receipt proves the stored signed ballot is in the vote's log, against a
    checkpoint signed by the organization key."""
    receipt = Receipt.from_json(receipt_json)
    entry = ballot_entry(stored["bytes"], stored["signature"], stored["key_id"])
    assert check_receipt(receipt, org_key().public_key(), entry=entry) == []
    assert receipt.vote == f"v{vote_id}" and receipt.leaf_hash.hex() == stored["leaf_hash"]
    return receipt


# ---------------------------------------------------------------- the tests


def test_vote_on_a_motion_and_a_host_city_round_with_receipts(
        live_server: str, phone: Any, session: Any, make_member: Any, console: Any, shot: Any) -> None:
    from playwright.sync_api import expect

    hall, token = _hall(session, make_member, live_server)
    page = console.watch(phone.new_page())
    _enrol_and_check_in(session, page, hall, token)
    page.reload()
    expect(page.locator(".meeting-line .badge.ok")).to_have_text("Checked in")
    expect(page.locator("#no-open-votes")).to_be_visible()

    # The chair opens a motion while the phone shows the badge page: the vote appears by itself.
    motion = _open(session, hall, "4", "motion", MOTION)
    seconds = _wait_for_vote_card(page, MOTION)
    assert seconds < OPEN_VOTE_MS / 1000
    expect(page.locator("#no-open-votes")).to_be_hidden()
    shot(page, "vote-me-open")

    page.locator("#open-votes .vote-card", has_text=MOTION).get_by_role("link", name="Vote now").click()
    page.wait_for_url(f"{live_server}/votes/{motion}", timeout=WAIT_MS)
    expect(page.locator("h1")).to_have_text(MOTION)
    shot(page, "vote-ballot-motion")
    signed = _review(page, "Yes, in favour", motion, hall, "yes", "You vote YES (in favour).",
                     lambda name: shot(page, f"vote-motion-{name}"))
    page.get_by_role("button", name="Sign and send my vote").click()
    code = _receipt_on_screen(page)
    expect(page.locator("#receipt-words")).to_have_text("You voted YES (in favour). Ballot 1 in the log of this vote.")
    shot(page, "vote-receipt-motion")

    # The server keeps the bytes shown in the confirmation, byte for byte; the receipt checks.
    stored = _ballots(session, motion)
    assert len(stored) == 1 and stored[0]["bytes"] == signed.encode("utf-8")
    receipt = _check(_download_receipt(page), stored[0], motion)
    assert receipt.short_code == code
    # The QR on screen names the receipt's public address.
    assert _decode_qr(page.locator("#receipt-qr").screenshot()) == f"{live_server}/r/{motion}/{stored[0]['leaf_hash']}"

    # A host-city round, the delegate already checked in when it opens.
    _close(session, motion)
    page.get_by_role("link", name="Back to my badge").click()
    page.wait_for_url(f"{live_server}/me", timeout=WAIT_MS)
    host = _open(session, hall, "5", "host-city", HOST_CITY,
                 [casting.Option("sejong", "Sejong"), casting.Option("ha-noi", "Ha Noi")])
    _wait_for_vote_card(page, HOST_CITY)
    expect(page.locator("#open-votes .vote-card")).to_have_count(1)  # the closed motion is gone
    page.get_by_role("link", name="Vote now").click()
    page.wait_for_url(f"{live_server}/votes/{host}", timeout=WAIT_MS)
    shot(page, "vote-ballot-host-city")
    signed = _review(page, "Ha Noi", host, hall, "ha-noi", "You vote for Ha Noi.",
                     lambda name: shot(page, f"vote-host-city-{name}"))
    page.get_by_role("button", name="Sign and send my vote").click()
    host_code = _receipt_on_screen(page)
    expect(page.locator("#receipt-words")).to_have_text("You voted for Ha Noi. Ballot 1 in the log of this vote.")
    shot(page, "vote-receipt-host-city")
    stored_host = _ballots(session, host)
    assert len(stored_host) == 1 and stored_host[0]["bytes"] == signed.encode("utf-8")
    assert _check(_download_receipt(page), stored_host[0], host).short_code == host_code

    # "My receipts" lists both, with their questions ...
    page.get_by_role("link", name="All my receipts").click()
    page.wait_for_url(f"{live_server}/me/receipts", timeout=WAIT_MS)
    cards = page.locator("#receipt-list > li")
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    expect(cards.nth(0)).to_contain_text(host_code)  # newest first
    expect(cards.filter(has_text=code)).to_contain_text(MOTION)
    expect(cards.filter(has_text=host_code)).to_contain_text(HOST_CITY)
    shot(page, "vote-receipts", full_page=True)
    with page.expect_download(timeout=WAIT_MS) as download:
        cards.filter(has_text=host_code).get_by_role("button", name=re.compile("Download")).click()
    _check(json.loads(Path(download.value.path()).read_text("utf-8")), stored_host[0], host)

    # ... from the phone's own copies when the server cannot be reached ...
    console.allow(ABORTED_NOTE)
    page.route("**/api/me/receipts", lambda route: route.abort())
    page.reload()
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    expect(cards.filter(has_text=host_code)).to_contain_text(HOST_CITY)
    expect(page.locator("#live-status")).to_contain_text("receipts kept on this phone")
    shot(page, "vote-receipts-offline")
    page.unroute("**/api/me/receipts")

    # ... and from the server when the phone's copies are gone (storage cleared).
    page.evaluate("""() => new Promise((ok, fail) => {
        const r = indexedDB.deleteDatabase("wego-receipts"); r.onsuccess = ok; r.onerror = fail; r.onblocked = ok; })""")
    page.reload()
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    expect(cards.filter(has_text=code)).to_contain_text(MOTION)
    expect(page.locator("#live-status")).to_be_hidden()
    assert not console.unexpected()


def test_signed_ballot_lost_on_the_way_is_sent_again_with_the_same_bytes(
        live_server: str, phone: Any, session: Any, make_member: Any, console: Any, shot: Any) -> None:
    from playwright.sync_api import expect

    hall, token = _hall(session, make_member, live_server)
    page = console.watch(phone.new_page())
    _enrol_and_check_in(session, page, hall, token)
    motion = _open(session, hall, "4", "motion", MOTION)

    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" and r.url.endswith("/ballots") else None)
    aborted: list[str] = []

    def lose_the_answer(route: Any) -> None:  # the phone loses the network just after signing
        aborted.append(route.request.url)
        route.abort()

    console.allow(ABORTED_NOTE)
    page.route("**/api/votes/*/ballots", lose_the_answer)
    page.goto(f"{live_server}/votes/{motion}")
    signed = _review(page, "No, against", motion, hall, "no", "You vote NO (against).")
    page.get_by_role("button", name="Sign and send my vote").click()

    status = page.locator("#send-status")
    expect(status).to_contain_text("signed but not confirmed", timeout=WAIT_MS)
    again = page.get_by_role("button", name=re.compile("Send again"))
    expect(again).to_be_visible()
    # Signed is signed: the phone offers only to send the same ballot again, not to change or re-sign it.
    expect(page.get_by_role("button", name="Sign and send my vote")).to_be_hidden()
    expect(page.get_by_role("button", name="Change my vote")).to_be_hidden()
    shot(page, "vote-retry")
    assert len(aborted) == 1 and _ballots(session, motion) == []

    page.unroute("**/api/votes/*/ballots")
    again.click()
    code = _receipt_on_screen(page)
    expect(status).to_be_hidden()
    expect(again).to_be_hidden()

    assert len(sent) == 2 and sent[0] == sent[1], sent  # the very same signed bytes, twice
    assert json.loads(sent[1])["ballot"] == signed
    stored = _ballots(session, motion)
    assert len(stored) == 1 and stored[0]["bytes"] == signed.encode("utf-8")
    assert _check(_download_receipt(page), stored[0], motion).short_code == code

    # Reloading afterwards sends nothing more: the pending ballot was cleared once confirmed.
    page.reload()
    expect(page.locator("#ballot .flash-info")).to_contain_text("You already voted in this vote, at ")
    assert len(sent) == 2 and len(_ballots(session, motion)) == 1
    assert not console.unexpected()
