"""Fuzzing every route (issue 10 item 5): malformed JSON, huge bodies, wrong types, odd unicode,
other meetings' ids, garbage forms. Whatever arrives, the answer is a 4xx written for a person
(JSON with a "message", or the error page / a form naming what to correct), never a 500.

The walk reads `app.url_map` as the access matrix does (tests/voting/test_access_matrix.py), so a
new blueprint is fuzzed without touching this file: URL arguments this file has no plausible value
for are filled with generic ids and odd strings. FORMS and JSONS give known endpoints a plausible
body, which the fuzzer then breaks one field at a time, so requests also reach the services.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask, request_started
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ballots.canonical import NotCanonical, canonical_bytes
from ballots.signatures import BALLOT_LABEL, ENROL_LABEL, b64url_encode, enrolment_message, key_id_for
from tests.voting import test_access_matrix as matrix
from tests.voting.helpers import csrf_from, enrol_python_key
from voting.auth.access import PUBLIC
from voting.errors import HTTP_WORDS, Unavailable
from voting.extensions import db, writing
from voting.models import (
    AgendaItem,
    CastingVote,
    Delegate,
    EnrolmentToken,
    Meeting,
    StaffAccount,
    Vote,
    utcnow,
)
from voting.services import attendance, casting, identity, roster
from voting.services import meetings as meeting_service

ANONYMOUS, DELEGATE, STAFF_ROLES = matrix.ANONYMOUS, matrix.DELEGATE, matrix.STAFF_ROLES
MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # voting/config.py
HUGE = MAX_CONTENT_LENGTH + 1
# Hypothesis examples per rule and method (~120 of them), after each rule's deterministic sweep: the
# file stays well inside 90 s on 2 cores; VOTING_TEST_FUZZ_EXAMPLES=250 digs deeper (after changing views).
EXAMPLES = int(os.environ.get("VOTING_TEST_FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# The access matrix's world (one object of each kind, a signed-in client per principal), reused.
world = matrix.world
clients = matrix.clients


@pytest.fixture
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """E-mail goes to a closed port and fails at once (badges' "E-mail QR" is fuzzed too); a test
    may add settings with indirect parametrization (CSRF on)."""
    return {**app_config, "MAIL_HOST": "127.0.0.1", "MAIL_PORT": 9, "MAIL_TIMEOUT": 2, **getattr(request, "param", {})}


@pytest.fixture(autouse=True)
def _quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: each blueprint's world signs four staff in, and `heal` again after each rule."""
    from argon2 import PasswordHasher

    from voting.auth import passwords

    quick = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", quick)
    monkeypatch.setattr(passwords, "_DUMMY", quick.hash("unknown usernames are checked against this"))


UNAVAILABLE: list[str] = []  # messages of voting.errors.Unavailable raised during the current request


@pytest.fixture(autouse=True)
def _watch_unavailable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record every Unavailable raised: a 503 is allowed only when the handler raised one."""
    original = Unavailable.__init__

    def record(self: Unavailable, message: str, **kwargs: Any) -> None:
        UNAVAILABLE.append(message)
        original(self, message, **kwargs)

    def forget(_sender: Any, **_extra: Any) -> None:
        UNAVAILABLE.clear()

    monkeypatch.setattr(Unavailable, "__init__", record)
    request_started.connect(forget)
    yield
    request_started.disconnect(forget)


# ---------------------------------------------------------------- the rules, read at collection


RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _rules() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every rule of the application, as `create_app` builds it."""
    from voting import create_app

    saved = os.environ.get("VOTING_INSTANCE_PATH")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VOTING_INSTANCE_PATH"] = tmp
        try:
            app = create_app({"TESTING": True, "SECRET_KEY": "collection only", "DATABASE_URL": f"sqlite:///{tmp}/x.db"})
        finally:
            if saved is None:
                os.environ.pop("VOTING_INSTANCE_PATH", None)
            else:
                os.environ["VOTING_INSTANCE_PATH"] = saved
        app.extensions["voting.db"][0].dispose()
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        for method in sorted(set(rule.methods or ()) - matrix.IGNORED_METHODS):
            out.append((rule.endpoint, method, rule.rule))
    return out


RULES = _rules()
# One world per blueprint: the rules of a blueprint are fuzzed one after another in it (a fresh world
# per rule would spend most of the run building worlds); `heal` restores the principals in between.
GROUPS: dict[str, list[tuple[str, str, str]]] = {}
for _rule in RULES:
    GROUPS.setdefault(_rule[0].split(".")[0], []).append(_rule)


# ---------------------------------------------------------------- the world, and what fuzzing adds


def _enrol_staff_key(client: Any) -> str:
    """Give a signed-in staff client a device key, as staff_device.html does; its key id."""
    page = client.get("/account/device").get_data(as_text=True)
    challenge = re.search(r'data-challenge="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    holder = re.search(r'data-holder="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    key = ed25519.Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = key_id_for(spki)
    resp = client.post("/api/enrol/staff", json={
        "public_key": b64url_encode(spki), "device": "Fuzz laptop",
        "signature": b64url_encode(key.sign(ENROL_LABEL + enrolment_message(holder, key_id, challenge)))})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return key_id


@pytest.fixture
def fuzz(app: Flask, world: matrix.World, clients: dict[str, Any]) -> dict[str, Any]:
    """Besides the matrix's world: another member, delegate and meeting with its own open vote; in the
    walk's meeting a closed vote and an open vote the signed-in delegate may cast (checked in first,
    key enrolled anew so the test holds it); device keys for the chair and the Secretary General."""
    with app.app_context(), writing():
        s = db.session
        other_member = roster.create_member({"name": "Seoul", "country": "Korea", "region": "Asia-Pacific",
                                             "category": "full"})
        other_delegate = roster.add_delegate(other_member, {"display_name": "Seoul representative",
                                                            "email": "rep@seoul.example", "is_voting": True})
        other_meeting = meeting_service.create_meeting({
            "key": "ga-2017", "title": "General Assembly 2017", "body": "ga", "rule_set": "wego-2017",
            "starts_at": "2017-06-28T09:00+04:00", "ends_at": "2017-06-28T18:00+04:00"})
        other_item = meeting_service.add_agenda_item(other_meeting, {"number": "5", "title": "Budget", "decision": "motion"})
        s.commit()
        delegate = s.get(Delegate, world["delegate"]["id"])
        key, key_id = enrol_python_key(clients[DELEGATE], s, delegate)
        delegate = s.get(Delegate, world["delegate"]["id"])
        other_vote = casting.open_vote(other_item, "motion", "Does the General Assembly approve the budget?")
        meeting = s.get(Meeting, world["meeting"]["id"])
        closed_item = meeting_service.add_agenda_item(meeting, {"number": "2", "title": "Minutes", "decision": "motion"})
        closed_vote = casting.close_vote(casting.open_vote(closed_item, "motion", "Are the minutes approved?"))
        attendance.set_presence(meeting, delegate, True, via="desk")
        ready_item = meeting_service.add_agenda_item(meeting, {"number": "3", "title": "Host city", "decision": "motion"})
        ready_vote = casting.open_vote(ready_item, "motion", "Is Chengdu the host city?")
        s.commit()
        votes = [s.get(Vote, world["vote"]["id"]), ready_vote, closed_vote, other_vote]
        ballot_fields = [{"vote": casting.vote_ref(v), "round": v.round, "vote_sha256": v.definition_sha256,
                          "member": f"m{delegate.member_id}", "delegate": f"d{delegate.id}", "key": key_id}
                         for v in votes]
        attendee_id = s.scalars(select(EnrolmentToken.delegate_id)
                                .where(EnrolmentToken.token_hash == identity.token_hash(world["enrolment"]["token"]))).one()
        out = {
            "ids": {
                "member_id": [world["member"]["id"], other_member.id],
                "delegate_id": [delegate.id, other_delegate.id, attendee_id],
                "seat_id": [world["seat"]["id"]],
                "meeting_id": [meeting.id, other_meeting.id],
                "item_id": [world["agenda_item"]["id"], closed_item.id, ready_item.id, other_item.id],
                "candidacy_id": [world["candidacy"]["id"]],
                "vote_id": [v.id for v in votes],
            },
            "strings": {
                "meeting_key": [meeting.key, other_meeting.key],
                "token": [world["enrolment"]["token"], identity.format_token(world["enrolment"]["token"]).lower()],
                "code": [attendance.current_code(meeting).code, attendance.current_code(other_meeting).code],
                "leaf": ["0" * 64, "f" * 64],
            },
            "key": key, "ballots": ballot_fields,
        }
    for role in ("chair", "secretary-general"):
        _enrol_staff_key(clients[role])
    return out


# ---------------------------------------------------------------- strategies


# The values most likely to break a view; the deterministic sweep sends each in every field.
NASTY = [
    "", " ", "\x00", "a\x00b", "\ud800", "x" * 10_000, "²", "٣", "9" * 5000, str(2**63), "-1", "1e999", "NaN",
    "\u200f\u202eevil\u202c", "\U0001f5f3\ufe0f \U0001f4a9", "9999-12-31T23:59-23:59", "0001-01-01T00:00+14:00",
]
ODD_STRINGS = [
    "\u200b", "\ufeffbom", "\udfff", "x\udcff", "\U0001d573\U0001d58a", "İstanbul ǅ ß", "\uffff", "\r\n", "\t",
    "0x10", "null", "true", "[]", "{}", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "%00", "%", "\\",
    '"', "2017-02-30", "2017-06-27T17:00+99:00", "9999-12-31T23:59+14:00", "0001-01-01T00:00-23:59",
]
ODD_TEXT = st.one_of(st.sampled_from(NASTY), st.sampled_from(ODD_STRINGS), st.text(max_size=40))
WRONG_TYPES = [5, -1, 2**63, 10**40, 1.5, float("nan"), float("inf"), None, True, False, [], ["x"], {"x": 1}, "", "\ud800"]
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), ODD_TEXT)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)
DEEP = 100_000
MALFORMED_JSON = [
    b"", b"{", b'{"ballot": "x"', b'{"ballot": "x",}', b"\xff\xfe\x00{", b'{"token": "\xff\xfe"}', b"NaN", b"-Infinity",
    b"[" * DEEP + b"]" * DEEP, b'{"a":' * DEEP + b"1" + b"}" * DEEP, b"null", b"[]", b'[{"ballot": "x"}]', b'"text"', b"123",
    b"1" * 5000, b"1e999", b"\x00", codecs.BOM_UTF8 + b'{"a": 1}', codecs.BOM_UTF16_LE + '{"a": 1}'.encode("utf-16-le"),
    b'{"a": 1, "a": 2}', b'{"signature": "\\ud800", "ballot": "\\udfff"}', b"\xed\xa0\x80",
]
JSON_TYPES = ["application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=nothing", "application/json; charset=\x00"]
ACCEPTS = [None, "application/json", "text/html", "*/*", "application/json;q=0.1, text/html;q=0.9", "image/png"]
FIELD_POOL = ["csrf_token", "action", "code", "confirm", "q", "page", "meeting", "member", "member_id", "next", "kind",
              "file", "ballot", "signature", "token", "public_key", "device", "sha256", "option", "seats", "question",
              "count-yes", "count-no", "count-abstain", "is_active", "is_voting", "status", "x" * 300]
