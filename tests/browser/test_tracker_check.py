"""Secret ballots on /verify in a real browser (chromium at 360×740): a delegate's receipt of a secret
vote is the envelope's receipt plus the tracker (SHA-256 of the sealed choice). The page checks both
against the published record, in the browser: the envelope as any receipt, and the tracker's sealed
ballot among the vote's sealed ballots, the sealed log WeGO signed, one sealed ballot per envelope
and the certificate's count of them (CRYPTO_DESIGN.md "Secret ballots").

A General Assembly meeting is run over HTTP with Python keys (tests/voting/chair_helpers.py): one
secret motion, closed (the server holds the tellers' key, so the close opens the sealed ballots) and
certified, and one open motion. The page may ask the server for nothing but itself, static files,
where a vote's record is and the record; a tracker never leaves the browser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.pages import keep_receipt
from tests.voting.chair_helpers import StaffDevice, open_vote, phone_for, staff_device
from voting.services import attendance, roster
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
SECRET_Q = "Does the General Assembly elect Ulaanbaatar to host the 2028 Congress?"
OPEN_Q = "Does the General Assembly adopt the minutes of the 5th General Assembly?"
CITIES = ["Seoul", "Ulaanbaatar", "Chengdu", "Jakarta", "Tbilisi"]
CHOICES = ["yes", "no", "yes", "abstain", "yes"]
# /r/<vote>/<leaf> only redirects to /verify?vote=&leaf= (the #t= fragment is never sent).
ALLOWED = [re.compile(p) for p in (r"^/verify$", r"^/static/", r"^/api/public/votes/[0-9]+/where$",
                                   r"^/results/[^/]+/record\.json$", r"^/r/[0-9]+/[0-9a-f]{64}$")]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # As tests/browser/test_receipt_check.py: the meeting is built with Flask test clients, which send
    # no CSRF token and keep no Secure cookie over http; the page under test only reads.
    return {**app_config, "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}


def _item(session: Any, meeting: Any, number: str, title: str) -> Any:
    item = meeting_service.add_agenda_item(meeting, {"number": number, "title": title, "decision": "motion"})
    session.commit()
    return item


def _certified(chair: StaffDevice, item_id: int, question: str, phones: list[Any], choices: list[str],
               secret: bool) -> tuple[int, list[Any]]:
    vote_id = open_vote(chair, item_id, question, secret=secret)
    answers = [phone.vote(vote_id, choice) for phone, choice in zip(phones, choices, strict=True)]
    assert chair.client.post(f"/chair/votes/{vote_id}/close").status_code == 302
    chair.certify(vote_id)
    return vote_id, answers


@pytest.fixture
def meeting(app: Any, session: Any, make_member: Any, make_staff: Any) -> dict[str, Any]:
    """A General Assembly with five cities present, a certified secret motion and a certified open one."""
    ga = meeting_service.create_meeting({
        "key": "ga-2024", "title": "7th General Assembly", "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2024-09-01T09:00+09:00", "ends_at": "2024-09-04T18:00+09:00"})
    session.commit()
    secret_item = _item(session, ga, "6", "Host city of the 2028 Congress")
    open_item = _item(session, ga, "2", "Minutes of the previous General Assembly")
    phones = []
    for name in CITIES:
        rep = roster.add_delegate(make_member(name), {"display_name": f"{name} representative",
                                                      "email": f"rep@{name.lower()}.example", "voting": "yes"})
        attendance.set_presence(ga, rep, True, via="desk")
        session.commit()
        phones.append(phone_for(app, session, rep))
    chair = staff_device(app, make_staff, "chair")
    secret_vote, secret_answers = _certified(chair, secret_item.id, SECRET_Q, phones, CHOICES, secret=True)
    open_vote_id, open_answers = _certified(chair, open_item.id, OPEN_Q, phones[:3], ["yes", "yes", "no"], secret=False)
    session.commit()
    session.rollback()  # the test thread holds no transaction while the live server reads
    for answer in secret_answers:  # what the backend answers a secret ballot with
        assert answer["secret"] is True and re.fullmatch(r"[0-9a-f]{64}", answer["tracker"])
        assert re.fullmatch(r"[A-Z2-7]{5}-[A-Z2-7]{5}", answer["tracker_code"])
    assert len({a["tracker"] for a in secret_answers}) == len(CITIES)
    return {"key": ga.key, "title": ga.title, "secret": secret_vote, "answers": secret_answers,
            "open": open_vote_id, "open_answers": open_answers}


def _receipt_file(answer: dict[str, Any]) -> dict[str, Any]:
    """A secret vote's receipt file, as vote.js downloads it: the receipt with the tracker beside it."""
    return {**answer["receipt"], "tracker": answer["tracker"]}


