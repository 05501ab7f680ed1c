"""Issue 10 item 7: the delegate pages in English, Korean, Russian, Spanish and French.

The language comes from the delegate's choice (the switcher's cookie), else the browser's
Accept-Language, else English; dates and numbers follow it; every delegate page renders in each
language; the catalogs are complete, and the compiled .mo files are those of the .po files."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from ballots.canonical import canonical_bytes
from ballots.signatures import BALLOT_LABEL, b64url_encode
from tests.voting.helpers import enrol_python_key
from voting.i18n import COOKIE, LANGUAGES, script_messages
from voting.models import Delegate, Meeting, Vote
from voting.services import attendance, casting, identity, roster
from voting.services import meetings as meeting_service

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "voting" / "translations"
FOREIGN = ["ko", "ru", "es", "fr"]
SCRIPTS = ["keystore", "enrol", "vote", "receipt-check", "consent"]
# One sentence of the enrolment code page, in each language (the catalogs' words).
TYPED_HEADING = {
    "en": "Type the code from your badge", "ko": "명찰에 적힌 코드를 입력하십시오", "ru": "Введите код с вашего бейджа",
    "es": "Escriba el código de su credencial", "fr": "Saisissez le code de votre badge",
}
JSON_BLOCK = re.compile(r'<script type="application/json" id="i18n">.*?</script>', re.S)


def _lang_of(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, page[:200]
    return found.group(1)


def _h1(page: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert found, page[:400]
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


# ---------------------------------------------------------------- a hall with every kind of page


@pytest.fixture
def hall(app: Any, client: Any, session: Any, make_member: Any, make_staff: Any) -> dict[str, Any]:
    """An EXCOM meeting in June 2017 (UTC+04:00) with a delegate checked in and votes of each kind
    open (one already cast), one vote closed, a GA meeting the delegate is not checked in at, an
    associate member's delegate and a chair; each with a signed-in test client."""
    cities = [make_member(name) for name in ("Seoul", "Jakarta", "Tbilisi")]
    for i, city in enumerate(cities):
        roster.seat_member(city, "president" if i == 0 else "member", 2016, 2018)
    associate = make_member("Smart Town Institute", category="associate")
    meeting = meeting_service.create_meeting({
        "key": "excom-2017", "title": "Executive Committee 2017", "body": "excom", "rule_set": "wego-2017",
        "starts_at": "2017-06-27T17:00+04:00", "ends_at": "2099-06-27T18:30+04:00", "venue": "Tbilisi", "city": "Tbilisi"})
    ga = meeting_service.create_meeting({
        "key": "ga-2099", "title": "General Assembly 2099", "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2099-09-01T09:00+09:00", "ends_at": "2099-09-02T18:00+09:00", "venue": "Seoul", "city": "Seoul"})
    delegate = roster.add_delegate(cities[0], {"display_name": "Kim Min-ji", "email": "kim@seoul.example", "is_voting": True})
    attendee = roster.add_delegate(cities[0], {"display_name": "Lee Attendee", "email": "lee@seoul.example", "is_voting": False})
    outsider = roster.add_delegate(associate, {"display_name": "Ana Associate", "email": "ana@smart.example", "is_voting": False})
    session.commit()

    private_key, _key_id = enrol_python_key(client, session, session.get(Delegate, delegate.id), meeting=meeting)
    associate_client = client.application.test_client()
    enrol_python_key(associate_client, session, session.get(Delegate, outsider.id))
    attendance.set_presence(session.get(Meeting, meeting.id), session.get(Delegate, delegate.id), True, via="desk")
    session.commit()

    def item(number: str, decision: str) -> Any:
        added = meeting_service.add_agenda_item(session.get(Meeting, meeting.id),
                                                {"number": number, "title": f"Item {number}", "decision": decision})
        session.flush()
        return added

    options = [casting.Option("seoul", "Seoul"), casting.Option("jakarta", "Jakarta"), casting.Option("tbilisi", "Tbilisi")]
    votes = {
        "motion": casting.open_vote(item("4", "motion"), "motion", "Shall the budget be adopted?").id,
        "cast": casting.open_vote(item("5", "motion"), "motion", "Shall the minutes be approved?").id,
        "host-city": casting.open_vote(item("6", "host-city"), "host-city", "Which city hosts 2019?",
                                       [casting.Option("sejong", "Sejong"), casting.Option("ha-noi", "Ha Noi")]).id,
        "excom-block": casting.open_vote(item("7", "excom-election"), "excom-block", "Who sits on the EXCOM?", options, seats=2).id,
        "excom-approval": casting.open_vote(item("8", "excom-election"), "excom-approval", "Approve the candidates?",
                                            options[:2], seats=2).id,
        "closed": casting.open_vote(item("9", "motion"), "motion", "Shall the session close?").id,
    }
    session.commit()

    # The delegate casts a ballot in one vote, as the phone does; then the last vote is closed.
    info = client.get(f"/api/votes/{votes['cast']}").get_json()
    data = canonical_bytes({"v": 1, "vote": info["vote"], "round": info["round"], "vote_sha256": info["vote_sha256"],
                            "member": info["member"], "delegate": info["delegate"], "key": info["key"],
                            "choice": "yes", "nonce": "AAAAAAAAAAAAAAAAAAAAAAAA"})
    cast = client.post(f"/api/votes/{votes['cast']}/ballots",
                       json={"ballot": data.decode(), "signature": b64url_encode(private_key.sign(BALLOT_LABEL + data))})
    assert cast.status_code == 201, cast.get_data(as_text=True)
    casting.close_vote(session.get(Vote, votes["closed"]))
    session.commit()
    account, password = make_staff("chair", username="chair-i18n")
    chair = client.application.test_client()
    assert chair.post("/login", data={"username": account.username, "password": password}).status_code == 302
    return {
        "meeting": meeting, "ga": ga, "votes": votes, "delegate": client, "associate": associate_client, "chair": chair,
        "anonymous": client.application.test_client(),
        "token": identity.issue_token(session.get(Delegate, attendee.id)).token,
        "voter_token": identity.issue_token(session.get(Delegate, delegate.id), session.get(Meeting, meeting.id)).token,
        "code": attendance.current_code(session.get(Meeting, meeting.id)).code,
        "ga_code": attendance.current_code(session.get(Meeting, ga.id)).code,
    }