QUERY_POOL = ["page", "meeting", "q", "status", "category", "region", "member_id", "vote", "leaf", "next", "w"]
# Query parameters each view reads (the sweep sends every NASTY value in each).
QUERIES: dict[str, list[str]] = {
    "auth.login": ["next"], "badges.keys": ["meeting", "q", "status", "page"], "chair.desk": ["q"],
    "chair.venue_code_png": ["w"], "receiptcheck.verify_page": ["meeting", "vote", "leaf"],
    "roster.audit_log": ["page"], "roster.members": ["q", "category", "region", "status"], "roster.seat_new": ["member_id"],
}
GARBAGE_SEGMENTS = ["-1", "1.0", "abc", "٣", "²", "0x1", "1e3", " 1", "%00", "%ff", "%2F", "..", "", "00001",
                    "x" * 2000, "\U0001f5f3", "\u202e1", "%ed%a0%80"]
ODD_IDS = [0, 2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**40]


def ids_of(fuzz: dict[str, Any], name: str) -> list[Any]:
    ids = fuzz["ids"].get(name)
    return ids if ids is not None else sorted({i for v in fuzz["ids"].values() for i in v})


def plausible(fuzz: dict[str, Any], name: str) -> list[Any]:
    """Plausible values of a form field, the first a valid one: what the page offers, ids of this
    and of other meetings."""
    member_ids = [str(i) for i in ids_of(fuzz, "member_id")]
    values: dict[str, list[Any]] = {
        # roster
        "name": ["Busan"], "country": ["Korea"], "region": ["Europe", "Asia-Pacific", "europe", "Atlantis"],
        "category": ["full", "associate", "friendship", "corporate"],
        "status": ["active", "suspended", "withdrawn", "unknown"], "status_effective_on": ["2017-06-27", ""],
        "fee_paid_through": ["2017", "17"], "joined_on": ["2010-09-01", "2010-13-01"],
        "display_name": ["Busan representative"], "email": ["a@b.example", "rep1@chengdu.example", "not-an-email", "yes"],
        "is_voting": ["y", "yes", "on", "1"], "is_active": ["y", "on"],
        "member_id": member_ids, "member": member_ids, "office": ["president", "vice-president", "member", "treasurer"],
        "term_start": ["2016", "2018"], "term_end": ["2018", "2016"],
        "key": ["excom-2018", "ga-2017", "Bad Key"], "body": ["ga", "excom"], "rule_set": ["wego-2014", "wego-2017"],
        "starts_at": ["2017-06-27T17:00+04:00", "2017-06-27T17:00"], "ends_at": ["2017-06-27T18:30+04:00", "2017-06-26T18:30+04:00"],
        "host_member_id": ["", *member_ids], "number": ["7.1", "7"], "title": ["A title"],
        "decision": ["motion", "none", "host-city", "president", "excom-election"],
        "kind": ["members", "delegates", "host-city", "president", "bogus"], "notified_on": ["2017-05-28", "28/05/2017"],
        # staff, badges, desk, console
        "username": ["nobody", "matrix-chair"], "password": ["wrong", matrix.PASSWORD],
        "current": [matrix.PASSWORD, "wrong"], "new": ["a long new password 1", "short"],
        "repeat": ["a long new password 1", "other"], "code": fuzz["strings"]["token"],
        "action": ["show", "email", "reissue", "in", "out"], "confirm": ["yes", "no"],
        "meeting": [str(i) for i in ids_of(fuzz, "meeting_id")],
        "question": ["Is it approved?"], "confirm_report": ["1", "y"], "seats": ["1", "2", "0", "-3"],
        "option": ["chengdu", "seoul", "Chengdu"], "extra_options": ["Option A\nOption B", "\n\n", "A\nA"],
        "count-yes": ["1", "0", "-1", "1.5"], "count-no": ["0", "2"], "count-abstain": ["0"],
        # written consent
        "text": ["The Executive Committee approves the budget."],
        "attachments": ["Budget | https://we-gov.org/b.pdf", "no bar"],
        "rule": ["written-consent", "special-session-in-writing", "bogus"],
        "deadline": ["2030-03-31T18:00+09:00", "2017-01-01T00:00+00:00"], "text_sha256": ["0" * 64],
    }
    return values.get(name) or ["A plausible text", "Chengdu", "China", "1"]


