"""Issue 8 in a real browser: the Secretariat sends a resolution by written consent; the e-mail
reaches a local SMTP server; a representative opens the link from the message on a phone (chromium
at 360×740), the phone sets up its key, shows the full text, signs "consent" and shows the receipt;
the resolution is adopted at that moment. The same link forwarded to another phone is refused, and
the Secretariat's progress page (1366×768) shows who answered, by member."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.browser.pages import sign_in
from voting.models import Ballot, Resolution, ResolutionState
from voting.services import consent, roster

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
LAPTOP = {"width": 1366, "height": 768}
PASSWORD = "correct horse battery"
TEXT = ("The Executive Committee approves the 2026 budget of the Secretariat as attached, and asks the Secretary "
        "General to report on its execution at the next meeting.\n\nThe budget takes effect on 1 April 2026.")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app: Any, live_server: str) -> Iterator[Inbox]:
    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="secretariat@wego.example",
                      PUBLIC_BASE_URL=live_server)
    yield inbox
    controller.stop()


def _link_from(inbox: Inbox, email: str, base: str) -> str:
    """The personal link in the plain-text part of the e-mail sent to `email`."""
    msg = next(m for m in inbox.messages if m["To"].addresses[0].addr_spec == email)
    found = re.search(rf"{re.escape(base)}/consent/[0-9A-Z]{{26}}", msg.get_body(preferencelist=("plain",)).get_content())
    assert found, msg
    return found.group(0)


def test_remote_answer_from_the_emailed_link(live_server: str, app: Any, session: Any, make_member: Any,
                                             make_staff: Any, new_phone: Any, browser: Any, smtp: Inbox,
                                             console: Any, shot: Any) -> None:
    from playwright.sync_api import expect

    # The EXCOM (wego-2017: 2 of 3 consents adopt), the resolution drafted and sent by the Secretariat.
    year = datetime.now(UTC).year
    names = [("Seoul", "Korea"), ("Ulaanbaatar", "Mongolia"), ("Kazan", "Russia")]
    reps = []
    for name, country in names:
        member = make_member(name, country=country)
        roster.seat_member(member, "member", year - 1, year + 1)
        reps.append(roster.add_delegate(member, {"display_name": f"Representative of {name}", "is_voting": True,
                                                 "email": f"rep@{name.lower()}.example"}))
    session.commit()
    make_staff("secretariat")
    seoul = timezone(timedelta(hours=9))
    deadline = (datetime.now(UTC) + timedelta(days=7)).astimezone(seoul).replace(second=0, microsecond=0)
    resolution = consent.create_draft({
        "title": "Budget 2026 of the Secretariat", "text": TEXT, "rule": "written-consent", "rule_set": "wego-2017",
        "attachments": "Budget 2026 (PDF) | https://we-gov.example/files/budget-2026.pdf",
        "deadline": deadline.isoformat()})
    session.commit()
    report = consent.send(resolution, consent.text_hash(TEXT))
    rid, vote_id = resolution.id, resolution.vote_id
    session.commit()
    assert report.mailed == 3 and len(smtp.messages) == 3

    # Kazan has already consented (from its phone, through the API).
    from tests.voting.test_consent import LinkPhone

    kazan = LinkPhone(app)
    assert kazan.enrol(_link_from(smtp, reps[2].email, live_server).rsplit("/", 1)[1]).status_code == 200
    assert kazan.answer(vote_id, "consent").status_code == 201  # type: ignore[arg-type]
    session.rollback()

    # The Secretariat follows the answers on a laptop: who has answered, never what, while open.
    laptop = browser.new_context(viewport=LAPTOP)
    desk = console.watch(laptop.new_page())
    sign_in(desk, live_server, "secretariat", PASSWORD)
    desk.goto(f"{live_server}/resolutions/{rid}")
    expect(desk.locator(".consent-progress")).to_contain_text("1 of 3 members have answered")
    expect(desk.locator(f"#m{reps[2].member_id}")).to_contain_text("Answered")
    expect(desk.locator(f"#m{reps[2].member_id}")).not_to_contain_text("Consent")
    shot(desk, "consent-progress-open-laptop")

    # Ulaanbaatar's representative opens the link from the e-mail on a phone without a key.
    url = _link_from(smtp, reps[1].email, live_server)
    page = console.watch(new_phone().new_page())
    page.goto(url)
    expect(page.get_by_role("heading", name="Budget 2026 of the Secretariat")).to_be_visible()
    shot(page, "consent-link-phone", full_page=True)
    page.get_by_role("button", name="Set up this phone and continue").click()
    page.wait_for_url(f"{live_server}/consent/answer/{rid}", timeout=WAIT_MS)
    expect(page.locator(".resolution-text")).to_have_text(TEXT)
    expect(page.get_by_role("link", name="Budget 2026 (PDF)")).to_be_visible()
    shot(page, "consent-answer-phone")
    shot(page, "consent-answer-phone-full", full_page=True)

    page.get_by_label("Consent", exact=False).first.check()
    page.get_by_role("button", name="Review my answer").click()
    expect(page.locator("#confirm-words")).to_have_text("You CONSENT to the resolution.")
    page.get_by_text("Exactly what your phone will sign").click()
    signed = json.loads(page.locator("#confirm-json").inner_text())
    assert signed["choice"] == "consent" and signed["vote"] == f"v{vote_id}"
    shot(page, "consent-confirm-phone")
    page.get_by_role("button", name="Sign and send my answer").click()
    expect(page.locator("#receipt")).to_be_visible(timeout=WAIT_MS)
    assert re.fullmatch(r"[A-Z2-7]{5}-[A-Z2-7]{5}", page.locator("#receipt-code").inner_text())
    expect(page.locator("#receipt-words")).to_contain_text("You consented. Answer 2 in the log of this resolution.")
    page.wait_for_function("() => { const i = document.getElementById('receipt-qr'); return i.complete && i.naturalWidth > 0; }",
                           timeout=WAIT_MS)
    shot(page, "consent-receipt-phone")

    # The second consent reached the threshold: adopted at the moment that answer was received.
    session.rollback()
    session.expire_all()  # the test's session also served the API client above: read afresh
    r = session.get(Resolution, rid)
    mine = session.scalars(select(Ballot).where(Ballot.vote_id == vote_id, Ballot.leaf_index == 1)).one()
    assert r is not None and r.state == ResolutionState.ADOPTED and r.adopted_at == mine.received_at
    session.rollback()

    # The link, forwarded to another phone: refused, with what to do.
    other = console.watch(new_phone().new_page())
    other.goto(url)
    refusal = other.locator("#link-refused")
    expect(refusal).to_be_visible(timeout=WAIT_MS)
    expect(refusal).to_have_text("This link is for Representative of Ulaanbaatar's phone; answer from the phone that "
                                 "holds your key, or ask the Secretariat for a new link.")
    expect(other.get_by_role("button", name="Set up this phone and continue")).to_be_hidden()
    shot(other, "consent-forwarded-phone")
    # On the phone that holds the key, the link signs in again by itself.
    page.goto(url)
    page.wait_for_url(f"{live_server}/consent/answer/{rid}", timeout=WAIT_MS)
    expect(page.get_by_text("You answered on")).to_be_visible()

    # The progress page now shows the result and what each member answered.
    desk.reload()
    expect(desk.locator(".consent-state")).to_contain_text("Adopted")
    expect(desk.locator("#m" + str(reps[0].member_id))).to_contain_text("No answer")
    expect(desk.locator("#m" + str(reps[1].member_id))).to_contain_text("Consent")
    shot(desk, "consent-progress-laptop")
    shot(desk, "consent-progress-laptop-full", full_page=True)
    laptop.close()