def _watch_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def _off_limits(seen: list[str], base: str) -> list[str]:
    return [u for u in seen if not (u.startswith(base) and any(p.search(urlsplit(u).path) for p in ALLOWED))]


def _sent(seen: list[str], secret: str) -> list[str]:
    """The requests that carried the text to the server (in the path or query; a fragment is never sent)."""
    return [u for u in seen if secret in urlsplit(u).path or secret in urlsplit(u).query]


def _wait(page: Any) -> str:
    page.wait_for_function("() => !document.getElementById('rc-result').hidden && "
                           "document.getElementById('rc-progress').textContent === ''", timeout=WAIT_MS)
    return str(page.inner_text("#rc-verdict"))


def _check(page: Any, text: str) -> str:
    """Paste the text, press the button, and wait for the verdict; returns it."""
    page.fill("#rc-text", text)
    page.click("#rc-check")
    return _wait(page)


def _marks(page: Any) -> dict[str, int]:
    return {cls: page.locator(f"#rc-checks li.{cls}").count() for cls in ("rc-pass", "rc-fail", "rc-skip")}


def _said(page: Any, cls: str) -> list[str]:
    """The words of the checks marked cls (rc-pass, rc-fail, rc-skip), without the screen-reader prefix."""
    return list(page.locator(f"#rc-checks li.{cls} .rc-text").evaluate_all("els => els.map(e => e.lastChild.textContent)"))


def _tone(page: Any) -> str:
    return next(c for c in (page.get_attribute("#rc-result", "class") or "").split() if c in ("rc-ok", "rc-bad", "rc-warn"))


def _no_choice_shown(page: Any) -> None:
    """The verdict never names a choice (and so never one beside a tracker)."""
    shown = page.inner_text("#rc-result")
    assert not re.search(r"\b(yes|no|abstain|abstained|adopted|rejected)\b", shown, re.IGNORECASE), shown


def _tracker_of(sealed_b64url: str) -> str:
    """The tracker of a sealed ballot as the record holds it (base64url without padding)."""
    return hashlib.sha256(base64.urlsafe_b64decode(sealed_b64url + "=" * (-len(sealed_b64url) % 4))).hexdigest()


def _other_tracker(trackers: set[str], tracker: str) -> str:
    """A tracker of the same shape (64 hex) that is none of the vote's."""
    for digit in "0123456789abcdef":
        changed = digit + tracker[1:]
        if changed not in trackers:
            return changed
    raise AssertionError("unreachable")


SEALED_PASSES = [
    "Your sealed vote (tracker {code}) is among the record's 5 sealed ballots",
    "The record's 5 sealed ballots give the root of the sealed log's checkpoint",
    "The sealed log's checkpoint is signed by WeGO",
    "There are as many sealed ballots (5) as signed envelopes (5)",
    "The certificate counts the same 5 sealed ballots, of the same sealed log",
    "The tellers opened all 5 sealed ballots, as the certificate says",
]