def _plausibly(fuzz: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(plausible(fuzz, name))


# Form fields each known endpoint takes (a plausible form is built from them, then broken).
FORMS: dict[str, list[str]] = {
    "auth.login": ["username", "password"],
    "auth.password": ["current", "new", "repeat"],
    "assembly.enrol_typed": ["code"],
    "badges.enrolment": ["action", "meeting", "q", "status", "page"],
    "badges.badges_pdf": ["confirm", "member"],
    "chair.desk_set": ["action", "q"],
    "console.open_vote": ["question", "confirm_report", "option", "seats", "extra_options"],
    "console.hands_record": ["count-yes", "count-no", "count-abstain"],
    "roster.member_new": ["name", "country", "region", "category", "status", "status_effective_on", "fee_paid_through",
                          "joined_on", "notes"],
    "roster.delegate_new": ["display_name", "email", "phone", "is_voting"],
    "roster.delegate_edit": ["display_name", "email", "phone", "is_voting", "is_active"],
    "roster.seat_new": ["member_id", "office", "term_start", "term_end"],
    "roster.seat_edit": ["office", "term_start", "term_end"],
    "roster.meeting_new": ["key", "title", "body", "rule_set", "starts_at", "ends_at", "venue", "city", "host_member_id"],
    "roster.agenda_new": ["number", "title", "presenter", "decision", "summary"],
    "roster.candidacy_new": ["member_id", "kind", "notified_on", "notes"],
    "roster.import_csv": ["kind", "file"],
    "consent.new": ["title", "text", "attachments", "rule", "rule_set", "deadline"],
    "consent.send": ["confirm", "text_sha256", "email"],
    "consent.link_action": ["action"],
    "consent.sheet_pdf": ["confirm", "member"],
    "consent.typed": ["code"],
}
FORMS["consent.edit"] = FORMS["consent.new"]
FORMS["roster.member_edit"] = FORMS["roster.member_new"]
FORMS["roster.meeting_edit"] = FORMS["roster.meeting_new"]
FORMS["roster.agenda_edit"] = FORMS["roster.agenda_new"]

# JSON fields each known API takes.
JSONS: dict[str, list[str]] = {
    "assembly.api_enrol": ["token", "public_key", "signature", "device"],
    "assembly.api_enrol_staff": ["public_key", "signature", "device"],
    "casting.submit": ["ballot", "signature"],
    "console.certificate_prepare": [],
    "console.certificate_sign": ["signature", "sha256"],
    "console.casting_cast": ["ballot", "signature"],
}

CSV_SAMPLES = [
    b"name,country,region,category\nBusan,Korea,Asia-Pacific,full\n",
    b"name,country,region,category\n\x00,\xff\xfe,\xed\xa0\x80,full\n",
    "name,country,region,category\n\u202eBusan,Korea,Asia-Pacific,full\n".encode(),
    b"member,country,display_name,email,voting\nChengdu,China,A,a@b.example,maybe\n",
    b'"unterminated,quote\n', b"", b"\xef\xbb\xbf" + b"name\n" + b"x" * 50_000, codecs.BOM_UTF16_LE + "name\n".encode("utf-16-le"),
    b"name,name,name\n1,2,3\n", b"a\rb\r\nc\n" * 100,
]


def _segment(value: Any) -> str:
    """A URL path segment for a value: numbers as digits, text percent-encoded from its UTF-8 bytes."""
    if isinstance(value, int):
        return str(value)
    if value.startswith("%") or value in GARBAGE_SEGMENTS:
        return value  # already as it travels
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def url_for_rule(draw: Any, rule: str, fuzz: dict[str, Any]) -> str:
    """The rule's path with each argument plausible (this or another meeting's), odd, or garbage."""

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        roll = draw(st.integers(0, 9))
        if converter == "int":
            if roll < 6:
                return str(draw(st.sampled_from(ids_of(fuzz, name))))
            if roll < 8:
                return str(draw(st.sampled_from(ODD_IDS) | st.integers(min_value=0, max_value=10**6)))
            return draw(st.sampled_from(GARBAGE_SEGMENTS))
        known = fuzz["strings"].get(name, [])
        if roll < 6 and known:
            return _segment(draw(st.sampled_from(known)))
        if roll < 8:
            return _segment(draw(ODD_TEXT.filter(lambda t: "/" not in t)))
        return draw(st.sampled_from(GARBAGE_SEGMENTS))

    return RULE_ARG.sub(fill, rule)


def _encode_pairs(pairs: list[tuple[str, Any]]) -> bytes:
    """application/x-www-form-urlencoded bytes, keeping lone surrogates and raw bytes as sent."""
    out = []
    for name, value in pairs:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        out.append((name.encode("utf-8", "surrogatepass"), raw))
    return urlencode(out).encode("ascii")


@st.composite
def form_body(draw: Any, endpoint: str, fuzz: dict[str, Any]) -> dict[str, Any]:
    """A plausible form for the endpoint with fields missing, added, repeated or garbled."""
    fields = FORMS.get(endpoint, [])
    pairs: list[tuple[str, Any]] = [(f, draw(_plausibly(fuzz, f))) for f in fields if f != "file"]
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["drop", "garble", "repeat", "extra", "bytes"]))
        if how == "drop" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif how == "garble" and pairs:
            i = draw(st.integers(0, len(pairs) - 1))
            pairs[i] = (pairs[i][0], draw(ODD_TEXT))
        elif how == "repeat" and pairs:
            name = pairs[draw(st.integers(0, len(pairs) - 1))][0]
            pairs.append((name, draw(ODD_TEXT | _plausibly(fuzz, name))))
        elif how == "extra":
            pairs.append((draw(st.sampled_from(FIELD_POOL) | ODD_TEXT), draw(ODD_TEXT)))
        elif how == "bytes" and pairs:
            i = draw(st.integers(0, len(pairs) - 1))
            pairs[i] = (pairs[i][0], draw(st.sampled_from([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"a\x00b"])))
    if "file" in fields or draw(st.integers(0, 9)) == 0:
        # Multipart, with a file: text values must be encodable there (the browser's own encoding).
        data: dict[str, Any] = {}
        for name, value in pairs:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            data.setdefault(name.encode("utf-8", "replace").decode("utf-8"), []).append(text.encode("utf-8", "replace").decode("utf-8"))
        if draw(st.booleans()) or "file" in fields:
            data["file"] = (io.BytesIO(draw(st.sampled_from(CSV_SAMPLES))), draw(st.sampled_from(["roster.csv", "", "x.exe", "\u202ecsv.exe"])))
        return {"data": data, "content_type": "multipart/form-data"}
    return {"data": _encode_pairs(pairs), "content_type": "application/x-www-form-urlencoded"}


