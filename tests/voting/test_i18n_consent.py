"""The delegate side of written consent in the five languages: the typed-code page, the personal
link (a forwarded one refused), the answer page and the refusals a delegate's phone shows; the
Secretariat's pages stay in English."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from tests.voting.test_consent import LinkPhone, draft, make_excom, send, smtp  # noqa: F401 (smtp: a fixture)
from tests.voting.test_i18n import JSON_BLOCK, _lang_of, _translated_msgids
from voting.i18n import LANGUAGES
from voting.models import Resolution

CONSENT_WORD = {"en": "Consent", "ko": "동의", "ru": "Согласен", "es": "Consiento", "fr": "Je consens"}


@pytest.fixture
def sent(app: Any, client: Any, session: Any, make_member: Any, login: Any, smtp: Any) -> dict[str, Any]:  # noqa: F811
    """A resolution sent to three EXCOM members; the first one's representative set up a phone."""
    members = make_excom(session, make_member, 3)
    login("secretariat")
    rid = draft(client, rule_set="wego-2017")
    send(client, rid)
    token = smtp.links_for(members[0].delegates[0].email)[0]
    phone = LinkPhone(app)
    assert phone.enrol(token).status_code == 200
    session.expire_all()
    vote_id = session.get(Resolution, rid).vote_id
    return {"rid": rid, "token": token, "phone": phone, "vote_id": vote_id, "staff": client,
            "forwarded": LinkPhone(app), "anonymous": app.test_client()}


def _check(page: str, lang: str, leftovers: dict[str, str], address: str) -> None:
    assert _lang_of(page) == lang, (address, lang)
    visible = JSON_BLOCK.sub("", page)
    assert "%(" not in visible and "%s" not in visible, (address, lang)
    english = [m for m in leftovers if m in html.unescape(visible)]
    assert not english, f"{address} in {lang} still says in English: {english}"
    assert 'id="language-select"' in page, f"{address}: no language switcher"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_consent_pages_render_in_each_language(sent: dict[str, Any], lang: str) -> None:
    leftovers = _translated_msgids(lang) if lang != "en" else {}
    headers = {"Accept-Language": lang}
    pages = [
        (sent["phone"].client, f"/consent/answer/{sent['rid']}"),
        (sent["forwarded"].client, f"/consent/{sent['token']}"),  # a forwarded link: refused on the page
        (sent["anonymous"], "/consent"),
    ]
    for browser, address in pages:
        resp = browser.get(address, headers=headers)
        assert resp.status_code == 200, (address, lang)
        _check(resp.get_data(as_text=True), lang, leftovers, address)
    answer = sent["phone"].client.get(f"/consent/answer/{sent['rid']}", headers=headers).get_data(as_text=True)
    assert f"<strong>{CONSENT_WORD[lang]}</strong>" in answer
    block = JSON_BLOCK.search(answer)
    assert block
    data = json.loads(block.group(0).split(">", 1)[1].rsplit("<", 1)[0])
    assert data["lang"] == lang
    if lang != "en":
        assert data["messages"]["Sending your signed answer…"] != "Sending your signed answer…"
        assert set(data["messages"]) >= {"You CONSENT to the resolution.", "Choose consent, object or abstain first."}
    # A mistyped or unknown link: the error page a delegate sees is in the language too.
    for address, status in (("/consent/nonsense", 400), ("/consent/" + "0" * 26, 404)):
        resp = sent["anonymous"].get(address, headers=headers)
        assert resp.status_code == status
        page = resp.get_data(as_text=True)
        assert _lang_of(page) == lang
        english = [m for m in leftovers if m in html.unescape(page)]
        assert not english, f"{address} in {lang} still says in English: {english}"


def test_refusals_a_delegate_sees_are_translated(sent: dict[str, Any]) -> None:
    phone = sent["phone"]
    forwarded = sent["forwarded"]
    data = forwarded.open(sent["token"])
    refused = forwarded.client.post("/api/consent/signin", json={"link": sent["token"], "key": data["key"], "signature": "AA"},
                                    headers={"X-CSRFToken": data["csrf"], "Accept-Language": "fr"})
    assert refused.status_code == 403 and refused.get_json()["message"].startswith("Ce lien est destiné au téléphone de ")
    assert phone.answer(sent["vote_id"], "consent").status_code == 201
    info = phone.client.get(f"/api/votes/{sent['vote_id']}").get_json()
    assert info is not None
    phone.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    twice = phone.answer(sent["vote_id"], "object")
    assert twice.status_code == 409 and "уже ответил на эту резолюцию" in twice.get_json()["message"]
    answered = phone.client.get(f"/consent/answer/{sent['rid']}", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert "에 답변하셨습니다." in answered and "영수증 보기" in answered


def test_the_secretariats_consent_pages_stay_in_english(sent: dict[str, Any]) -> None:
    page = sent["staff"].get(f"/resolutions/{sent['rid']}", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert _lang_of(page) == "en" and "language-select" not in page
    assert "must consent" in page