def test_a_secret_receipt_is_checked_with_its_tracker(meeting: dict[str, Any], live_server: str, phone: Any,
                                                      console: Any, shot: Any) -> None:
    vote, answers = meeting["secret"], meeting["answers"]
    trackers = {a["tracker"] for a in answers}
    mine = answers[1]
    page = console.watch(phone.new_page())
    seen = _watch_requests(page)
    page.goto(f"{live_server}/verify")
    assert page.locator("#rc-secret").is_hidden()

    # The receipt file the phone downloaded: the envelope's receipt and the tracker.
    verdict = _check(page, json.dumps(_receipt_file(mine), indent=2))
    assert verdict == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert _tone(page) == "rc-ok"
    assert _marks(page) == {"rc-pass": 8 + 6, "rc-fail": 0, "rc-skip": 0}
    passed = _said(page, "rc-pass")
    assert passed[-6:] == [line.format(code=mine["tracker_code"]) for line in SEALED_PASSES]
    detail = page.inner_text("#rc-detail")
    assert detail == (f"Your sealed vote, tracker {mine['tracker_code']}, is one of the 5 sealed ballots that the "
                      f"tellers opened and counted, and your signed envelope is ballot 2 of 5. Receipt {mine['short_code']}. "
                      "Every check below was done in this browser.")
    secret_note = page.locator("#rc-secret")
    assert secret_note.is_visible()
    assert secret_note.inner_text().startswith("This page cannot show what you chose: the vote is secret.")
    _no_choice_shown(page)
    assert page.evaluate("document.activeElement.id") == "rc-verdict"
    page.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(page, "verify-secret-included", full_page=True)
    shot(page, "verify-secret-included-phone")  # what the phone's screen shows first: 360×740
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling at 360 px

    # The ballot API's answer as the phone keeps it ({receipt, tracker, tracker_code, ...}) reads the same.
    assert _check(page, json.dumps(answers[4])).startswith("Your sealed vote is in the count of Agenda 6 ")
    assert mine["tracker_code"] not in page.inner_text("#rc-result")
    assert answers[4]["tracker_code"] in page.inner_text("#rc-detail")

    # A tracker changed (still 64 hex characters, but no sealed ballot of the vote has it).
    changed = _receipt_file(mine)
    changed["tracker"] = _other_tracker(trackers, mine["tracker"])
    verdict = _check(page, json.dumps(changed, indent=2))
    assert verdict == f"Your sealed vote is not in the published record of Agenda 6 ({SECRET_Q})."
    assert _tone(page) == "rc-bad"
    assert page.locator("#rc-secret").is_hidden()
    code = page.evaluate("t => { const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'; let bits = '', out = '';"
                         " for (const h of t.match(/../g)) bits += parseInt(h, 16).toString(2).padStart(8, '0');"
                         " for (let i = 0; i < 50; i += 5) out += a[parseInt(bits.slice(i, i + 5), 2)];"
                         " return out.slice(0, 5) + '-' + out.slice(5); }", changed["tracker"])
    assert page.inner_text("#rc-detail").startswith(
        f"Your signed envelope is there, so your vote was received, but no sealed ballot of this vote has your tracker {code}.")
    assert "show it to the Secretariat and the observers" in page.inner_text("#rc-detail")
    assert _said(page, "rc-fail") == [f"Your sealed vote (tracker {code}) is among the record's 5 sealed ballots"]
    assert _marks(page) == {"rc-pass": 8 + 5, "rc-fail": 1, "rc-skip": 0}  # the envelope and the sealed log hold
    page.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(page, "verify-secret-tracker-not-found", full_page=True)
    shot(page, "verify-secret-tracker-not-found-phone")

    # A tracker that is not hex at all: not a receipt, said at once.
    garbled = {**_receipt_file(mine), "tracker": mine["tracker_code"]}
    page.fill("#rc-text", json.dumps(garbled))
    page.click("#rc-check")
    assert page.inner_text("#rc-input-error") == "This is not a receipt: its tracker is not 64 lowercase hex characters."
    assert page.locator("#rc-result").is_hidden()

    # The envelope's receipt alone (as the server lists it, without the tracker): the envelope holds,
    # and the page says that the sealed vote was not looked for.
    verdict = _check(page, json.dumps(mine["receipt"]))
    assert verdict == f"Your envelope is included as ballot 2 of 5 in the certified result of Agenda 6 ({SECRET_Q})."
    assert _tone(page) == "rc-warn"
    assert page.inner_text("#rc-detail").startswith("This is a secret vote: your choice was sealed apart from your envelope.")
    assert _said(page, "rc-skip") == ["Your sealed vote was not looked for: this receipt holds no tracker. "
                                      "The receipt file saved on the phone that voted holds it"]
    assert _marks(page) == {"rc-pass": 8 + 5, "rc-fail": 0, "rc-skip": 1}

    # A tracker added to a receipt of a vote that is not secret.
    open_receipt = {**meeting["open_answers"][0]["receipt"], "tracker": mine["tracker"]}
    verdict = _check(page, json.dumps(open_receipt))
    assert verdict == f"This receipt names a tracker, but vote v{meeting['open']} is not a secret ballot."
    assert _said(page, "rc-fail") == [f"Vote v{meeting['open']} is a secret ballot, as the receipt's tracker says"]
    # The open vote's own receipt is unchanged by all this.
    assert _check(page, json.dumps(meeting["open_answers"][0]["receipt"])) == (
        f"Included as ballot 1 of 3 in the certified result of Agenda 2 ({OPEN_Q}).")
    assert _marks(page) == {"rc-pass": 8, "rc-fail": 0, "rc-skip": 0}

    # The address in the receipt's QR code, with the tracker as its #t= fragment, pasted or scanned.
    qr = f"{live_server}/r/{vote}/{mine['receipt']['leaf_hash']}#t={mine['tracker']}"
    assert _check(page, qr) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert _marks(page) == {"rc-pass": 4 + 6, "rc-fail": 0, "rc-skip": 1}  # no signed checkpoint in a QR code
    assert page.inner_text("#rc-detail").startswith(f"Your sealed vote, tracker {mine['tracker_code']}, is one of the 5 ")
    assert page.inner_text("#rc-detail").endswith("your signed envelope is ballot 2 of 5. Every check below was done in this browser.")
    # The QR address without its fragment: the envelope only.
    assert _check(page, qr.split("#")[0]).startswith("Your envelope is included as ballot 2 of 5 ")

    # Opened: /r/... redirects to /verify?vote=&leaf=, the browser keeps the fragment, the page checks at once.
    page.goto(qr)
    assert _wait(page) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert urlsplit(page.url).path == "/verify" and page.url.endswith(f"#t={mine['tracker']}")
    assert page.input_value("#rc-text") == qr
    assert _marks(page) == {"rc-pass": 4 + 6, "rc-fail": 0, "rc-skip": 1}
    _no_choice_shown(page)
    shot(page, "verify-secret-qr", full_page=True)

    # A tracker alone, on the meeting's own check page (it names no vote: the page finds it).
    page.goto(f"{live_server}/verify")
    page.fill("#rc-text", mine["tracker"])
    page.click("#rc-check")
    assert page.inner_text("#rc-input-error").startswith("This is not a receipt: a tracker alone can only be looked for "
                                                         "in one meeting's record.")
    page.goto(f"{live_server}/verify?meeting={meeting['key']}")
    assert _check(page, mine["tracker"].upper()) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert page.inner_text("#rc-detail").startswith(f"Tracker {mine['tracker_code']} is one of the 5 sealed ballots ")
    assert _said(page, "rc-skip") == ["Your signed envelope was not checked: a tracker alone does not name it. "
                                      "Paste the whole receipt file to check it too"]
    assert _marks(page)["rc-fail"] == 0
    assert _check(page, changed["tracker"]) == f"No sealed vote with this tracker is in the published record of {meeting['title']}."
    # The tracker code the phone showed (10 characters), as a delegate types it: the page finds the
    # whole tracker it names and checks that.
    for typed in (mine["tracker_code"], mine["tracker_code"].lower().replace("-", " ")):
        assert _check(page, typed) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
        assert page.inner_text("#rc-detail").startswith(f"Tracker {mine['tracker_code']} is one of the 5 sealed ballots ")
        assert _marks(page)["rc-fail"] == 0 and _said(page, "rc-pass")[-6:] == [
            line.format(code=mine["tracker_code"]) for line in SEALED_PASSES]
    shot(page, "verify-secret-tracker-code-phone")
    # The receipt's code is not a tracker code: the page says which code it wants.
    assert _check(page, mine["short_code"]) == f"No sealed vote with this tracker is in the published record of {meeting['title']}."
    assert page.inner_text("#rc-detail").startswith("Check that it is the tracker code your phone showed for your sealed "
                                                    "vote (not the receipt code)")
    assert _said(page, "rc-fail") == [f"A secret vote of {meeting['title']} has a sealed ballot with tracker {mine['short_code']}"]
    page.goto(f"{live_server}/verify")
    page.fill("#rc-text", mine["tracker_code"])
    page.click("#rc-check")
    assert page.inner_text("#rc-input-error").startswith("This is not a receipt: a tracker code alone can only be looked "
                                                         "for in one meeting's record.")
    # The same page with a #t= fragment (no reload: the page follows the address's fragment).
    page.goto(f"{live_server}/verify?meeting={meeting['key']}#t={answers[0]['tracker']}")
    page.wait_for_function("code => document.getElementById('rc-detail').textContent.includes(code)",
                           arg=answers[0]["tracker_code"], timeout=WAIT_MS)
    assert _wait(page) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    # And loaded afresh with it.
    page.goto(f"{live_server}/verify?meeting={meeting['key']}&from=qr#t={answers[2]['tracker']}")
    assert _wait(page) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert answers[2]["tracker_code"] in page.inner_text("#rc-detail")

    # Only the page, static files, the vote's whereabouts and the record were asked for; no tracker
    # was sent to the server, not even in the QR address that was opened.
    assert not _off_limits(seen, live_server), _off_limits(seen, live_server)
    assert any(u.endswith("/record.json") for u in seen)
    for answer in answers:
        assert not _sent(seen, answer["tracker"]), _sent(seen, answer["tracker"])
    assert not _sent(seen, changed["tracker"])
    assert not _sent(seen, mine["tracker_code"]) and not _sent(seen, mine["tracker_code"].replace("-", ""))