def _signed_ballot(fuzz: dict[str, Any], fields: dict[str, Any], choice: Any, *, tamper: str = "") -> dict[str, Any]:
    data = canonical_bytes({"v": 1, **fields, "choice": choice, "nonce": b64url_encode(secrets.token_bytes(18))})
    signature = b64url_encode(fuzz["key"].sign(BALLOT_LABEL + data))
    text = data.decode("utf-8")
    if tamper == "spaces":
        text = text.replace(",", ", ")
    elif tamper == "signature":
        signature = signature[::-1]
    return {"ballot": text, "signature": signature}


@st.composite
def json_body(draw: Any, endpoint: str, fuzz: dict[str, Any]) -> dict[str, Any]:
    """A JSON body: a plausible object with fields of wrong types or odd text, or malformed bytes."""
    kind = draw(st.sampled_from(["object", "object", "object", "malformed", "value"]))
    content_type = "application/json" if draw(st.integers(0, 4)) else draw(st.sampled_from(JSON_TYPES))
    if kind == "malformed":
        return {"data": draw(st.sampled_from(MALFORMED_JSON)), "content_type": content_type}
    if kind == "value":
        value: Any = draw(JSON_VALUES)
    else:
        value = {}
        if endpoint == "casting.submit" and draw(st.booleans()):
            fields = dict(draw(st.sampled_from(fuzz["ballots"])))
            if draw(st.integers(0, 3)) == 0:
                fields[draw(st.sampled_from(sorted(fields)))] = draw(st.sampled_from(WRONG_TYPES) | ODD_TEXT)
            choice = draw(st.sampled_from(["yes", "no", "abstain"]) | JSON_VALUES)
            try:
                value = _signed_ballot(fuzz, fields, choice, tamper=draw(st.sampled_from(["", "", "spaces", "signature"])))
            except NotCanonical:  # a choice or field canonical JSON cannot hold: send it unsigned
                value = {"ballot": repr(choice), "signature": "AAAA"}
        for name in JSONS.get(endpoint, []):
            if name not in value:
                value[name] = draw(st.sampled_from(fuzz["strings"]["token"]) if name == "token" else ODD_TEXT)
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from([*JSONS.get(endpoint, []), *FIELD_POOL[:20]]))
            value[name] = draw(st.sampled_from(WRONG_TYPES) | JSON_VALUES)
    return {"data": json.dumps(value, allow_nan=True).encode(), "content_type": content_type}


