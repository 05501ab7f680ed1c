"""Issue 7 item 3 in a real browser (chromium at 360×740): a receipt is checked on /verify against
the published election record, in the browser. Two General Assembly meetings are run over HTTP
with Python keys (tests/voting/chair_helpers.py); the receipts are the ones the ballot API returned.

The page may ask the server for nothing but itself, static files, where a vote's record is
(/api/public/votes/<id>/where) and the record: the verdict is computed in the browser."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from ballots.log import inclusion_proof, leaf_hash, verify_inclusion
from ballots.log import root as merkle_root
from tests.browser.pages import keep_receipt
from tests.voting.chair_helpers import StaffDevice, open_vote, phone_for, staff_device
from voting.services import attendance, roster
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
QUESTION_A = "Does the General Assembly adopt the budget for 2026?"
QUESTION_B = "Does the General Assembly admit Kazan as a member?"
CITIES = ["Seoul", "Ulaanbaatar", "Chengdu", "Jakarta", "Tbilisi"]
ALLOWED = [re.compile(p) for p in (r"^/verify$", r"^/static/", r"^/api/public/votes/[0-9]+/where$",
                                   r"^/results/[^/]+/record\.json$")]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The meetings are built with Flask test clients (chair_helpers), which send no CSRF token and
    # keep no Secure cookie over http; the page under test only reads (GET), so neither matters here.
    return {**app_config, "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}


def _ga(session: Any, key: str, title: str, item_title: str) -> tuple[Any, Any]:
    meeting = meeting_service.create_meeting({
        "key": key, "title": title, "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2020-07-01T09:00+09:00", "ends_at": "2020-07-04T18:00+09:00"})
    item = meeting_service.add_agenda_item(meeting, {"number": "4", "title": item_title, "decision": "motion"})
    session.commit()
    return meeting, item


def _certified_vote(chair: StaffDevice, item_id: int, question: str, phones: list[Any], choices: list[str]) -> tuple[int, list[Any]]:
    """Open, vote from every phone, close and certify; the ballot API's answers, in casting order."""
    vote_id = open_vote(chair, item_id, question)
    answers = [phone.vote(vote_id, choice) for phone, choice in zip(phones, choices, strict=True)]
    assert chair.client.post(f"/chair/votes/{vote_id}/close").status_code == 302
    chair.certify(vote_id)
    return vote_id, answers


@pytest.fixture
def meetings(app: Any, session: Any, make_member: Any, make_staff: Any) -> dict[str, Any]:
    """Two General Assemblies with the same five cities present, each with one certified motion."""
    a, item_a = _ga(session, "ga-2020", "5th General Assembly", "Budget of the Secretariat for 2026")
    b, item_b = _ga(session, "ga-2022", "6th General Assembly", "Admission of new members")
    phones = []
    for name in CITIES:
        member = make_member(name)
        rep = roster.add_delegate(member, {"display_name": f"{name} representative", "email": f"rep@{name.lower()}.example",
                                           "voting": "yes"})
        attendance.set_presence(a, rep, True, via="desk")
        attendance.set_presence(b, rep, True, via="desk")
        session.commit()
        phones.append(phone_for(app, session, rep))
    chair = staff_device(app, make_staff, "chair")
    vote_a, answers_a = _certified_vote(chair, item_a.id, QUESTION_A, phones, ["yes", "yes", "no", "yes", "abstain"])
    vote_b, answers_b = _certified_vote(chair, item_b.id, QUESTION_B, phones[:3], ["yes", "no", "yes"])
    session.commit()
    session.rollback()  # the test thread holds no transaction while the live server reads
    return {"a": {"key": a.key, "vote": vote_a, "answers": answers_a},
            "b": {"key": b.key, "vote": vote_b, "answers": answers_b}}


def _watch_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def _off_limits(seen: list[str], base: str) -> list[str]:
    return [u for u in seen if not (u.startswith(base) and any(p.search(urlsplit(u).path) for p in ALLOWED))]


