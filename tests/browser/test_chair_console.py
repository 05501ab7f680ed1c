"""Issue 6 in a real browser: the chair's laptop (chromium at 1366×768) opens a vote from the
console, watches turnout arrive live, closes, reads the tally and certifies it with the device key
in IndexedDB; the hall's projector (1920×1080) shows the question and turnout, never counts while
the vote is open, and, without reloading, the certified result with the rule in words and a QR of
the certificate's address. Delegates vote from Python clients against the same live server."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from ballots.client import VotingClient
from tests.browser.pages import sign_in
from voting.models import Delegate, Meeting
from voting.services import attendance, identity, roster
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

CHAIR_PASSWORD = "chair password for the console test"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
WAIT_MS = 10_000
TITLE = "Budget of the Secretariat for 2026"
QUESTION = f"Does the Executive Committee approve: {TITLE}?"
CITIES = [("Seoul", "Korea"), ("Ulaanbaatar", "Mongolia"), ("Chengdu", "China"), ("Kazan", "Russia")]
# Seoul, Ulaanbaatar and Chengdu are checked in; Kazan is absent.
CHOICES = {"Seoul": "yes", "Ulaanbaatar": "yes", "Chengdu": "no"}


def _decode_qr(png: bytes) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("RGB"))
    texts = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code in the image, found {found!r}"
    return texts[0]


def _meeting(session: Any, make_member: Any, base: str) -> tuple[int, dict[str, VotingClient]]:
    """An EXCOM meeting under way (wego-2017), four seated cities, one motion on the agenda; the
    voting delegates of three of them enrol a key (Python, against the live server) and the desk
    checks them in. Everything is committed, and the test's session holds no lock afterwards."""
    now = datetime.now(UTC).replace(microsecond=0)
    meeting = meeting_service.create_meeting({
        "key": "excom-console", "title": "Executive Committee, Seoul", "body": "excom", "rule_set": "wego-2017",
        "starts_at": (now - timedelta(minutes=30)).isoformat(), "ends_at": (now + timedelta(hours=3)).isoformat(),
        "venue": "Seoul City Hall", "city": "Seoul",
    })
    meeting_service.add_agenda_item(meeting, {"number": "1", "title": TITLE, "decision": "motion"})
    session.commit()
    members = [make_member(name, country=country) for name, country in CITIES]
    for i, member in enumerate(members):
        roster.seat_member(member, "president" if i == 0 else "member", now.year - 1, now.year + 1)
    session.commit()
    tokens: dict[str, tuple[int, str]] = {}
    for member in members:
        delegate = roster.add_delegate(member, {"display_name": f"Delegate of {member.name}",
                                                "email": f"{member.name.lower()}@example.org", "is_voting": True})
        session.commit()
        if member.name in CHOICES:
            tokens[member.name] = (delegate.id, identity.issue_token(delegate, meeting).token)
    session.commit()
    meeting_id = meeting.id
    phones: dict[str, VotingClient] = {}
    for name, (delegate_id, token) in tokens.items():
        phone = VotingClient(base)
        phone.enrol(token)  # before the vote opens: keys enrolled later do not vote in it
        phones[name] = phone
        attendance.set_presence(session.get(Meeting, meeting_id), session.get(Delegate, delegate_id), True, via="desk")
        session.commit()
    session.rollback()
    return meeting_id, phones


def _chair(browser: Any, base: str, console: Any) -> Any:
    """The chair's laptop: signed in at /login, with a WebCrypto device key made at /account/device."""
    context = browser.new_context(viewport=LAPTOP)
    page = console.watch(context.new_page())
    sign_in(page, base, "chair", CHAIR_PASSWORD)
    page.goto(f"{base}/account/device")
    page.get_by_role("button", name="Create a key on this device").click()
    page.wait_for_function("() => document.body.innerText.includes('Your key')", timeout=WAIT_MS)
    return page