def test_a_secret_receipt_kept_on_this_phone(meeting: dict[str, Any], live_server: str, phone: Any,
                                             console: Any, shot: Any) -> None:
    answer = meeting["answers"][3]
    page = console.watch(phone.new_page())
    seen = _watch_requests(page)
    page.goto(f"{live_server}/verify")
    # The phone keeps the ballot API's answer, tracker included, as vote.js stores it.
    keep_receipt(page, answer)
    page.reload()
    stored = page.locator("#rc-stored-list li")
    stored.first.wait_for(timeout=WAIT_MS)
    assert stored.count() == 1
    text = stored.first.inner_text()
    assert answer["short_code"] in text and SECRET_Q in text
    assert f"Secret ballot · your tracker: {answer['tracker_code']}" in text
    shot(page, "verify-secret-stored", full_page=True)
    stored.first.locator("button").focus()
    page.keyboard.press("Enter")
    assert _wait(page) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert _marks(page) == {"rc-pass": 8 + 6, "rc-fail": 0, "rc-skip": 0}
    assert answer["tracker_code"] in page.inner_text("#rc-detail")
    assert json.loads(page.input_value("#rc-text")) == _receipt_file(answer)
    assert not _off_limits(seen, live_server), _off_limits(seen, live_server)
    assert not _sent(seen, answer["tracker"])