def _pages(hall: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(who, address, status) of every delegate-facing page and state."""
    v, key = hall["votes"], hall["meeting"].key
    return [
        ("anonymous", "/", 200), ("anonymous", "/e", 200), ("anonymous", f"/e/{hall['token']}", 200),
        ("anonymous", f"/e/{hall['voter_token']}", 200),
        ("anonymous", "/verify", 200), ("anonymous", f"/verify?meeting={key}", 200), ("anonymous", "/language", 200),
        ("anonymous", f"/c/{key}/{hall['code']}", 401),
        ("anonymous", "/no/such/page", 404), ("anonymous", "/e/NOT-A-CODE", 400), ("anonymous", "/e/" + "0" * 26, 404),
        ("delegate", "/me", 200), ("delegate", "/me/receipts", 200),
        *[("delegate", f"/votes/{vote_id}", 200) for vote_id in v.values()],
        ("delegate", f"/c/{key}/{hall['code']}", 200), ("delegate", f"/c/{hall['ga'].key}/{hall['ga_code']}", 200),
        ("associate", "/me", 200), ("chair", "/account/device", 200), ("delegate", "/votes/999999", 404),
    ]


def _translated_msgids(lang: str) -> dict[str, str]:
    """English sentences of the catalog and their translations (long enough not to occur by chance)."""
    catalog = read_po((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and len(m.id) >= 24 and "%(" not in m.id
            and "<" not in m.id and m.string and m.string != m.id}


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_delegate_page_renders_in_each_language(hall: dict[str, Any], lang: str) -> None:
    leftovers = _translated_msgids(lang) if lang != "en" else {}
    for who, address, status in _pages(hall):
        resp = hall[who].get(address, headers={"Accept-Language": lang})
        page = resp.get_data(as_text=True)
        assert resp.status_code == status, (who, address, lang, page[:500])
        assert _lang_of(page) == lang, (address, lang)
        visible = JSON_BLOCK.sub("", page)
        assert "%(" not in visible and "%s" not in visible, (address, lang)
        english = [m for m in leftovers if m in html.unescape(visible)]
        assert not english, f"{address} in {lang} still says in English: {english}"
        if status == 200 and who != "chair" and address != "/language":
            assert 'id="language-select"' in page, f"{address}: no language switcher"


def test_the_browser_language_is_used_on_the_code_page_and_an_error_page(hall: dict[str, Any]) -> None:
    browser = hall["anonymous"]
    page = browser.get(f"/e/{hall['token']}", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}).get_data(as_text=True)
    assert _lang_of(page) == "ko"
    assert _h1(page) == "투표할 수 있도록 이 휴대전화를 설정하십시오"
    assert "개인 서명 키" in page and "Lee Attendee" in page
    error = browser.get("/e/NOT-A-CODE", headers={"Accept-Language": "ko-KR"})
    text = error.get_data(as_text=True)
    assert error.status_code == 400 and _lang_of(text) == "ko"
    assert _h1(text) == "요청을 이해할 수 없습니다"
    assert "이 등록 코드가 완전하지 않거나 입력 오류가 있습니다." in text
    assert "오류 400" in text and "홈 페이지로 가기" in text
    # The same refusal as JSON (what enrol.js shows) is in the browser's language too.
    api = browser.post("/api/enrol", json={"token": "NOT-A-CODE"}, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert api.status_code == 400 and api.get_json()["message"] == "Ce code d'activation est incomplet ou comporte une faute de frappe."


def test_the_switcher_overrides_the_browser_and_is_remembered(app: Any) -> None:
    browser = app.test_client()
    korean = {"Accept-Language": "ko-KR,ko;q=0.9"}
    assert _h1(browser.get("/e", headers=korean).get_data(as_text=True)) == TYPED_HEADING["ko"]
    form = browser.get("/e", headers=korean).get_data(as_text=True)
    assert re.search(r'<label for="language-select">언어 <span lang="en">\(Language\)</span></label>', form)
    for code, name in LANGUAGES.items():
        assert f'<option value="{code}" lang="{code}"' in form and f">{name}</option>" in form
    resp = browser.post("/language", data={"lang": "ru", "next": "/e"}, headers=korean)
    assert resp.status_code == 302 and resp.headers["Location"] == "/e"
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None and cookie.value == "ru" and cookie.http_only
    for _ in range(2):  # it stays, page after page
        page = browser.get("/e", headers=korean).get_data(as_text=True)
        assert _lang_of(page) == "ru" and _h1(page) == TYPED_HEADING["ru"]
    assert '<option value="ru" lang="ru" selected>' in browser.get("/e").get_data(as_text=True)
    # The language page offers the five as buttons and goes back where it was asked from.
    choose = browser.get("/language?next=/verify").get_data(as_text=True)
    assert choose.count('name="lang"') == 5 and 'value="/verify"' in choose
    back = browser.post("/language", data={"lang": "es", "next": "/verify"})
    assert back.headers["Location"] == "/verify"
    assert _lang_of(browser.get("/verify").get_data(as_text=True)) == "es"


@pytest.mark.parametrize("header", ["de-DE,de;q=0.9", "xx", "", "zh-CN, ja;q=0.5"])
def test_unknown_languages_fall_back_to_english(app: Any, header: str) -> None:
    page = app.test_client().get("/e", headers={"Accept-Language": header} if header else {}).get_data(as_text=True)
    assert _lang_of(page) == "en" and _h1(page) == TYPED_HEADING["en"]


def test_the_switcher_refuses_other_languages_and_other_sites(app: Any) -> None:
    browser = app.test_client()
    refused = browser.post("/language", data={"lang": "de", "next": "/e"})
    assert refused.status_code == 422 and browser.get_cookie(COOKIE) is None
    browser.set_cookie(COOKIE, "de")  # a cookie of a language we do not have: the browser's choice holds
    assert _lang_of(browser.get("/e", headers={"Accept-Language": "fr"}).get_data(as_text=True)) == "fr"
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        resp = browser.post("/language", data={"lang": "fr", "next": elsewhere})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", elsewhere


def test_staff_pages_stay_in_english(app: Any) -> None:
    """Only the delegate pages are translated; a staff page says lang="en" and has no switcher."""
    staff = app.test_client()
    page = staff.get("/login", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert _lang_of(page) == "en" and "language-select" not in page


# ---------------------------------------------------------------- dates and numbers


WHEN = datetime(2017, 6, 27, 13, 0, tzinfo=UTC)  # 17:00 in a hall at UTC+04:00


@pytest.mark.parametrize(("lang", "moment", "day"), [
    ("en", "27 Jun 2017, 17:00 (UTC+04:00)", "27 Jun 2017"),
    ("ko", "2017년 6월 27일 17:00 (UTC+04:00)", "2017년 6월 27일"),
    ("ru", "27 июн. 2017\u202fг., 17:00 (UTC+04:00)", "27 июн. 2017\u202fг."),
    ("es", "27 jun 2017, 17:00 (UTC+04:00)", "27 jun 2017"),
    ("fr", "27 juin 2017, 17:00 (UTC+04:00)", "27 juin 2017"),
])
def test_dates_follow_the_language(app: Any, lang: str, moment: str, day: str) -> None:
    from voting.templating import fmt_date, fmt_datetime

    with app.test_request_context("/e", headers={"Accept-Language": lang}):
        assert fmt_datetime(WHEN, 240) == moment
        assert fmt_date(date(2017, 6, 27)) == day


@pytest.mark.parametrize(("lang", "number"), [("en", "1,234,567"), ("ko", "1,234,567"), ("ru", "1\xa0234\xa0567"),
                                              ("es", "1.234.567"), ("fr", "1\u202f234\u202f567")])
def test_numbers_follow_the_language(app: Any, lang: str, number: str) -> None:
    from voting.templating import fmt_number

    with app.test_request_context("/e", headers={"Accept-Language": lang}):
        assert fmt_number(1234567) == number


def test_pages_show_dates_in_the_language(hall: dict[str, Any]) -> None:
    """The home page and the ballot page of a vote already cast, in Korean and French."""
    voted = f"/votes/{hall['votes']['cast']}"
    korean = {"Accept-Language": "ko"}
    home = hall["anonymous"].get("/", headers=korean).get_data(as_text=True)
    assert "집행위원회 · 2017년 6월 27일 17:00 (UTC+04:00) · Tbilisi" in home
    french = {"Accept-Language": "fr-FR"}
    assert "Comité exécutif · 27 juin 2017, 17:00 (UTC+04:00) · Tbilisi" in hall["anonymous"].get("/", headers=french).get_data(as_text=True)
    ballot = hall["delegate"].get(voted, headers=french).get_data(as_text=True)
    assert re.search(r"Vous avez déjà voté dans ce scrutin, le \d{1,2} \w+\.? \d{4}, \d\d:\d\d \(UTC\+04:00\)\.", ballot)
    used = hall["anonymous"].get(f"/e/{'0' * 26}", headers=korean).get_data(as_text=True)
    assert "이 등록 코드는 저희가 발급한 코드가 아닙니다." in used


def test_server_messages_speak_the_language(hall: dict[str, Any]) -> None:
    """A refused ballot (BallotRefused), a check-in refusal (CheckInRefused) and a flash, in three languages."""
    again = hall["delegate"].get(f"/api/votes/{hall['votes']['cast']}").get_json()
    resp = hall["delegate"].post(f"/api/votes/{hall['votes']['cast']}/ballots", json={"ballot": 1, "signature": 2},
                                 headers={"Accept-Language": "es"})
    assert resp.status_code == 400 and again["vote"]
    assert resp.get_json()["message"] == "La papeleta debe enviarse como su texto firmado y una firma."
    key = hall["meeting"].key
    refused = hall["delegate"].get(f"/c/{key}/AAAAAAAAAAAA", headers={"Accept-Language": "ru"})
    assert refused.status_code == 400
    assert "Этот код регистрации не действует для заседания «Executive Committee 2017» или устарел." in refused.get_data(as_text=True)
    ga = hall["ga"]
    checked = hall["delegate"].post(f"/c/{ga.key}/{hall['ga_code']}", headers={"Accept-Language": "ko"}, follow_redirects=True)
    assert "General Assembly 2099에 출석 확인되었습니다." in checked.get_data(as_text=True)


def test_scripts_get_their_messages_in_the_language(hall: dict[str, Any]) -> None:
    """The ballot page carries the scripts' words as a JSON data block (never executed: the CSP allows it)."""
    page = hall["delegate"].get(f"/votes/{hall['votes']['motion']}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    block = JSON_BLOCK.search(page)
    assert block
    data = json.loads(block.group(0).split(">", 1)[1].rsplit("<", 1)[0])
    assert data["lang"] == "ru"
    assert data["messages"]["Sending your signed vote…"] == "Отправка вашего подписанного голоса…"
    assert data["messages"]["The network is not reachable."] == "Сеть недоступна."  # keystore.js
    forms = data["plurals"]["Choose at most %(num)s candidate; you chose %(chosen)s."]
    assert {"one", "few", "many"} <= set(forms) and "кандидата" in forms["one"] and "кандидатов" in forms["many"]
    english = hall["delegate"].get(f"/votes/{hall['votes']['motion']}").get_data(as_text=True)
    assert '{"lang":"en","messages":{},"plurals":{}}' in english


# ---------------------------------------------------------------- the catalogs


def _extracted(tmp_path: Path) -> set[str]:
    """The messages the code marks for translation now (as `make translations` extracts them)."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(REPO / "babel.cfg"), "-k", "T", "-k", "P:1,2",
                                "-o", str(pot), str(REPO)])
    return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot.open("rb")) if m.id}


@pytest.mark.parametrize("lang", FOREIGN)
def test_catalog_is_complete_and_current(lang: str, tmp_path: Path) -> None:
    catalog = read_po((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    assert catalog.num_plurals == {"ko": 1, "ru": 3, "es": 3, "fr": 3}[lang]
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or len(strings) != (catalog.num_plurals if message.pluralizable else 1):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"{lang}: untranslated {untranslated}"
    assert not fuzzy, f"{lang}: fuzzy {fuzzy}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"{lang}: placeholders or plural forms do not match: {problems}"
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    marked = _extracted(tmp_path)
    assert marked - ids == set(), f"{lang}: marked in the code but not in the catalog (run make translations)"
    assert ids - marked == set(), f"{lang}: in the catalog but no longer in the code (run make translations)"


@pytest.mark.parametrize("lang", FOREIGN)
def test_compiled_catalog_matches_its_po(lang: str) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    fresh = io.BytesIO()
    write_mo(fresh, read_po((folder / "messages.po").open("rb"), locale=lang))
    fresh.seek(0)

    def entries(catalog: Any) -> dict[Any, Any]:
        def frozen(value: Any) -> Any:
            return tuple(value) if isinstance(value, list | tuple) else value

        return {(frozen(m.id), m.context): frozen(m.string) for m in catalog if m.id}

    assert entries(read_mo((folder / "messages.mo").open("rb"))) == entries(read_mo(fresh)), \
        f"{folder}/messages.mo is not compiled from messages.po: run `make translations`"


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_scripts_messages_are_what_pybabel_extracts(script: str, tmp_path: Path) -> None:
    """voting/i18n.py finds the scripts' T() and P() calls itself, to ship their translations; it must
    find exactly what pybabel extracts from them into the catalogs."""
    pot, mapping = tmp_path / "js.pot", tmp_path / "js.cfg"
    mapping.write_text("[javascript: **.js]\n")
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(mapping), "-k", "T", "-k", "P:1,2",
                                "--no-default-keywords", "-o", str(pot), str(REPO / "voting" / "static" / "js" / f"{script}.js")])
    extracted = read_po(pot.open("rb"))
    singles, plurals = script_messages(script)
    assert {m.id for m in extracted if isinstance(m.id, str) and m.id} == set(singles)
    assert {tuple(m.id) for m in extracted if not isinstance(m.id, str)} == set(plurals)
