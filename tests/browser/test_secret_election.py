"""Issue 9, done when: an EXCOM election of the demo General Assembly runs as a secret ballot end to
end in chromium, is certified, and its record verifies.

The demo (voting/demo/handbook_2017.toml) is loaded; its General Assembly "ga-2017" elects by secret
ballot by default. Five delegates' phones (chromium at 360×740) set up their keys from their badges,
check in at the hall's code, and vote on their real ballot page: vote.js seals each choice to the
tellers' key with WebCrypto HPKE and signs only the envelope. 35 more cities, for the quorum (one
third of the 120 full members), vote from Python clients over HTTP as the same phones would. The
chair's laptop (1366×768) opens the vote from the console (the Secret ballot box starts ticked), the
hall's projector shows the turnout only, the Secretariat exports the tellers' key and removes it
from the server, the chair closes, the count waits for the key file, the chair opens the sealed
ballots with it, reads the tally and certifies with the key in the laptop's IndexedDB. Then the
projector shows the result, the observers' record holds the envelopes and the sealed ballots in
tracker order, every phone's tracker is among them, the record verifies, and no row of the
database joins a member or a delegate to a tracker or a choice."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ballots.canonical import canonical_bytes
from ballots.client import VotingClient
from ballots.record import verify_record
from ballots.sealed import ENVELOPE_CHOICE, tracker_code
from tests.browser.pages import sign_in
from tests.voting.privacy import all_rows, assert_only_sealed_ballots_hold
from voting.demo.loader import load_demo
from voting.models import Delegate, Meeting, Member
from voting.services import attendance, identity

pytestmark = pytest.mark.browser

STAFF_PASSWORD = "staff password for the secret election test"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
WAIT_MS = 15_000
CODE = re.compile(r"[A-Z2-7]{5}-[A-Z2-7]{5}")
ITEM_TITLE = "Election of Executive Committee Members for 2017-2020"
QUESTION = "Election of the Executive Committee members"
SEATS = 20
PRESENT = 40  # one third of the GA's 120 full members: the quorum of wego-2014 (Art. 16.1), exactly
REQUIRED = 20  # half of the members present elects (Art. 12.4, I-6)
CANDIDATES = ["bucharest", "chengdu", "goyang", "hebron", "khartoum-state", "kigali", "makati", "nairobi",
              "pittsburgh", "seberang-perai", "ulaanbaatar"]
LABELS = {c: c.replace("-", " ").title() for c in CANDIDATES}

# The five phones in chromium: their cities and their approval ballots (a candidate not named abstains).
PHONES: dict[str, dict[str, str]] = {
    "Seoul": {"chengdu": "yes", "ulaanbaatar": "yes", "kigali": "yes", "pittsburgh": "yes", "hebron": "no"},
    "Ulaanbaatar": {"ulaanbaatar": "yes", "goyang": "yes", "makati": "yes", "pittsburgh": "yes", "bucharest": "no"},
    "Moscow": {**{c: "yes" for c in CANDIDATES}, "hebron": "no", "nairobi": "abstain"},
    "Jakarta": {"chengdu": "yes", "nairobi": "yes", "pittsburgh": "no", "khartoum-state": "no"},
    "Tallinn": {"bucharest": "yes", "seberang-perai": "yes"},
}
# The 35 other cities: how many of them approve each candidate (the first n say yes, the rest alternate
# no and abstain). Pittsburgh reaches the 20 needed only with the phones' sealed votes; Bucharest
# misses it by one.
OTHERS_YES = {"bucharest": 17, "chengdu": 30, "goyang": 24, "hebron": 5, "khartoum-state": 15, "kigali": 25,
              "makati": 22, "nairobi": 21, "pittsburgh": 17, "seberang-perai": 20, "ulaanbaatar": 28}


def _full_ballot(partial: dict[str, str]) -> dict[str, str]:
    return {c: partial.get(c, "abstain") for c in CANDIDATES}


def _others_ballot(i: int) -> dict[str, str]:
    return {c: "yes" if i < n else ("no" if i % 2 else "abstain") for c, n in OTHERS_YES.items()}


def _expected_yes() -> dict[str, int]:
    ballots = [_full_ballot(p) for p in PHONES.values()] + [_others_ballot(i) for i in range(PRESENT - len(PHONES))]
    return {c: sum(b[c] == "yes" for b in ballots) for c in CANDIDATES}


def _tracker_of(sealed_b64url: str) -> str:
    return hashlib.sha256(base64.urlsafe_b64decode(sealed_b64url + "=" * (-len(sealed_b64url) % 4))).hexdigest()


def _released(session: Any) -> None:
    """Commit, and hold no transaction while the live server works (SQLite: one writer at a time)."""
    session.commit()
    session.rollback()


# ---------------------------------------------------------------- the hall, as the Secretariat has it


def _demo(session: Any) -> tuple[int, int, list[Member]]:
    """The demo loaded; the GA's id, its EXCOM election item's id, and its voting members (the roll)."""
    load_demo()
    session.commit()
    ga = session.scalars(select(Meeting).where(Meeting.key == "ga-2017")).one()
    assert ga.secret_elections, "the demo GA elects by secret ballot by default"
    item = next(i for i in ga.agenda if i.title == ITEM_TITLE)
    assert item.decision.value == "excom-election"
    members = [m.member for m in attendance.roll(ga).members]
    assert len(members) == 120 and attendance.roll(ga).quorum_required == PRESENT
    return ga.id, item.id, members


def _voting_rep(member: Member, n: int = 1) -> Delegate:
    return [d for d in member.delegates if d.is_voting][n - 1]


def _token(session: Any, meeting_id: int, delegate: Delegate) -> str:
    token = identity.issue_token(delegate, session.get(Meeting, meeting_id)).token
    session.commit()
    return token


def _phone_enrols_and_checks_in(page: Any, base: str, session: Any, meeting_id: int, delegate: Delegate) -> None:
    """The badge QR opens /e/<token> (decoding it is test_enrol_checkin's); the phone makes its key,
    then opens the code the hall's screen shows and checks in."""
    from playwright.sync_api import expect

    token = _token(session, meeting_id, delegate)
    _released(session)
    page.goto(f"{base}/e/{token}")
    page.get_by_role("button", name="Set up this phone").click()
    page.wait_for_url(f"{base}/me", timeout=WAIT_MS)
    code = attendance.current_code(session.get(Meeting, meeting_id)).code
    session.rollback()
    page.goto(f"{base}/c/ga-2017/{code}")
    page.get_by_role("button", name="Check in").click()
    page.wait_for_url(f"{base}/me", timeout=WAIT_MS)
    expect(page.locator(".flash-success")).to_contain_text("You are checked in at 4th WeGO General Assembly 2017.")


def _python_voters(session: Any, base: str, meeting_id: int, members: list[Member]) -> list[VotingClient]:
    """The other cities' phones: a key enrolled over HTTP, checked in at the desk."""
    clients = []
    for member in members:
        delegate = _voting_rep(member)
        token = _token(session, meeting_id, delegate)
        attendance.set_presence(session.get(Meeting, meeting_id), delegate, True, via="desk")
        _released(session)
        client = VotingClient(base)
        client.enrol(token)
        clients.append(client)
    return clients


def _staff(browser: Any, base: str, console: Any, username: str) -> Any:
    """A staff laptop signed in at /login."""
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = console.watch(context.new_page())
    return sign_in(page, base, username, STAFF_PASSWORD)


def _fits_width(page: Any) -> None:
    """Nothing to scroll sideways."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"


# ---------------------------------------------------------------- the phone's ballot


def _vote_on_the_phone(page: Any, base: str, vote_id: int, city: str, ballot: dict[str, str], shot: Any,
                       snap: bool) -> dict[str, Any]:
    """On the badge page the vote has appeared; the delegate answers each candidate, reviews, reads the
    envelope, signs and sends. Returns the receipt file the phone downloads (with the tracker)."""
    from playwright.sync_api import expect

    card = page.locator("#open-votes .vote-card", has_text=QUESTION)
    card.wait_for(timeout=WAIT_MS)
    card.get_by_role("link", name="Vote now").click()
    page.wait_for_url(f"{base}/votes/{vote_id}", timeout=WAIT_MS)
    expect(page.locator("h1")).to_have_text(QUESTION)
    expect(page.locator("#secret-note")).to_contain_text("Secret ballot.")
    expect(page.locator("#secret-unsupported")).to_be_hidden()
    # Whom the phone votes for is the city it represents, not a candidate (Ulaanbaatar is both).
    expect(page.locator("#ballot")).to_contain_text(f"You vote on behalf of {city}. One vote per member")
    expect(page.locator(".approval-help")).to_have_text("For each candidate, answer yes, no or abstain.")
    assert page.locator("fieldset.approval").count() == len(CANDIDATES)
    if snap:
        shot(page, "secret-phone-ballot")
    said = {"yes": "Yes", "no": "No", "abstain": "Abstain"}
    for candidate in CANDIDATES:
        box = page.locator(f'fieldset.approval[data-candidate="{candidate}"]')
        box.get_by_label(said[ballot[candidate]], exact=True).check()
    if snap:
        shot(page, "secret-phone-ballot-filled", full_page=True)
    _fits_width(page)
    page.get_by_role("button", name="Review my vote").click()
    expect(page.locator("#confirm")).to_be_visible()
    words = "; ".join(f"{LABELS[c]}: {ballot[c]}" for c in CANDIDATES) + "."
    expect(page.locator("#confirm-words")).to_have_text(words)
    # One candidate a line, so that eleven answers can be checked at a glance.
    lines = page.locator("#confirm-words > span")
    expect(lines).to_have_count(len(CANDIDATES))
    assert len({round(b["x"]) for b in lines.evaluate_all("els => els.map(e => e.getBoundingClientRect())")}) == 1
    expect(page.locator("#confirm")).to_contain_text("seals your choice separately")
    page.get_by_text("Exactly what your phone will sign (the envelope)").click()
    envelope = json.loads(page.locator("#confirm-json").inner_text())
    assert envelope["choice"] == ENVELOPE_CHOICE and envelope["vote"] == f"v{vote_id}", envelope
    assert not any(c in json.dumps(envelope) for c in CANDIDATES), "the envelope names a candidate"
    if snap:
        shot(page, "secret-phone-confirm", full_page=True)
    _fits_width(page)
    page.get_by_role("button", name="Sign and send my vote").click()
    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#tracker-box")).to_be_visible()
    expect(page.locator("#receipt-words")).to_have_text(re.compile(re.escape(words) + r" Ballot \d+ in the log of this vote\."))
    code = page.locator("#receipt-code").inner_text()
    shown_tracker = page.locator("#tracker-code").inner_text()
    assert CODE.fullmatch(code) and CODE.fullmatch(shown_tracker), (code, shown_tracker)
    assert shown_tracker != code
    page.wait_for_function("() => { const i = document.getElementById('receipt-qr');"
                           " return i.complete && i.naturalWidth > 0; }", timeout=WAIT_MS)
    page.locator("#receipt").evaluate("e => e.scrollIntoView({block: 'start'})")
    if snap:
        shot(page, "secret-phone-receipt")
        shot(page, "secret-phone-receipt-full", full_page=True)
    _fits_width(page)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download receipt (JSON)").click()
    data: dict[str, Any] = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert re.fullmatch(r"[0-9a-f]{64}", data["tracker"]) and tracker_code(data["tracker"]) == shown_tracker
    assert data["vote"] == f"v{vote_id}"
    return {"city": city, "code": code, "tracker": data["tracker"], "tracker_code": shown_tracker, "receipt": data}


# ---------------------------------------------------------------- privacy


def _parsed(value: Any) -> Any:
    """A column's value, with JSON text or bytes read as JSON."""
    if isinstance(value, (bytes, memoryview)):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _choices_in(value: Any, ballots: list[dict[str, str]], path: tuple[Any, ...] = (),
                parent: Any = None) -> list[tuple[tuple[Any, ...], Any]]:
    """Where in a JSON value one of these approval ballots sits: (its path, the list or map holding it)."""
    if isinstance(value, dict) and value in ballots:
        return [(path, parent)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [hit for k, v in items for hit in _choices_in(_parsed(v), ballots, (*path, k), value)]


# ---------------------------------------------------------------- the test


def test_a_secret_excom_election_of_the_demo_ga_end_to_end(
        app: Any, live_server: str, browser: Any, new_phone: Any, session: Any, make_staff: Any,
        console: Any, shot: Any, tmp_path: Path, caplog: Any) -> None:
    from playwright.sync_api import expect

    caplog.set_level(logging.DEBUG)
    base = live_server
    meeting_id, item_id, members = _demo(session)
    make_staff("chair", username="ga-chair", password=STAFF_PASSWORD)
    make_staff("secretariat", username="ga-secretariat", password=STAFF_PASSWORD)
    by_name = {m.name: m for m in members}

    # ---- the delegates: five phones in chromium, and Seoul's second representative on a sixth
    phones: dict[str, Any] = {}
    for city in PHONES:
        page = console.watch(new_phone(accept_downloads=True).new_page())
        _phone_enrols_and_checks_in(page, base, session, meeting_id, _voting_rep(by_name[city]))
        phones[city] = page
    expect(phones["Seoul"].locator(".meeting-line .badge.ok")).to_have_text("Checked in")
    shot(phones["Seoul"], "secret-phone-me")
    second = console.watch(new_phone().new_page())
    _phone_enrols_and_checks_in(second, base, session, meeting_id, _voting_rep(by_name["Seoul"], 2))
    others = _python_voters(session, base, meeting_id, [m for m in members if m.name not in PHONES][:PRESENT - len(PHONES)])

    # ---- the chair's laptop: a device key, then the console
    chair = _staff(browser, base, console, "ga-chair")
    chair.goto(f"{base}/account/device")
    chair.get_by_role("button", name="Create a key on this device").click()
    chair.wait_for_function("() => document.body.innerText.includes('Your key')", timeout=WAIT_MS)
    chair.goto(f"{base}/chair/meetings/{meeting_id}")
    expect(chair.locator(".console-roll .big-figure")).to_contain_text(f"{PRESENT} of 120 members present")
    expect(chair.locator(".console-roll .badge")).to_have_text("Quorum")
    form = chair.locator(f"#item-{item_id}")
    expect(form.get_by_label("Question put to the vote")).to_have_value(QUESTION)
    secret_box = form.get_by_role("checkbox", name=re.compile(r"^Secret ballot:"))
    expect(secret_box).to_be_checked()  # the meeting's default for elections
    ticked = form.locator('input[name="option"]:checked').evaluate_all("els => els.map(e => e.value)")
    assert sorted(ticked) == CANDIDATES, ticked
    expect(form.get_by_label("Seats to fill")).to_have_value(str(SEATS))
    secret_box.scroll_into_view_if_needed()
    shot(chair, "secret-chair-console-form")

    # ---- the hall's screen, before the vote
    hall = browser.new_context(viewport=PROJECTOR)
    screen = console.watch(hall.new_page())
    screen.goto(f"{base}/projector/{meeting_id}")
    expect(screen.locator("#p-figure")).to_have_text(f"{PRESENT} of 120 members present · quorum {PRESENT}",
                                                     timeout=WAIT_MS)

    # ---- the chair opens the vote: a secret approval ballot, 11 candidates for 20 seats
    form.get_by_role("button", name="Open the vote").click()
    chair.wait_for_url(re.compile(r"/chair/votes/\d+$"), timeout=WAIT_MS)
    vote_id = int(chair.url.rsplit("/", 1)[1])
    expect(chair.locator(".flash-success")).to_have_text("The secret vote on agenda item 6 is open.")
    expect(chair.locator(".secret-note")).to_contain_text("Secret ballot.")
    expect(chair.locator("#t-voted")).to_have_text("0")
    expect(chair.locator("#t-present")).to_have_text(str(PRESENT))
    info = others[0].vote_info(vote_id)
    assert info["kind"] == "excom-approval" and info["secret"]["suite"], info
    definition = json.loads(info["definition"])
    assert [o["id"] for o in definition["options"]] == CANDIDATES and definition["seats"] == SEATS
    assert {o["id"]: o["label"] for o in definition["options"]} == LABELS

    # Seoul's second representative opens the ballot before the first has voted.
    second.goto(f"{base}/votes/{vote_id}")
    expect(second.locator("#ballot-form")).to_be_visible()

    # ---- the other cities vote (sealed by the Python client, as the phones seal)
    trackers: set[str] = set()
    for i, client in enumerate(others):
        answer = client.cast(vote_id, _others_ballot(i))
        assert answer["secret"] is True
        trackers.add(answer["tracker"])

    # ---- the phones vote in their pages
    results: dict[str, dict[str, Any]] = {}
    for n, (city, partial) in enumerate(PHONES.items()):
        results[city] = _vote_on_the_phone(phones[city], base, vote_id, city, _full_ballot(partial), shot, snap=n == 0)
    mine = {r["tracker"] for r in results.values()}
    assert len(mine) == len(PHONES) and not mine & trackers
    trackers |= mine

    # Voting twice: Seoul's other representative presses "Sign and send"; the envelope is refused.
    second.locator('fieldset.approval[data-candidate="hebron"]').get_by_label("Yes", exact=True).check()
    for candidate in CANDIDATES:
        if candidate != "hebron":
            second.locator(f'fieldset.approval[data-candidate="{candidate}"]').get_by_label("No", exact=True).check()
    second.get_by_role("button", name="Review my vote").click()
    console.allow(r"status of 409")
    second.get_by_role("button", name="Sign and send my vote").click()
    refused = second.locator("#send-status")
    expect(refused).to_contain_text("Your city's vote was already cast at", timeout=WAIT_MS)
    expect(refused).to_contain_text("by its other representative, Seoul representative 1.")
    expect(second.locator("#receipt")).to_be_hidden()
    refused.scroll_into_view_if_needed()
    shot(second, "secret-phone-refused-second-representative")
    # And the first representative's phone, reloaded, says it has voted (no form to vote again).
    seoul = phones["Seoul"]
    seoul.goto(f"{base}/votes/{vote_id}")
    expect(seoul.locator("#ballot .flash-info:not(.secret-note)")).to_contain_text("You already voted in this vote, at ")
    expect(seoul.locator("#ballot-form")).to_have_count(0)
    shot(seoul, "secret-phone-already-voted")

    # ---- while open: turnout only, for the chair and the hall
    expect(chair.locator("#t-voted")).to_have_text(str(PRESENT), timeout=WAIT_MS)
    expect(chair.locator("#t-all-voted")).to_be_visible()
    assert chair.locator(".tally, #sealed, table.counts").count() == 0
    chair_text = chair.locator("main").inner_text()
    for words in ("Tally", "Elected", "yes:", "Sealed ballots"):
        assert words not in chair_text, words
    turnout = chair.request.get(f"{base}/api/chair/votes/{vote_id}/turnout").json()
    assert set(turnout) <= {"vote", "state", "present", "total", "voted", "not_voted", "checkpoint", "voted_names",
                            "waiting_names"}, turnout
    shot(chair, "secret-chair-vote-open")
    expect(screen.locator("#p-question")).to_have_text(QUESTION, timeout=WAIT_MS)
    expect(screen.locator("#p-figure")).to_have_text(f"{PRESENT} of {PRESENT} members present have voted",
                                                     timeout=WAIT_MS)
    expect(screen.locator("#p-sub")).to_have_text("Voting is open")
    expect(screen.locator("#p-result")).to_be_hidden()
    sent = screen.request.get(f"{base}/api/projector/{meeting_id}").text()
    assert not any(label in sent for label in LABELS.values()), "the projector is sent a candidate while open"
    assert not any(label in screen.locator("body").inner_text() for label in LABELS.values())
    shot(screen, "secret-projector-open")

    # ---- the Secretariat keeps the tellers' key off the server
    secretariat = _staff(browser, base, console, "ga-secretariat")
    secretariat.goto(f"{base}/meetings/{meeting_id}/tellers")
    key_card = secretariat.locator("#key")
    expect(key_card).to_contain_text(definition["secret"]["teller_key_id"])
    expect(key_card).to_contain_text("held by the server")
    sealed_list = secretariat.locator(".sealed-votes li")
    expect(sealed_list).to_have_text([f"Agenda 6: {QUESTION} — open {PRESENT} envelopes so far"])
    shot(secretariat, "secret-tellers-page", full_page=True)
    with secretariat.expect_download(timeout=WAIT_MS) as download:
        secretariat.get_by_role("button", name="Download the key file").click()
    key_file = tmp_path / download.value.suggested_filename
    download.value.save_as(key_file)
    assert key_file.name == f"wego-teller-key-ga-2017-{definition['secret']['teller_key_id']}.json"
    assert json.loads(key_file.read_text("utf-8"))["type"] == "wego-teller-key"
    secretariat.reload()
    expect(key_card).to_contain_text("exported to a file on")
    secretariat.set_input_files("#remove-file", str(key_file))
    secretariat.get_by_role("button", name="Remove from the server").click()
    expect(secretariat.locator(".flash-success")).to_contain_text("The server no longer holds the tellers' key",
                                                                  timeout=WAIT_MS)
    expect(key_card).to_contain_text("not on the server")
    expect(secretariat.get_by_role("button", name="Download the key file")).to_have_count(0)
    shot(secretariat, "secret-tellers-removed", full_page=True)
    teller_dir = Path(app.instance_path) / "teller-keys"
    assert not any(p.name.startswith(definition["secret"]["teller_key_id"]) for p in teller_dir.iterdir())

    # ---- the chair closes; the count waits for the key file
    asked: list[str] = []
    chair.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    chair.get_by_role("button", name="Close the vote").click()
    expect(chair.locator(".flash-success")).to_have_text(
        f"The secret vote is closed with {PRESENT} envelopes; the tellers' key file is needed to open the sealed "
        "ballots.", timeout=WAIT_MS)
    assert asked == [], asked  # every member present had voted: nothing to confirm
    sealed_card = chair.locator("#sealed")
    expect(sealed_card).to_contain_text(f"{PRESENT} signed envelopes · {PRESENT} sealed ballots in the sealed log")
    expect(chair.locator(".tally")).to_contain_text("not opened yet")
    expect(chair.get_by_role("button", name="Certify and sign")).to_have_count(0)
    assert chair.locator("table.counts").count() == 0
    shot(chair, "secret-chair-closed-waiting-for-key", full_page=True)
    expect(screen.locator("#p-sub")).to_have_text("Voting is closed; the result will be certified", timeout=WAIT_MS)
    expect(screen.locator("#p-result")).to_be_hidden()
    secretariat.reload()
    expect(sealed_list).to_have_text(
        [f"Agenda 6: {QUESTION} — closed, not counted the key is needed to open its {PRESENT} sealed ballots"])

    # ---- the chair opens the sealed ballots with the file, reads the tally
    chair.set_input_files("#key-file", str(key_file))
    chair.get_by_role("button", name="Open the sealed ballots").click()
    expect(chair.locator(".flash-success")).to_have_text(f"The sealed ballots are opened: {PRESENT} valid, 0 invalid.",
                                                         timeout=WAIT_MS)
    expect(sealed_card).to_contain_text(f"{PRESENT} valid")
    expected = _expected_yes()
    elected = [c for c in CANDIDATES if expected[c] >= REQUIRED]
    assert expected["pittsburgh"] == REQUIRED and expected["bucharest"] == REQUIRED - 1  # as planned
    tally = chair.locator(".tally")
    counts = {r.locator("th").inner_text(): r.locator("td").inner_text() for r in tally.locator("table.counts tr").all()}
    assert {label: int(n) for label, n in counts.items() if label in LABELS.values()} == \
        {LABELS[c]: expected[c] for c in CANDIDATES}, counts
    headline = tally.locator(".tally-headline").inner_text()
    assert all(LABELS[c] in headline for c in elected) and "Bucharest" not in headline and "Hebron" not in headline, headline
    expect(tally.locator(".explanation")).to_contain_text(f"at least {REQUIRED} yes")
    # The chair reads the explanation aloud: it names the candidates, not their ids.
    said = tally.locator(".explanation").inner_text()
    assert LABELS["pittsburgh"] in said and not re.search(r"(?<![\w-])(" + "|".join(CANDIDATES) + r")(?![\w-])", said), said
    shot(chair, "secret-chair-tally")
    shot(chair, "secret-chair-tally-full", full_page=True)
    certify = chair.get_by_role("button", name="Certify and sign")
    expect(certify).to_be_in_viewport(ratio=1)  # under time pressure: the result and the button on the first screen
    certify.click()
    expect(chair.locator(".certified")).to_contain_text("signed by the organization and the chair", timeout=WAIT_MS)
    shot(chair, "secret-chair-certified", full_page=True)
    secretariat.reload()
    expect(sealed_list).to_have_text([f"Agenda 6: {QUESTION} — certified {PRESENT} valid, 0 invalid"])
    shot(secretariat, "secret-tellers-counted", full_page=True)

    # ---- the hall sees the certified result
    expect(screen.locator("#p-sub")).to_have_text("Certified result", timeout=WAIT_MS)
    expect(screen.locator("#p-decision")).to_contain_text("Elected", timeout=WAIT_MS)
    lines = screen.locator("#p-counts li").all_inner_texts()
    assert any("Pittsburgh" in line and str(REQUIRED) in line for line in lines), lines
    screen.wait_for_function("() => { const i = document.getElementById('p-qr');"
                             " return !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=WAIT_MS)
    size = screen.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
                           " innerWidth, innerHeight]")
    assert size[0] <= size[2] and size[1] <= size[3], f"the projector scrolls: {size}"
    shot(screen, "secret-projector-certified")

    # The printable certificate names the method.
    public = console.watch(hall.new_page())
    public.set_viewport_size(LAPTOP)
    public.goto(f"{base}/results/votes/{vote_id}/certificate")
    expect(public.locator(".cert-headline")).to_contain_text("Elected")
    expect(public.locator("main")).to_contain_text("sealed")
    shot(public, "secret-certificate", full_page=True)

    # ---- a phone finds its tracker in the published record, in the browser
    tallinn = phones["Tallinn"]
    tallinn.goto(f"{base}/verify?meeting=ga-2017")
    tallinn.fill("#rc-text", json.dumps(results["Tallinn"]["receipt"]))
    tallinn.click("#rc-check")
    tallinn.wait_for_function("() => !document.getElementById('rc-result').hidden && "
                              "document.getElementById('rc-progress').textContent === ''", timeout=WAIT_MS)
    assert tallinn.inner_text("#rc-verdict") == f"Your sealed vote is in the count of Agenda 6 ({QUESTION})."
    assert results["Tallinn"]["tracker_code"] in tallinn.inner_text("#rc-detail")
    tallinn.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(tallinn, "secret-phone-tracker-found")
    _fits_width(tallinn)

    # ---- the observers' record: envelopes, sealed ballots in tracker order, every phone's tracker
    public.goto(f"{base}/results/ga-2017")
    with public.expect_download(timeout=WAIT_MS) as download:
        public.get_by_role("link", name="election record (JSON)").click()
    record_path = tmp_path / "record-ga-2017.json"
    download.value.save_as(record_path)
    record = json.loads(record_path.read_text("utf-8"))
    (item,) = [i for i in record["items"] if i["agenda_item"]["title"] == ITEM_TITLE]
    (vote,) = item["votes"]
    envelopes = [json.loads(b["ballot"]) for b in vote["ballots"]]
    assert len(envelopes) == PRESENT and all(e["choice"] == ENVELOPE_CHOICE for e in envelopes)
    section = record["secret"]["votes"][f"v{vote_id}"]
    in_record = [_tracker_of(s) for s in section["sealed"]]
    assert len(in_record) == PRESENT and in_record == sorted(in_record), "sealed ballots not in tracker order"
    assert set(in_record) == trackers
    for city, r in results.items():
        assert r["tracker"] in in_record, city
    assert section["checkpoint"]["size"] == PRESENT
    assert section["opening"]["invalid"] == 0 and len(section["opening"]["choices"]) == PRESENT
    assert section["opening"]["choices"] == sorted(section["opening"]["choices"], key=canonical_bytes)
    assert [k["private_key"] for k in record["secret"]["teller_keys"]] == [None]  # the key was not published
    assert not any(t in json.dumps(record) for t in trackers), "a tracker is written in the record"

    # ---- privacy: no row joins a member or a delegate to a tracker or a choice
    rows = all_rows(session)
    sealed_rows = [r for r in rows["sealed_ballot"] if r["vote_id"] == vote_id]
    assert sorted(r["tracker"] for r in sealed_rows) == sorted(trackers)
    needles = trackers | {t[:20] for t in trackers} | set(section["sealed"])
    assert_only_sealed_ballots_hold(rows, needles)
    for envelope_row in rows["ballot"]:
        assert json.loads(bytes(envelope_row["bytes"]))["choice"] == ENVELOPE_CHOICE
    # A choice (a whole approval ballot) is stored only in the sorted list of what the tellers opened,
    # with no name, time or tracker beside it: never in a row beside a member or a delegate.
    opened = section["opening"]["choices"]
    phone_ballots = [_full_ballot(p) for p in PHONES.values()]
    places = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                for path, parent in _choices_in(_parsed(value), phone_ballots):
                    places.append((table, column))
                    assert path[-2:-1] == ("choices",) and parent == opened, (table, column, path)
    assert ("vote", "opening") in places and all(column != "bytes" for _table, column in places), places
    for log in caplog.records:
        message = log.getMessage()
        assert not any(n in message for n in needles), message

    assert not console.unexpected()
    hall.close()
    chair.context.close()
    secretariat.context.close()

    # ---- the record verifies (ballots.record and the offline verifier observers run)
    report = verify_record(record)
    assert report.ok, report.to_text()
    run = subprocess.run([sys.executable, "-m", "ballots.verify", str(record_path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