def test_a_record_whose_sealed_ballots_were_tampered_with(meeting: dict[str, Any], live_server: str,
                                                          new_phone: Any, console: Any) -> None:
    vote, answers = meeting["secret"], meeting["answers"]
    mine = answers[0]
    record_url = f"{live_server}/results/{meeting['key']}/record.json"

    def tampered(change: Any) -> Any:
        page = console.watch(new_phone().new_page())

        def serve(route: Any) -> None:
            record = route.fetch().json()
            change(record["secret"]["votes"][f"v{vote}"], record)
            route.fulfill(status=200, content_type="application/json", body=json.dumps(record))

        page.route(record_url, serve)
        page.goto(f"{live_server}/verify")
        return page

    # Another delegate's sealed ballot removed from the published record: the voter's own is still
    # there, but the sealed log, the count and the certificate no longer agree with the record.
    def drop_another(part: dict[str, Any], record: dict[str, Any]) -> None:
        part["sealed"] = [s for s in part["sealed"] if _tracker_of(s) != answers[2]["tracker"]]
        assert len(part["sealed"]) == 4

    page = tampered(drop_another)
    verdict = _check(page, json.dumps(_receipt_file(mine)))
    assert verdict == (f"The sealed ballots in the published record do not match the sealed log WeGO signed for vote v{vote}.")
    assert _said(page, "rc-fail") == [
        "The record's 4 sealed ballots give the root of the sealed log's checkpoint",
        "There are as many sealed ballots (4) as signed envelopes (5)",
        "The certificate counts the same 4 sealed ballots, of the same sealed log",
        "The tellers opened all 4 sealed ballots, as the certificate says"]
    assert f"Your sealed vote (tracker {mine['tracker_code']}) is among the record's 4 sealed ballots" in _said(page, "rc-pass")

    # The voter's own sealed ballot removed: that is what the page says first.
    def drop_mine(part: dict[str, Any], record: dict[str, Any]) -> None:
        part["sealed"] = [s for s in part["sealed"] if _tracker_of(s) != mine["tracker"]]
        assert len(part["sealed"]) == 4

    page = tampered(drop_mine)
    assert _check(page, json.dumps(_receipt_file(mine))) == f"Your sealed vote is not in the published record of Agenda 6 ({SECRET_Q})."

    # The sealed log's checkpoint given another signature (one bit of it).
    def resign(part: dict[str, Any], record: dict[str, Any]) -> None:
        sig = base64.b64decode(part["checkpoint"]["signature"])
        part["checkpoint"]["signature"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()

    page = tampered(resign)
    verdict = _check(page, json.dumps(_receipt_file(mine)))
    assert verdict == f"The sealed log's checkpoint of vote v{vote} does not carry WeGO's signature."
    assert _said(page, "rc-fail") == ["The sealed log's checkpoint is signed by WeGO",
                                      "The certificate counts the same 5 sealed ballots, of the same sealed log"]

    # The record without the sealed part of the vote.
    page = tampered(lambda part, record: record["secret"]["votes"].clear())
    assert _check(page, json.dumps(_receipt_file(mine))) == (
        f"The published record lacks the sealed ballots of secret vote v{vote}.")

    # A browser whose WebCrypto has no Ed25519: the sealed vote is found, the signatures are named as
    # not checked.
    old = new_phone()
    old.add_init_script("""
      const importKey = SubtleCrypto.prototype.importKey;
      SubtleCrypto.prototype.importKey = function (format, data, algorithm, ...rest) {
        const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
        if (name === "Ed25519") return Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
        return importKey.call(this, format, data, algorithm, ...rest);
      };
    """)
    page = console.watch(old.new_page())
    page.goto(f"{live_server}/verify")
    assert _check(page, json.dumps(_receipt_file(mine))) == f"Your sealed vote is in the count of Agenda 6 ({SECRET_Q})."
    assert _tone(page) == "rc-warn"
    assert "This browser cannot check Ed25519 signatures" in page.inner_text("#rc-detail")
    assert "WeGO's signature on the sealed log's checkpoint could not be checked in this browser" in _said(page, "rc-skip")
    assert _marks(page)["rc-fail"] == 0
