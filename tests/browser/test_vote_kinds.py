"""Every kind of in-hall vote, on one phone (chromium at 360×740): yes/no kinds, one-option rounds, an
approval ballot (yes/no/abstain per candidate) and a block ballot (at most as many names as seats).
Each is voted through the real ballot page; the stored ballot says what was chosen and the receipt
the server keeps for the delegate checks against the organization key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from test_vote_phone import WAIT_MS, Hall, _ballots, _close, _enrol_and_check_in, _hall, _receipt_on_screen

from ballots.receipts import Receipt, check_receipt
from voting.keys import org_key
from voting.models import Meeting
from voting.services import casting
from voting.services import meetings as meeting_service

pytestmark = pytest.mark.browser

# The agenda item's decision for each vote kind (agenda items know no "president-sole" or "excom-*").
DECISION = {"special-session": "special-session", "dissolve-regional-office": "dissolve-regional-office",
            "president-sole": "president", "president": "president", "regional-office-bid": "regional-office-bid",
            "excom-approval": "excom-election", "excom-block": "excom-election"}


def _open(session: Any, hall: Hall, number: str, kind: str, question: str,
          options: list[tuple[str, str]] | None = None, seats: int | None = None) -> int:
    """The chair opens a vote of `kind` on its own agenda item."""
    meeting = session.get(Meeting, hall.meeting_id)
    item = meeting_service.add_agenda_item(meeting, {"number": number, "title": question, "decision": DECISION[kind]})
    session.flush()
    opts = [casting.Option(i, label) for i, label in options] if options is not None else None
    vote_id = int(casting.open_vote(item, kind, question, opts, seats=seats).id)
    session.commit()
    return vote_id


def test_every_vote_kind_through_the_phone(
        live_server: str, phone: Any, session: Any, make_member: Any, console: Any) -> None:
    from playwright.sync_api import expect

    hall, token = _hall(session, make_member, live_server)
    page = console.watch(phone.new_page())
    _enrol_and_check_in(session, page, hall, token)

    def radio(label: str) -> Callable[[Any], None]:
        return lambda p: p.get_by_label(label, exact=True).check()

    def approve(answers: dict[str, str]) -> Callable[[Any], None]:
        words = {"yes": "Yes", "no": "No", "abstain": "Abstain"}

        def choose(p: Any) -> None:
            for candidate, answer in answers.items():
                p.locator(f'fieldset.approval[data-candidate="{candidate}"]').get_by_label(words[answer], exact=True).check()
        return choose

    def block(labels: list[str]) -> Callable[[Any], None]:
        def choose(p: Any) -> None:
            # Three names on a two-seat ballot: the page refuses to prepare anything to sign.
            for name in ("Kazan", "Chengdu", "Almaty"):
                p.get_by_label(name, exact=True).check()
            p.get_by_role("button", name="Review my vote").click()
            expect(p.locator("#ballot-error")).to_contain_text("Choose at most 2 candidates")
            expect(p.locator("#confirm")).to_be_hidden()
            expect(p.get_by_role("button", name="Sign and send my vote")).to_be_hidden()
            assert _ballots(session, vote_id) == []
            for name in ("Kazan", "Chengdu", "Almaty"):
                if name not in labels:
                    p.get_by_label(name, exact=True).uncheck()
        return choose

    candidates = [("kazan", "Kazan"), ("chengdu", "Chengdu"), ("almaty", "Almaty")]
    cases: list[tuple[str, str, list[tuple[str, str]] | None, int | None, Callable[[Any], None], Any, str]] = [
        ("special-session", "Shall a special session of the General Assembly be convened?", None, None,
         radio("Yes, in favour"), "yes", "You vote YES (in favour)."),
        ("dissolve-regional-office", "Shall the Central Asia regional office be dissolved?", None, None,
         radio("No, against"), "no", "You vote NO (against)."),
        ("president-sole", "Shall Seoul be elected President (sole candidate)?", [("seoul", "Seoul")], None,
         radio("Abstain"), "abstain", "You abstain."),
        ("president", "Who shall be President?", [("seoul", "Seoul"), ("kazan", "Kazan"), ("chengdu", "Chengdu")], None,
         radio("Kazan"), "kazan", "You vote for Kazan."),
        ("regional-office-bid", "Which city hosts the regional office?", [("ulaanbaatar", "Ulaanbaatar"), ("sejong", "Sejong")],
         None, radio("Sejong"), "sejong", "You vote for Sejong."),
        ("excom-approval", "Approve the Executive Committee candidates", candidates, 3,
         approve({"kazan": "yes", "chengdu": "no", "almaty": "abstain"}),
         {"kazan": "yes", "chengdu": "no", "almaty": "abstain"}, "Kazan: yes; Chengdu: no; Almaty: abstain."),
        ("excom-block", "Elect two Executive Committee members", [*candidates, ("sejong", "Sejong")], 2,
         block(["Kazan", "Almaty"]), ["kazan", "almaty"], "You vote for: Kazan, Almaty."),
    ]

    previous: int | None = None
    codes: dict[int, str] = {}
    for number, (kind, question, options, seats, choose, choice, words) in enumerate(cases, start=10):
        if previous is not None:
            _close(session, previous)
        page.goto(f"{live_server}/me")
        vote_id = _open(session, hall, str(number), kind, question, options, seats)
        previous = vote_id
        card = page.locator("#open-votes .vote-card", has_text=question)
        expect(card).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#open-votes .vote-card")).to_have_count(1)
        card.get_by_role("link", name="Vote now").click()
        page.wait_for_url(f"{live_server}/votes/{vote_id}", timeout=WAIT_MS)
        expect(page.locator("h1")).to_have_text(question)

        choose(page)
        page.get_by_role("button", name="Review my vote").click()
        expect(page.locator("#confirm")).to_be_visible()
        expect(page.locator("#confirm-words")).to_have_text(words)
        page.get_by_text("Exactly what your phone will sign").click()
        signed = page.locator("#confirm-json").inner_text()
        assert json.loads(signed)["choice"] == choice, (kind, signed)
        page.get_by_role("button", name="Sign and send my vote").click()
        codes[vote_id] = _receipt_on_screen(page)

        stored = _ballots(session, vote_id)
        assert len(stored) == 1, kind
        assert stored[0]["bytes"] == signed.encode("utf-8")
        assert json.loads(stored[0]["bytes"])["choice"] == choice, kind

    # The server's copies of the receipts, one per vote, each checks against the organization key.
    answer = page.request.get(f"{live_server}/api/me/receipts")
    assert answer.ok
    receipts = answer.json()["receipts"]
    assert {r["vote"]["ref"]: r["short_code"] for r in receipts} == {f"v{v}": c for v, c in codes.items()}
    for r in receipts:
        assert check_receipt(Receipt.from_json(r["receipt"]), org_key().public_key()) == [], r["vote"]
    assert not console.unexpected()