# Controls a viewer could see on screen (the hidden menu and the off-screen skip link do not count).
VISIBLE_CONTROLS = """() => [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
  .filter(e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight
      && s.visibility !== 'hidden'; })
  .map(e => e.outerHTML.slice(0, 80))"""


FULL_BAR = """() => { const bar = document.querySelector('.p-bar').getBoundingClientRect();
  return document.getElementById('p-bar-fill').getBoundingClientRect().width >= bar.width - 1; }"""


def _fits(page: Any) -> None:
    """The page fits its window: nothing to scroll, in either direction."""
    size = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
                         " window.innerWidth, window.innerHeight, document.getElementById('projector').dataset.state,"
                         " document.body.innerText]")
    assert size[0] <= size[2] and size[1] <= size[3], f"the page scrolls: {size}"


def test_open_vote_close_certify_and_the_projector_shows_the_result(
        app: Any, live_server: str, browser: Any, session: Any, make_member: Any, make_staff: Any,
        console: Any, shot: Any) -> None:
    from playwright.sync_api import expect

    make_staff("chair", username="chair", password=CHAIR_PASSWORD)
    meeting_id, phones = _meeting(session, make_member, live_server)
    page = _chair(browser, live_server, console)
    hall = browser.new_context(viewport=PROJECTOR)
    try:
        # The console: the roll, the projector link, the agenda item with its form open.
        page.goto(f"{live_server}/chair/meetings/{meeting_id}")
        expect(page.locator(".console-roll .big-figure")).to_contain_text("3 of 4 members present")
        shot(page, "chair-console")

        # The projector before any vote: the roll, no controls.
        screen = console.watch(hall.new_page())
        screen.goto(f"{live_server}/projector/{meeting_id}")
        expect(screen.locator("#p-figure")).to_have_text("3 of 4 members present · quorum 1", timeout=WAIT_MS)
        assert screen.evaluate(VISIBLE_CONTROLS) == []
        shot(screen, "chair-projector-roll")
        _fits(screen)

        form = page.locator(".agenda-item", has_text=TITLE)
        expect(form.get_by_label("Question put to the vote")).to_have_value(QUESTION)
        form.get_by_role("button", name="Open the vote").click()
        page.wait_for_url(re.compile(r"/chair/votes/\d+$"), timeout=WAIT_MS)
        vote_id = int(page.url.rsplit("/", 1)[1])
        expect(page.locator("#t-voted")).to_have_text("0")
        expect(page.locator("#t-present")).to_have_text("3")
        expect(page.get_by_role("button", name="Close the vote")).to_be_visible()

        page.goto(f"{live_server}/chair/meetings/{meeting_id}")
        expect(page.locator(".console-roll")).to_contain_text(QUESTION)
        shot(page, "chair-console-open-vote")
        page.goto(f"{live_server}/chair/votes/{vote_id}")

        # The hall sees the question and the turnout bar appear without reload, and no counts.
        expect(screen.locator("#p-question")).to_have_text(QUESTION, timeout=WAIT_MS)
        expect(screen.locator("#p-figure")).to_have_text("0 of 3 members present have voted")
        expect(screen.locator("#p-sub")).to_have_text("Voting is open")
        expect(screen.locator(".p-bar")).to_be_visible()
        expect(screen.locator("#p-result")).to_be_hidden()

        # The delegates vote; the chair's page and the projector count them live (never what they chose).
        names = list(CHOICES)
        for name in names[:2]:
            phones[name].cast(vote_id, CHOICES[name])
        expect(page.locator("#t-voted")).to_have_text("2", timeout=WAIT_MS)
        expect(page.locator("#t-waiting li")).to_have_text([names[2]])
        expect(page.locator("#hands-instead")).to_be_hidden()  # signed ballots are in: no show of hands now
        # Closing while a member present has not voted asks first; the chair says "not yet".
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name="Close the vote").click()
        page.wait_for_timeout(300)
        assert asked == ["1 member present has not voted yet. Close the vote now? It cannot be reopened."], asked
        expect(page.locator("#turnout")).to_have_attribute("data-state", "open")
        assert page.request.get(f"{live_server}/api/chair/votes/{vote_id}/turnout").json()["state"] == "open"
        phones[names[2]].cast(vote_id, CHOICES[names[2]])
        expect(page.locator("#t-voted")).to_have_text("3", timeout=WAIT_MS)
        expect(page.locator("#t-waiting li")).to_have_count(0)
        expect(page.locator("#t-all-voted")).to_be_visible()
        expect(page.locator("#t-voted-names li")).to_have_count(3)
        expect(page.locator("#t-size")).to_have_text("3")
        expect(screen.locator("#p-figure")).to_have_text("3 of 3 members present have voted", timeout=WAIT_MS)
        expect(screen.locator("#p-log")).to_contain_text("3 ballots")
        screen.wait_for_function(FULL_BAR, timeout=WAIT_MS)  # the bar has grown to 3 of 3
        for words in ("Yes:", "No:", "Adopted", "Not adopted"):
            assert words not in screen.locator("body").inner_text(), words
        # Nor does the server send any to the hall's screen while the vote is open.
        sent = screen.request.get(f"{live_server}/api/projector/{meeting_id}").json()["vote"]
        assert sent["state"] == "open" and "result" not in sent and "counts" not in sent, sent
        shot(page, "chair-vote-open")
        shot(screen, "chair-projector-open")
        _fits(screen)

        # The chair closes and reads the tally and why.
        page.get_by_role("button", name="Close the vote").click()
        page.wait_for_url(f"{live_server}/chair/votes/{vote_id}", timeout=WAIT_MS)
        tally = page.locator(".tally")
        expect(tally.locator(".big-figure")).to_have_text("Adopted")
        counts = {r.locator("th").inner_text(): r.locator("td").inner_text() for r in tally.locator("table.counts tr").all()}
        assert counts.get("Yes") == "2" and counts.get("No") == "1", counts
        assert tally.locator(".explanation li").count() >= 1
        expect(tally.locator(".explanation")).to_contain_text("Art.")
        # Still nothing for the hall until the chair certifies.
        expect(screen.locator("#p-sub")).to_contain_text("closed", timeout=WAIT_MS)
        for words in ("Yes:", "Adopted"):
            assert words not in screen.locator("body").inner_text(), words
        shot(page, "chair-vote-closed")
        # Under time pressure: the result and the button to certify it are on the first screen.
        certify = page.get_by_role("button", name="Certify and sign")
        expect(certify).to_be_in_viewport()

        # Certify: the browser signs with the chair's key in IndexedDB.
        certify.click()
        expect(page.locator(".certified")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".certified")).to_contain_text("signed by the organization and the chair")
        shot(page, "chair-vote-certified", full_page=True)

        # The projector, without reload: the result, the counts, the rule in words, a QR to verify.
        expect(screen.locator("#p-decision")).to_have_text("Adopted", timeout=WAIT_MS)
        count_lines = screen.locator("#p-counts li").all_inner_texts()
        assert "Yes: 2" in count_lines and "No: 1" in count_lines, count_lines
        expect(screen.locator("#p-rule")).to_contain_text("Art.")
        screen.wait_for_function("() => { const i = document.getElementById('p-qr');"
                                 " return !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=WAIT_MS)
        cert_url = f"{live_server}/results/votes/{vote_id}/certificate"
        decoded = _decode_qr(screen.locator("#p-qr").screenshot())
        assert re.fullmatch(rf"{re.escape(cert_url)}#sha256=[0-9a-f]{{64}}", decoded), decoded
        assert screen.evaluate(VISIBLE_CONTROLS) == []
        shot(screen, "chair-projector-certified")
        _fits(screen)

        # The printable certificate, its PDF, and the memorandum draft.
        public = console.watch(hall.new_page())
        public.set_viewport_size(LAPTOP)
        public.goto(decoded)
        expect(public.locator(".cert-headline")).to_have_text("Adopted")
        assert decoded.split("#sha256=")[1] in public.locator(".hashes").inner_text()
        shot(public, "chair-certificate", full_page=True)
        public.emulate_media(media="print")
        shot(public, "chair-certificate-print", full_page=True)
        pdf = public.request.get(f"{cert_url}.pdf")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

        page.goto(f"{live_server}/chair/meetings/{meeting_id}/memorandum")
        expect(page.locator(".memorandum")).to_contain_text("The Executive Committee approved")
        expect(page.locator(".memorandum")).to_contain_text("2 of 3 members present concurring")
        shot(page, "chair-memorandum", full_page=True)
    finally:
        hall.close()
        page.context.close()
    assert not console.unexpected()


def test_a_turnout_poll_answered_during_the_close_keeps_the_chairs_confirmation(
        app: Any, live_server: str, browser: Any, session: Any, make_member: Any, make_staff: Any,
        console: Any, monkeypatch: Any) -> None:
    """The chair presses "Close the vote" while the page's turnout poll is on its way; the poll
    answers "closed" before the close's own answer is back. The page must not reload over the close:
    a reload cancels the form's navigation, and with it the answer that says what the close did (or
    why it was refused). Both answers are held back here, so the race happens every time."""
    from playwright.sync_api import expect

    make_staff("chair", username="chair", password=CHAIR_PASSWORD)
    meeting_id, phones = _meeting(session, make_member, live_server)
    page = _chair(browser, live_server, console)
    try:
        page.goto(f"{live_server}/chair/meetings/{meeting_id}")
        page.locator(".agenda-item", has_text=TITLE).get_by_role("button", name="Open the vote").click()
        page.wait_for_url(re.compile(r"/chair/votes/\d+$"), timeout=WAIT_MS)
        vote_id = int(page.url.rsplit("/", 1)[1])
        for name, choice in CHOICES.items():
            phones[name].cast(vote_id, choice)
        expect(page.locator("#t-voted")).to_have_text("3", timeout=WAIT_MS)

        # The server closes the vote and commits; its answer (the redirect, with the session cookie
        # that carries the confirmation) waits until the test lets it go.
        closed, release = threading.Event(), threading.Event()
        inner = app.wsgi_app

        def hold_the_close(environ: dict[str, Any], start_response: Any) -> Any:
            if environ["REQUEST_METHOD"] != "POST" or not environ["PATH_INFO"].endswith(f"/votes/{vote_id}/close"):
                return inner(environ, start_response)
            answered: list[Any] = []
            body = b"".join(inner(environ, lambda *args: answered.append(args) or (lambda data: None)))
            closed.set()
            release.wait(WAIT_MS / 1000)
            start_response(*answered[0])
            return [body]

        monkeypatch.setattr(app, "wsgi_app", hold_the_close)
        polls: list[Any] = []
        page.route(f"**/api/chair/votes/{vote_id}/turnout", lambda route: polls.append(route), times=1)
        while not polls:  # the next poll is on its way, and held
            page.wait_for_timeout(50)
        # Pressed as the chair presses it (the click fires the form's submit), without waiting for
        # the navigation, which is held.
        page.evaluate("() => document.querySelector('#close-form button[type=submit]').click()")
        while not closed.is_set():
            page.wait_for_timeout(50)
        polls[0].continue_()  # the poll reaches the server now, and answers "closed"
        page.wait_for_timeout(1000)  # time for the page to act on it
        release.set()
        expect(page.locator(".flash-success")).to_have_text("The vote is closed with 3 ballots.", timeout=WAIT_MS)
        expect(page.locator("#turnout")).to_have_attribute("data-state", "closed")
        expect(page.locator(".tally .big-figure")).to_have_text("Adopted")
    finally:
        release.set()
        page.context.close()
    assert not console.unexpected()