def _check(page: Any, text: str) -> str:
    """Paste the text, press the button, and wait for the verdict; returns it."""
    page.fill("#rc-text", text)
    page.click("#rc-check")
    page.wait_for_function("() => !document.getElementById('rc-result').hidden && "
                           "document.getElementById('rc-progress').textContent === ''", timeout=WAIT_MS)
    return str(page.inner_text("#rc-verdict"))


def _marks(page: Any) -> dict[str, int]:
    return {cls: page.locator(f"#rc-checks li.{cls}").count() for cls in ("rc-pass", "rc-fail", "rc-skip")}


def _said(page: Any, cls: str) -> list[str]:
    """The words of the checks marked cls (rc-pass, rc-fail, rc-skip), without the screen-reader prefix."""
    return list(page.locator(f"#rc-checks li.{cls} .rc-text").evaluate_all("els => els.map(e => e.lastChild.textContent)"))


def _flip(hex_text: str) -> str:
    return ("1" if hex_text[0] == "0" else "0") + hex_text[1:]


def test_receipts_are_checked_in_the_browser(meetings: dict[str, Any], live_server: str, phone: Any,
                                            console: Any, shot: Any) -> None:
    a, b = meetings["a"], meetings["b"]
    page = console.watch(phone.new_page())
    seen = _watch_requests(page)
    page.goto(f"{live_server}/verify")
    assert page.locator("h1").inner_text() == "Check a receipt"
    assert page.locator("#rc-scan").is_hidden()  # this chromium has no BarcodeDetector
    assert page.locator("#rc-stored").is_hidden()  # nothing kept on this phone
    shot(page, "verify-empty", full_page=True)

    # A real receipt, as the ballot API returned it: ballot 3 of 5.
    receipt = a["answers"][2]["receipt"]
    verdict = _check(page, json.dumps(receipt, indent=2))
    assert verdict == (f"Included as ballot 3 of 5 in the certified result of Agenda 4 ({QUESTION_A}).")
    assert _marks(page) == {"rc-pass": 8, "rc-fail": 0, "rc-skip": 0}
    assert "rc-ok" in (page.get_attribute("#rc-result", "class") or "")
    assert page.evaluate("document.activeElement.id") == "rc-verdict"
    assert a["answers"][2]["short_code"] in page.inner_text("#rc-detail")
    assert page.get_attribute("#rc-source a", "href") == f"/results/{a['key']}/record.json"
    page.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(page, "verify-included", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling at 360 px

    # A downloaded receipt file, opened with the file chooser (vote.js writes it with indent 2).
    page.set_input_files("#rc-file", files=[{"name": f"receipt-{a['answers'][3]['short_code']}.json",
                                             "mimeType": "application/json",
                                             "buffer": json.dumps(a["answers"][3]["receipt"], indent=2).encode()}])
    # The previous verdict is still on screen: wait for this file's verdict to replace it.
    page.wait_for_function("() => /ballot 4 of 5/.test(document.getElementById('rc-verdict').textContent)",
                           timeout=WAIT_MS)
    assert page.inner_text("#rc-verdict").startswith("Included as ballot 4 of 5 ")

    # The phone's stored answer (the receipt inside it) is read as well.
    assert _check(page, json.dumps(a["answers"][0])).startswith("Included as ballot 1 of 5 ")

    # One hex digit of the leaf hash flipped.
    changed = copy.deepcopy(receipt)
    changed["leaf_hash"] = _flip(changed["leaf_hash"])
    verdict = _check(page, json.dumps(changed))
    assert verdict.startswith("The receipt was changed: ")
    assert f"its ballot is not in the published record of vote v{a['vote']}" in verdict
    assert "its proof no longer leads from its ballot to the checkpoint WeGO signed" in verdict
    assert "rc-bad" in (page.get_attribute("#rc-result", "class") or "")
    failed = _said(page, "rc-fail")
    assert any("proof leads from its ballot" in f for f in failed)
    assert any("Ballot 3 of the record is this receipt's ballot" in f for f in failed)
    page.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(page, "verify-changed", full_page=True)

    # The index changed: the ballot is found, but not where the receipt says.
    moved = copy.deepcopy(receipt)
    moved["index"] = 1
    verdict = _check(page, json.dumps(moved))
    assert verdict.startswith("The receipt was changed: it names ballot 2, but its ballot is ballot 3 of the record")
    moved["index"] = 7
    assert _check(page, json.dumps(moved)).startswith("The receipt was changed: it names ballot 8, but its ballot is ballot 3")

    # The checkpoint's signature altered (one byte of it).
    forged = copy.deepcopy(receipt)
    sig = base64.b64decode(forged["checkpoint"]["signature"])
    forged["checkpoint"]["signature"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    verdict = _check(page, json.dumps(forged))
    assert verdict == "The receipt was changed: its checkpoint does not carry WeGO's signature."
    assert _said(page, "rc-fail") == [
        "The receipt's checkpoint (3 ballots) is signed by WeGO",
        "The receipt's checkpoint matches the first 3 ballots of the record"]

    # A receipt of the second meeting is good on its own...
    other = b["answers"][1]["receipt"]
    assert _check(page, json.dumps(other)) == (
        f"Included as ballot 2 of 3 in the certified result of Agenda 4 ({QUESTION_B}).")
    # ...but not in the first meeting's record.
    page.goto(f"{live_server}/verify?meeting={a['key']}")
    assert "5th General Assembly" in page.inner_text(".rc-scope")
    verdict = _check(page, json.dumps(other))
    assert verdict == "This receipt belongs to another meeting's record."
    assert page.inner_text("#rc-detail") == f"The record of 5th General Assembly holds no vote v{b['vote']}."
    shot(page, "verify-other-meeting", full_page=True)
    # The first meeting's own receipts still pass there.
    assert _check(page, json.dumps(receipt)).startswith("Included as ballot 3 of 5 ")

    # A vote this server never had.
    console.allow(r"status of 404 .*/api/public/votes/999/where")
    unknown = copy.deepcopy(receipt)
    unknown["vote"] = "v999"
    page.goto(f"{live_server}/verify")
    assert _check(page, json.dumps(unknown)) == "This server has no vote v999."

    # Not a receipt at all: said at once, nothing fetched.
    page.fill("#rc-text", "hello")
    page.click("#rc-check")
    assert page.inner_text("#rc-input-error").startswith("This is not a receipt: ")
    truncated = json.dumps(receipt)[:-3]
    page.fill("#rc-text", truncated)
    page.click("#rc-check")
    assert page.inner_text("#rc-input-error") == "This is not a receipt: the text is not complete JSON."

    # A receipt QR's address: the ballot is looked up by its leaf hash.
    qr = f"{live_server}/r/{a['vote']}/{receipt['leaf_hash']}"
    page.goto(f"{live_server}/verify")
    assert _check(page, qr).startswith("Included as ballot 3 of 5 ")
    assert _marks(page) == {"rc-pass": 4, "rc-fail": 0, "rc-skip": 1}

    # Only the page, static files, the vote's whereabouts and the record were asked for.
    assert not _off_limits(seen, live_server), _off_limits(seen, live_server)
    assert any("/where" in u for u in seen) and any(u.endswith("/record.json") for u in seen)


def test_a_receipt_kept_on_this_phone_and_a_scanned_qr(meetings: dict[str, Any], live_server: str, new_phone: Any,
                                                      console: Any, shot: Any) -> None:
    a = meetings["a"]
    answer = a["answers"][4]
    context = new_phone()
    # A camera that shows the receipt's QR code, where the browser has BarcodeDetector.
    qr_text = f"{live_server}/r/{a['vote']}/{answer['receipt']['leaf_hash']}"
    context.add_init_script("""
      window.BarcodeDetector = class {
        static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
        detect() { return Promise.resolve(window.__shown ? [{ rawValue: window.__shown }] : []); }
      };
      navigator.mediaDevices.getUserMedia = function () {
        var c = document.createElement("canvas"); c.width = 64; c.height = 64;
        c.getContext("2d").fillRect(0, 0, 64, 64);
        return Promise.resolve(c.captureStream(5));
      };
    """)
    page = console.watch(context.new_page())
    seen = _watch_requests(page)
    page.goto(f"{live_server}/verify")
    # The phone keeps its receipts as vote.js stores them.
    keep_receipt(page, answer)
    page.reload()
    stored = page.locator("#rc-stored-list li")
    stored.first.wait_for(timeout=WAIT_MS)
    assert stored.count() == 1
    assert answer["short_code"] in stored.first.inner_text() and QUESTION_A in stored.first.inner_text()
    shot(page, "verify-stored", full_page=True)
    # Keyboard only: focus the item's button and press Enter.
    stored.first.locator("button").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.getElementById('rc-result').hidden", timeout=WAIT_MS)
    assert page.inner_text("#rc-verdict").startswith("Included as ballot 5 of 5 in the certified result of Agenda 4")

    # Scanning: the button shows, the camera opens, the code is read and checked.
    assert page.locator("#rc-scan").is_visible()
    page.evaluate("window.__shown = null")
    page.click("#rc-scan")
    page.locator("#rc-camera").wait_for(state="visible", timeout=WAIT_MS)
    shot(page, "verify-scanning")
    assert page.locator("#rc-result").is_hidden()  # the earlier verdict goes while the camera looks
    page.evaluate("shown => { window.__shown = shown; }", qr_text)
    page.wait_for_function("() => !document.getElementById('rc-result').hidden && "
                           "document.getElementById('rc-progress').textContent === ''", timeout=WAIT_MS)
    assert page.locator("#rc-camera").is_hidden()
    assert page.inner_text("#rc-verdict").startswith("Included as ballot 5 of 5 ")
    assert page.input_value("#rc-text") == qr_text

    # A receipt QR's address opened on this page (?vote=&leaf=) checks at once.
    page.goto(f"{live_server}/verify?vote={a['vote']}&leaf={answer['receipt']['leaf_hash']}")
    page.wait_for_function("() => !document.getElementById('rc-result').hidden", timeout=WAIT_MS)
    assert page.inner_text("#rc-verdict").startswith("Included as ballot 5 of 5 ")
    assert not _off_limits(seen, live_server), _off_limits(seen, live_server)


def test_without_ed25519_and_against_a_record_that_lost_the_ballot(meetings: dict[str, Any], live_server: str,
                                                                   new_phone: Any, console: Any, shot: Any) -> None:
    a = meetings["a"]
    receipt = a["answers"][1]["receipt"]

    # A browser whose WebCrypto has no Ed25519: the signatures are named as not checked.
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
    verdict = _check(page, json.dumps(receipt))
    assert verdict == f"Included as ballot 2 of 5 in the certified result of Agenda 4 ({QUESTION_A})."
    assert "rc-warn" in (page.get_attribute("#rc-result", "class") or "")
    assert page.inner_text("#rc-detail").startswith("This browser cannot check Ed25519 signatures")
    assert _marks(page) == {"rc-pass": 6, "rc-fail": 0, "rc-skip": 2}
    skipped = _said(page, "rc-skip")
    assert all("could not be checked in this browser" in s for s in skipped)
    page.locator("#rc-verdict").scroll_into_view_if_needed()
    shot(page, "verify-no-ed25519", full_page=True)

    # A published record from which the receipt's ballot was dropped: the receipt, signed by WeGO,
    # is the evidence.
    page = console.watch(new_phone().new_page())
    record_url = f"{live_server}/results/{a['key']}/record.json"

    def drop_ballot(route: Any) -> None:
        record = route.fetch().json()
        for item in record["items"]:
            for vote in item["votes"]:
                if json.loads(vote["definition"])["vote"] == f"v{a['vote']}":
                    del vote["ballots"][1]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(record))

    page.route(record_url, drop_ballot)
    page.goto(f"{live_server}/verify")
    verdict = _check(page, json.dumps(receipt))
    assert verdict == f"This receipt's ballot is not in the published record of vote v{a['vote']}."
    assert "Keep this receipt" in page.inner_text("#rc-detail")
    passed = _said(page, "rc-pass")
    assert any("signed by WeGO" in p for p in passed) and any("proof leads" in p for p in passed)
    failed = _said(page, "rc-fail")
    assert any("give the root the chair certified" in f for f in failed)
    shot(page, "verify-record-lost-ballot", full_page=True)

    # A published certificate changed after it was signed.
    page = console.watch(new_phone().new_page())

    def change_certificate(route: Any) -> None:
        record = route.fetch().json()
        for item in record["items"]:
            for vote in item["votes"]:
                vote["certificate"]["body"]["certified_at"] = "2020-07-01T00:00:00Z"
        route.fulfill(status=200, content_type="application/json", body=json.dumps(record))

    page.route(record_url, change_certificate)
    page.goto(f"{live_server}/verify")
    assert _check(page, json.dumps(receipt)) == f"The certificate of vote v{a['vote']} is not validly signed."
    assert _said(page, "rc-fail") == ["The certificate is signed by WeGO and by the chair"]


def test_the_browser_merkle_code_agrees_with_ballots_log(live_server: str, phone: Any, console: Any) -> None:
    """The page's RFC 6962 / 9162 port against the Python reference, proof by proof, good and bad."""
    page = console.watch(phone.new_page())
    page.goto(f"{live_server}/verify")
    rc = "window.WeGO.receiptCheck"
    # docs/crypto-formats.md test vector: the leaf of ballot_entry("{}", 64 zero bytes, key id).
    zero_sig = base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode()
    assert page.evaluate(f"a => {rc}.ballotLeaf(a[0], a[1], a[2])", ["{}", zero_sig, "k_a3r73d62fg5wbk2zkv66mhw3bl"]) == \
        "10d1510c06624ef3f009e79bb7353cace47c03f9b46d71b963c3daec7652cf4c"
    assert page.evaluate(f"() => {rc}.merkleRoot([])") == hashlib.sha256(b"").hexdigest()

    cases = []
    for n in range(1, 18):
        leaves = [leaf_hash(f"entry {n}.{i}".encode()) for i in range(n)]
        top = merkle_root(leaves)
        assert page.evaluate(f"l => {rc}.merkleRoot(l)", [x.hex() for x in leaves]) == top.hex()
        for i in range(n):
            proof = inclusion_proof(leaves, i)
            variants = [(leaves[i], i, n, proof, top)]
            variants.append((leaves[i], (i + 1) % n, n, proof, top))        # another index
            variants.append((leaves[i], i, n + 1, proof, top))              # another size
            variants.append((leaves[(i + 1) % n], i, n, proof, top))         # another leaf
            variants.append((leaves[i], i, n, proof[:-1], top))              # a hash short
            variants.append((leaves[i], i, n, [*proof, top], top))           # a hash too many
            if proof:
                variants.append((leaves[i], i, n, [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]], top))
            variants.append((leaves[i], n, n, proof, top))                   # index outside the tree
            for leaf, index, size, path, root_hash in variants:
                cases.append(([leaf.hex(), index, size, [p.hex() for p in path], root_hash.hex()],
                              verify_inclusion(leaf, index, size, path, root_hash)))
    got = page.evaluate(f"cs => Promise.all(cs.map(c => {rc}.verifyInclusion(c[0], c[1], c[2], c[3], c[4])))",
                        [c for c, _ in cases])
    expected = [e for _, e in cases]
    assert got == expected
    assert expected.count(True) >= sum(range(1, 18))  # every genuine proof holds, and some variants too