@st.composite
def request_for(draw: Any, endpoint: str, method: str, rule: str, fuzz: dict[str, Any]) -> dict[str, Any]:
    """One fuzzed request: URL, query string, body and Accept header."""
    req: dict[str, Any] = {"path": draw(url_for_rule(rule, fuzz)), "method": method, "headers": {}}
    if draw(st.booleans()):
        names = st.sampled_from(QUERIES.get(endpoint, QUERY_POOL)) | st.sampled_from(QUERY_POOL)
        pairs = draw(st.lists(st.tuples(names, ODD_TEXT | st.sampled_from(["1", "2", *[str(i) for i in ids_of(fuzz, "meeting_id")]])),
                              max_size=3))
        req["query_string"] = _encode_pairs(pairs).decode("ascii")
    accept = draw(st.sampled_from(ACCEPTS))
    if accept:
        req["headers"]["Accept"] = accept
    if method != "GET":
        roll = draw(st.integers(0, 19))
        if roll == 0:
            req.update(data=b"x" * HUGE, content_type=draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded"])))
        elif endpoint in JSONS:
            req.update(draw(json_body(endpoint, fuzz) if roll > 4 else form_body(endpoint, fuzz)))
        else:
            req.update(draw(form_body(endpoint, fuzz) if roll > 4 else json_body(endpoint, fuzz)))
    return req


# ---------------------------------------------------------------- what every answer must be


WERKZEUG_DEFAULT = re.compile(r"<title>\d{3} [^<]*</title>|Werkzeug Debugger|Traceback \(most recent call last\)")
# A form re-rendered with what to correct: a shown (not hidden) error message with words in it.
VISIBLE_ERROR = re.compile(r'class="(?:flash flash-error|field-error)"(?![^>]*\bhidden\b)[^>]*>\s*[^<\s]')
# 4xx pages that are not the error page but say what to do, and why each is intended.
PERSON_PAGES = {
    "Scan your badge first": "a venue check-in code opened on a phone without a delegate's key",
}


def problem_with(resp: Any) -> str | None:
    """What is wrong with an answer, or None: never a 500 (a 503 only when voting.errors.Unavailable
    was raised); every 4xx (and that 503) written for a person."""
    status = resp.status_code
    body = resp.get_data()
    if status >= 500 and not (status == 503 and UNAVAILABLE):
        return f"{status}: {body[:300]!r}"
    if status < 400:
        return None
    if resp.mimetype == "application/json":
        try:
            doc = json.loads(body)
        except ValueError:
            return f"{status} JSON that does not parse: {body[:200]!r}"
        if not isinstance(doc, dict) or not isinstance(doc.get("message"), str) or not doc["message"].strip():
            return f"{status} JSON without a message: {body[:200]!r}"
        return None
    if resp.mimetype != "text/html":
        return f"{status} answered as {resp.mimetype}: {body[:200]!r}"
    text = body.decode("utf-8", "replace")
    if WERKZEUG_DEFAULT.search(text):
        return f"{status} is a default or debug page: {text[:300]!r}"
    if 'name="csrf-token"' not in text:
        return f"{status} is not one of the application's pages: {text[:300]!r}"
    if "error-card" in text or VISIBLE_ERROR.search(text) or any(marker in text for marker in PERSON_PAGES):
        return None
    return f"{status} page says nothing about what went wrong: {text[:300]!r}"


def _send(client: Any, req: dict[str, Any]) -> Any:
    req = dict(req)
    path = req.pop("path")
    return client.open(path, **req)


def _describe(principal: str, req: dict[str, Any]) -> str:
    data = req.get("data")
    shown = f"{len(data)} bytes" if isinstance(data, bytes) and len(data) > 300 else repr(data)[:300]
    return (f"{req['method']} {req['path'][:200]}?{req.get('query_string', '')[:100]} as {principal} "
            f"({req.get('content_type')}): {shown}")


def principals_for(app: Flask, endpoint: str) -> list[str]:
    """Anonymous, the delegate, the roles the view allows, and one staff role it refuses."""
    access = getattr(app.view_functions[endpoint], "access", None)
    if access is None or access == PUBLIC:
        return [ANONYMOUS, DELEGATE, "secretariat", "chair"]
    allowed = sorted(set(access) & set(STAFF_ROLES))
    refused = [r for r in STAFF_ROLES if r not in access][:1]
    return [ANONYMOUS, DELEGATE, *allowed, *refused]


# ---------------------------------------------------------------- the deterministic sweep


SWEEP_IDS = [0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**40]
SWEEP_SEGMENTS = ["-1", "abc", "٣", "²", "%00", "%ed%a0%80", "x" * 2000, "\u202e1"]
SWEEP_BODIES = [(body, "application/json") for body in MALFORMED_JSON[:12]] + [
    (b"x" * HUGE, "application/json"), (b"x" * HUGE, "application/x-www-form-urlencoded"), (b"", "text/plain"),
    (b"a=1&a=2&\xff=\xfe&&=", "application/x-www-form-urlencoded"), (b"--x\r\n\r\n", "multipart/form-data; boundary=x")]


def _path(rule: str, fuzz: dict[str, Any], override: dict[str, str] | None = None) -> str:
    """The rule's path, each argument its first plausible value unless overridden (as it travels)."""

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if override and name in override:
            return override[name]
        if converter == "int":
            return str(ids_of(fuzz, name)[0])
        return _segment((fuzz["strings"].get(name) or ["x"])[0])

    return RULE_ARG.sub(fill, rule)


def _json_value(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def sweep(endpoint: str, method: str, rule: str, fuzz: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every URL argument, query parameter and field in turn set to each value in NASTY (ids of other
    meetings, huge and negative ids for numbers), the rest plausible; then malformed and huge bodies."""
    base: dict[str, Any] = {"path": _path(rule, fuzz), "method": method, "headers": {}}
    fields = [f for f in FORMS.get(endpoint, []) if f != "file"]
    pairs = [(f, plausible(fuzz, f)[0]) for f in fields]
    body: dict[str, Any] = {}
    if method != "GET":
        if endpoint in JSONS:
            body = {"data": _json_value({f: (fuzz["strings"]["token"][0] if f == "token" else "AAAA") for f in JSONS[endpoint]}),
                    "content_type": "application/json"}
        elif endpoint == "roster.import_csv":
            body = {"data": {"kind": "members", "file": (io.BytesIO(CSV_SAMPLES[0]), "roster.csv")}, "content_type": "multipart/form-data"}
        else:
            body = {"data": _encode_pairs(pairs), "content_type": "application/x-www-form-urlencoded"}

    def with_body(req: dict[str, Any]) -> dict[str, Any]:
        out = {**req, **body}
        if endpoint == "roster.import_csv" and method != "GET":  # a file object is read once
            out["data"] = {"kind": "members", "file": (io.BytesIO(CSV_SAMPLES[0]), "roster.csv")}
        return out

    yield with_body(base)
    for converter, name in RULE_ARG.findall(rule):
        if converter == "int":
            values = [str(i) for i in [*ids_of(fuzz, name)[1:], *SWEEP_IDS]] + SWEEP_SEGMENTS
        else:
            values = [_segment(v) for v in [*fuzz["strings"].get(name, [])[1:], *NASTY] if v] + SWEEP_SEGMENTS
        for value in values:
            yield with_body({**base, "path": _path(rule, fuzz, {name: value})})
    for name in QUERIES.get(endpoint, ["page"] if method == "GET" else []):
        for value in NASTY:
            yield with_body({**base, "query_string": _encode_pairs([(name, value)]).decode("ascii")})
    if method == "GET":
        return
    if endpoint in JSONS:
        plain = {f: (fuzz["strings"]["token"][0] if f == "token" else "AAAA") for f in JSONS[endpoint]}
        for name in [*JSONS[endpoint], "extra"]:
            for value in [*NASTY, *WRONG_TYPES]:
                yield {**base, "data": _json_value({**plain, name: value}), "content_type": "application/json"}
    elif endpoint == "roster.import_csv":
        for sample in CSV_SAMPLES:
            for kind in ("members", "delegates", "\x00"):
                yield {**base, "data": {"kind": kind, "file": (io.BytesIO(sample), "roster.csv")}, "content_type": "multipart/form-data"}
    for i, (name, _value) in enumerate(pairs):
        others = pairs[:i] + pairs[i + 1:]
        for value in [*NASTY, *plausible(fuzz, name)[1:], b"\xff\xfe"]:
            yield {**base, "data": _encode_pairs([*others, (name, value)]), "content_type": "application/x-www-form-urlencoded"}
        yield {**base, "data": _encode_pairs(others), "content_type": "application/x-www-form-urlencoded"}
        yield {**base, "data": _encode_pairs([*pairs, (name, "²")]), "content_type": "application/x-www-form-urlencoded"}
    for i, (data, content_type) in enumerate(SWEEP_BODIES):  # half of them asking for a page, not JSON
        yield {**base, "data": data, "content_type": content_type, "headers": {"Accept": "text/html"} if i % 2 else {}}


def main_principal(app: Flask, endpoint: str) -> str:
    """Who the sweep sends as: the first role the view allows (the delegate for phone pages)."""
    access = getattr(app.view_functions[endpoint], "access", None)
    if access is None or access == PUBLIC:
        return ANONYMOUS
    for role in ["secretariat", "chair", "secretary-general", "observer", DELEGATE]:
        if role in access:
            return role
    return ANONYMOUS


def heal(app: Flask, fuzz: dict[str, Any], clients: dict[str, Any]) -> None:
    """Undo what a fuzzed rule may have done to the principals: staff signed out, switched accounts or
    changed a password; the delegate deactivated, made an attendee, signed out or its key re-issued."""
    from voting.auth.passwords import hash_password

    with app.app_context(), writing():
        for account in db.session.scalars(select(StaffAccount).where(StaffAccount.username.startswith("matrix-"))):
            account.password_hash, account.must_change_password, account.is_active = hash_password(matrix.PASSWORD), False, True
        delegate = db.session.get(Delegate, fuzz["ids"]["delegate_id"][0])
        delegate.is_active, delegate.is_voting = True, True
        db.session.commit()
    for role in STAFF_ROLES:
        resp = clients[role].post("/login", data={"username": f"matrix-{role}", "password": matrix.PASSWORD})
        assert resp.status_code == 302, f"{role} could not sign in again: {resp.status_code}"
    if clients[DELEGATE].get("/api/session").get_json()["kind"] != DELEGATE:
        with app.app_context(), writing():
            key, key_id = enrol_python_key(clients[DELEGATE], db.session, db.session.get(Delegate, fuzz["ids"]["delegate_id"][0]))
        fuzz["key"] = key
        fuzz["ballots"] = [{**b, "key": key_id} for b in fuzz["ballots"]]


# ---------------------------------------------------------------- the fuzzing walk


def fuzz_rule(app: Flask, fuzz: dict[str, Any], clients: dict[str, Any], endpoint: str, method: str, rule: str) -> list[str]:
    """The problems found on one rule: the sweep as its main principal, then hypothesis as anyone."""
    problems: list[str] = []
    principal = main_principal(app, endpoint)
    for req in sweep(endpoint, method, rule, fuzz):
        problem = problem_with(_send(clients[principal], req))
        if problem is not None:
            problems.append(f"{_describe(principal, req)}\n    -> {problem}")
            if len(problems) >= 5:
                return problems  # enough to fix; the rest is likely the same cause

    @FUZZ
    @given(data=st.data())
    def fuzzed(data: Any) -> None:
        who = data.draw(st.sampled_from(principals_for(app, endpoint)), label="principal")
        req = data.draw(request_for(endpoint, method, rule, fuzz), label="request")
        problem = problem_with(_send(clients[who], req))
        assert problem is None, f"{_describe(who, req)}\n    -> {problem}"

    try:
        fuzzed()
    except Exception as err:  # hypothesis has shrunk it: report it with the others
        problems.append(str(err))
    return problems


@pytest.mark.parametrize("blueprint", sorted(GROUPS))
def test_every_route_answers_fuzz_with_a_message_never_a_500(app: Flask, fuzz: dict[str, Any], clients: dict[str, Any],
                                                             blueprint: str) -> None:
    """Every rule of the blueprint, every method: never a 500, every 4xx written for a person."""
    problems: list[str] = []
    for endpoint, method, rule in GROUPS[blueprint]:
        found = fuzz_rule(app, fuzz, clients, endpoint, method, rule)
        problems += [f"{method} {rule} ({endpoint}): {p}" for p in found]
        heal(app, fuzz, clients)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_walk_covers_every_rule(app: Flask) -> None:
    """The rules fuzzed are the application's rules (read at collection from the same factory)."""
    live = {(r.endpoint, m, r.rule) for r in app.url_map.iter_rules() if r.endpoint != "static"
            for m in set(r.methods or ()) - matrix.IGNORED_METHODS}
    assert live == set(RULES)
    assert len(RULES) > 80


# ---------------------------------------------------------------- deeper paths with valid signatures


@FUZZ
@given(choice=st.sampled_from(["yes", "no", "abstain"]) | JSON_VALUES, which=st.integers(0, 3))
def test_signed_ballots_with_odd_choices_are_refused_with_a_reason(app: Flask, fuzz: dict[str, Any],
                                                                   clients: dict[str, Any], choice: Any, which: int) -> None:
    """A ballot correctly signed by the delegate's key, whatever its choice: stored or refused in words."""
    fields = fuzz["ballots"][which]
    try:
        body = _signed_ballot(fuzz, fields, choice)
    except NotCanonical:
        return  # canonical JSON cannot hold this choice, so no phone could sign it
    resp = clients[DELEGATE].post(f"/api/votes/{fuzz['ids']['vote_id'][which]}/ballots", json=body)
    assert problem_with(resp) is None, f"{choice!r}: {problem_with(resp)}"


@FUZZ
@given(device=ODD_TEXT, staff=st.booleans())
def test_device_names_are_stored_or_refused(app: Flask, fuzz: dict[str, Any], clients: dict[str, Any],
                                            device: str, staff: bool) -> None:
    """The device label a phone sends travels with a valid proof of the key: odd text is stored cleanly or refused."""
    key = ed25519.Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = key_id_for(spki)
    if staff:
        client = clients["observer"]
        page = client.get("/account/device").get_data(as_text=True)
        challenge = re.search(r'data-challenge="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        holder = re.search(r'data-holder="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        url, body = "/api/enrol/staff", {}
    else:
        client = app.test_client()
        with app.app_context(), writing():
            delegate = db.session.scalars(select(Delegate).where(Delegate.member_id == fuzz["ids"]["member_id"][1])).one()
            token = identity.issue_token(delegate).token
            holder, challenge = identity.delegate_ref(delegate)[0], identity.token_hash(token)
            db.session.commit()
        url, body = "/api/enrol", {"token": token}
    body.update(public_key=b64url_encode(spki), device=device,
                signature=b64url_encode(key.sign(ENROL_LABEL + enrolment_message(holder, key_id, challenge))))
    resp = client.post(url, data=json.dumps(body), content_type="application/json")
    assert problem_with(resp) is None, f"{device[:50]!r}: {problem_with(resp)}"


@FUZZ
@given(text=ODD_TEXT, choice=st.sampled_from(["yes", "no"]) | ODD_TEXT)
def test_the_casting_vote_refuses_odd_ballots_in_words(app: Flask, fuzz: dict[str, Any], clients: dict[str, Any],
                                                       text: str, choice: str) -> None:
    """The Secretary General's casting vote (requested on a tie) with odd ballot text: refused in words."""
    vote_id = fuzz["ids"]["vote_id"][2]  # the closed vote
    with app.app_context(), writing():
        if db.session.scalars(select(CastingVote).where(CastingVote.vote_id == vote_id)).first() is None:
            db.session.add(CastingVote(vote_id=vote_id, tied=["yes", "no"], requested_by="staff:matrix-chair",
                                       requested_at=utcnow()))
            db.session.commit()
    for body in ({"ballot": text, "signature": "AAAA"}, {"ballot": json.dumps({"choice": choice}), "signature": text}):
        resp = clients["secretary-general"].post(f"/api/sg/votes/{vote_id}/casting-vote", data=json.dumps(body),
                                                 content_type="application/json")
        assert problem_with(resp) is None, f"{body!r:.200}: {problem_with(resp)}"


# ---------------------------------------------------------------- request size limits


def test_a_3_mb_ballot_is_refused_with_413_json(fuzz: dict[str, Any], clients: dict[str, Any]) -> None:
    """Above MAX_CONTENT_LENGTH (2 MB) a ballot is refused before it is read, in errors.py's words."""
    vote_id = fuzz["ids"]["vote_id"][1]
    body = json.dumps({"ballot": "x" * (3 * 1024 * 1024), "signature": "AAAA"})
    resp = clients[DELEGATE].post(f"/api/votes/{vote_id}/ballots", data=body, content_type="application/json")
    assert resp.status_code == 413
    doc = resp.get_json()
    title, hint = HTTP_WORDS[413]
    assert doc["message"] == title and doc["hint"] == hint


def test_a_3_mb_csv_import_is_refused_with_413_page(clients: dict[str, Any]) -> None:
    """A roster file above the limit gets the error page, saying how large a file may be."""
    csv_bytes = b"name,country,region,category\n" + b"Busan,Korea,Asia-Pacific,full\n" * (3 * 1024 * 1024 // 30)
    resp = clients["secretariat"].post("/roster/import", data={"kind": "members", "file": (io.BytesIO(csv_bytes), "big.csv")},
                                       content_type="multipart/form-data")
    assert resp.status_code == 413 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    title, hint = HTTP_WORDS[413]
    assert "error-card" in page and title in page and hint in page
    assert problem_with(resp) is None


@pytest.mark.parametrize(("path", "content_type"), [("/api/enrol", "application/json"), ("/login", "application/x-www-form-urlencoded"),
                                                   ("/e", "application/x-www-form-urlencoded"), ("/e", "multipart/form-data; boundary=x")])
def test_bodies_above_the_limit_are_413_before_signing_in(client: Any, path: str, content_type: str) -> None:
    """The size limit holds for anonymous requests too, on JSON and forms alike."""
    resp = client.post(path, data=b"x" * HUGE, content_type=content_type, headers={"Accept": "text/html"})
    assert resp.status_code == 413, resp.status_code
    assert problem_with(resp) is None and HTTP_WORDS[413][0] in resp.get_data(as_text=True)


# ---------------------------------------------------------------- CSRF on


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_a_missing_or_bad_csrf_token_is_400_with_a_message(app: Flask, make_staff: Any) -> None:
    """With CSRF on (as in production): forms get the error page, API calls a JSON message."""
    words = "This form had expired"
    account, password = make_staff("secretariat", username="csrf-secretariat")
    client = app.test_client()
    for token in (None, "garbage", "\ud800"):
        data = {"username": account.username, "password": password}
        if token is not None:
            data["csrf_token"] = token
        resp = client.post("/login", data=_encode_pairs(list(data.items())),
                           content_type="application/x-www-form-urlencoded")
        assert resp.status_code == 400 and resp.mimetype == "text/html", resp.status_code
        assert words in resp.get_data(as_text=True) and problem_with(resp) is None

    page = client.get("/login").get_data(as_text=True)
    token = csrf_from(page)
    resp = client.post("/login", data={"username": account.username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, "a form with its token still works"
    for path in ("/members/new", "/roster/import", "/delegates/1/enrolment"):  # refused before the view looks
        resp = client.post(path, data={"name": "Busan"})
        assert resp.status_code == 400 and words in resp.get_data(as_text=True), path

    for headers in ({}, {"X-CSRFToken": "garbage"}, {"X-CSRFToken": token + "x"}):
        for path in ("/api/enrol", "/api/enrol/staff", "/api/votes/1/ballots", "/api/chair/votes/1/certificate"):
            resp = client.post(path, json={"token": "x"}, headers=headers)
            assert resp.status_code == 400 and resp.mimetype == "application/json", (path, resp.status_code)
            assert words in resp.get_json()["message"], path
    # With the page's token in the header, an API call reaches its view (and is refused there).
    resp = client.post("/api/enrol", json={"token": "x"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and resp.get_json()["error"] == "enrolment_code_malformed"


# ---------------------------------------------------------------- the fixture world itself


def test_the_fuzz_world_has_another_meeting_and_a_castable_vote(app: Flask, fuzz: dict[str, Any],
                                                                clients: dict[str, Any]) -> None:
    """The plausible values are what they claim: a ballot for the ready vote is accepted, one for
    another meeting's vote is refused in words."""
    ready, other = fuzz["ids"]["vote_id"][1], fuzz["ids"]["vote_id"][3]
    ok = clients[DELEGATE].post(f"/api/votes/{ready}/ballots", json=_signed_ballot(fuzz, fuzz["ballots"][1], "yes"))
    assert ok.status_code == 201, ok.get_data(as_text=True)
    refused = clients[DELEGATE].post(f"/api/votes/{other}/ballots", json=_signed_ballot(fuzz, fuzz["ballots"][3], "yes"))
    assert refused.status_code == 403 and refused.get_json()["reason"] == "not_on_roll"
    with app.app_context():
        assert db.session.get(AgendaItem, fuzz["ids"]["item_id"][3]).meeting_id == fuzz["ids"]["meeting_id"][1]
