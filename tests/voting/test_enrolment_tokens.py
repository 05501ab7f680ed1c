"""Enrolment codes through HTTP (issue 4): every way a code can fail says which it is and whom to
ask, and signs nobody in; the code's properties (128 bits, only its hash stored, 72 h expiry,
single use, re-issue revokes); real enrolments with Ed25519 and ECDSA P-256 keys made in Python
exactly as enrol.js makes them; and re-issuing for a lost phone, as the key registry records it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from flask import Flask, g
from sqlalchemy import func, select

from ballots.registry import ENROL, REVOKE, KeyRegistry
from ballots.signatures import ENROL_LABEL, b64url_encode, enrolment_message, key_id_for, raw_ecdsa_signature
from voting import config as default_config
from voting.extensions import Base
from voting.models import Delegate, DeviceKey, EnrolmentToken, Member, utcnow
from voting.services import identity, roster

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEVICE = "Test phone · Python"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app: Flask) -> None:
    """The `session` fixture holds an app context around the requests, so every test client shares
    one `g`, where Flask-Login caches the signed-in user; forget it at each request, as a server does."""

    @app.before_request
    def _forget_cached_user() -> None:
        g.pop("_login_user", None)



@pytest.fixture
def delegate(session: Any, make_member: Any) -> Delegate:
    member = make_member("Beyoğlu", country="Türkiye", region="Europe")
    d = roster.add_delegate(session.get(Member, member.id), {
        "display_name": "Ayşe Yılmaz", "email": "ayse@beyoglu.example", "is_voting": True})
    session.commit()
    return d


def issue(session: Any, delegate: Delegate) -> identity.IssuedToken:
    issued = identity.issue_token(session.get(Delegate, delegate.id))
    session.commit()
    return issued


def record_of(session: Any, token: str) -> EnrolmentToken:
    session.expire_all()
    return session.scalars(select(EnrolmentToken).where(EnrolmentToken.token_hash == identity.token_hash(token))).one()


class Phone:
    """A browser's key pair, and the proof enrol.js sends (ballots.signatures is the reference)."""

    def __init__(self, algorithm: str = "Ed25519") -> None:
        self.algorithm = algorithm
        if algorithm == "Ed25519":
            self.private: Any = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.private.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        self.key_id = key_id_for(self.spki)

    def sign(self, data: bytes) -> bytes:
        if self.algorithm == "Ed25519":
            return bytes(self.private.sign(data))
        return raw_ecdsa_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))

    def proof(self, token: str, delegate: Delegate, *, signer: Phone | None = None) -> dict[str, str]:
        """The JSON body of POST /api/enrol; `signer` forges the signature with another key."""
        challenge = identity.token_hash(identity.normalize_token(token))
        holder = identity.delegate_ref(delegate)[0]
        message = ENROL_LABEL + enrolment_message(holder, self.key_id, challenge)
        return {"token": token, "public_key": b64url_encode(self.spki),
                "signature": b64url_encode((signer or self).sign(message)), "device": DEVICE}


def enrol(client: Any, token: str, delegate: Delegate, phone: Phone | None = None) -> Any:
    return client.post("/api/enrol", json=(phone or Phone()).proof(token, delegate))


def signed_in(client: Any) -> bool:
    return client.get("/me").status_code == 200


# ---------------------------------------------------------------- every bad code, by HTTP


def _expired(session: Any, delegate: Delegate, app: Flask) -> str:
    issued = issue(session, delegate)
    rec = record_of(session, issued.token)
    rec.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    return issued.token


def _used(session: Any, delegate: Delegate, app: Flask) -> str:
    issued = issue(session, delegate)
    other_phone = app.test_client()
    assert enrol(other_phone, issued.token, delegate).status_code == 200
    return issued.token


def _revoked(session: Any, delegate: Delegate, app: Flask) -> str:
    first = issue(session, delegate)
    issue(session, delegate)  # re-issuing revokes the first
    return first.token


def _unknown(session: Any, delegate: Delegate, app: Flask) -> str:
    issue(session, delegate)
    return "".join(secrets.choice(CROCKFORD) for _ in range(26))


BAD_CODES: dict[str, tuple[Callable[..., str], int, str, str]] = {
    # kind: (make the token, status, reason, words the page must say)
    "expired": (_expired, 410, "expired", "This enrolment code expired on"),
    "used": (_used, 410, "used", "This enrolment code was already used"),
    "revoked": (_revoked, 410, "revoked", "replaced by a newer one and no longer works"),
    "malformed-abc": (lambda *_: "abc", 400, "malformed", "not complete or has a typing error"),
    "malformed-short": (lambda *_: "7ZK3M0Q8T2VXW9C4A1H6", 400, "malformed", "not complete or has a typing error"),
    "malformed-alphabet": (lambda *_: "UUUUUUUUUUUUU*UUUUUUUUUUUU", 400, "malformed", "not complete or has a typing error"),
    "unknown": (_unknown, 404, "unknown", "This enrolment code is not one we issued"),
}


@pytest.mark.parametrize("kind", list(BAD_CODES))
def test_a_bad_code_says_which_it_is_and_signs_nobody_in(kind: str, app: Flask, client: Any, session: Any,
                                                          delegate: Delegate) -> None:
    make, status, reason, words = BAD_CODES[kind]
    token = make(session, delegate, app)

    page = client.get(f"/e/{token}")
    assert page.status_code == status
    text = page.get_data(as_text=True).replace("&#39;", "'")
    assert words in text and "Secretariat desk" in text
    assert "Set up this phone" not in text
    me = client.get("/me")
    assert me.status_code in (302, 403) and (me.status_code == 403 or "/login" in me.headers["Location"])

    api = client.post("/api/enrol", json=Phone().proof(token, delegate))
    assert api.status_code == status
    body = api.get_json()
    assert set(body) >= {"error", "message", "hint"}
    assert body["error"] == f"enrolment_code_{reason}" and body["reason"] == reason
    assert words in body["message"] and "Secretariat desk" in body["hint"]
    assert not signed_in(client)


def test_each_refusal_has_its_own_message(app: Flask, client: Any, session: Any, delegate: Delegate) -> None:
    messages = {}
    for make, _status, reason, _words in BAD_CODES.values():
        token = make(session, delegate, app)
        messages[reason] = client.post("/api/enrol", json=Phone().proof(token, delegate)).get_json()["message"]
    assert len(set(messages.values())) == len(messages) == 5


def test_the_typed_fallback_refuses_the_same_way(client: Any, session: Any, delegate: Delegate, app: Flask) -> None:
    token = _revoked(session, delegate, app)
    resp = client.post("/e", data={"code": identity.format_token(token).lower()})
    assert resp.status_code == 410 and "replaced by a newer one" in resp.get_data(as_text=True)
    fresh = issue(session, delegate)
    typed = identity.format_token(fresh.token).lower().replace("0", "o").replace("1", "l")
    resp = client.post("/e", data={"code": typed})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/e/{fresh.token}")


# ---------------------------------------------------------------- properties of a code


def test_a_code_is_128_random_bits_in_crockford_base32(session: Any, delegate: Delegate) -> None:
    assert identity.TOKEN_BYTES * 8 >= 128
    tokens = {issue(session, delegate).token for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 26 and set(token) <= set(CROCKFORD) and identity.TOKEN_RE.match(token)
        value = 0
        for c in token:
            value = value * 32 + CROCKFORD.index(c)
        assert value < 2**128  # 26 characters carry the 128 random bits (130 bits of room)
    typed = identity.format_token(next(iter(tokens)))
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}-[0-9A-Z]{6}", typed)
    assert identity.normalize_token(typed.lower()) == next(iter(tokens))


def test_only_the_hash_is_stored(app: Flask, client: Any, session: Any, delegate: Delegate) -> None:
    """After issuing, enrolling and re-issuing, no text column of any table holds a raw code."""
    first = issue(session, delegate)
    assert enrol(app.test_client(), first.token, delegate).status_code == 200
    second = identity.reissue(session.get(Delegate, delegate.id))
    session.commit()
    raws = [first.token, second.token]
    spellings = raws + [identity.format_token(t) for t in raws] + [t.lower() for t in raws]

    scanned = 0
    for table in Base.metadata.sorted_tables:  # every column of every table (text, JSON, the rest)
        for row in session.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                scanned += isinstance(value, str | dict)
                assert not any(s in str(value) for s in spellings), f"a raw code is stored in {table.name}.{column.name}"
    assert scanned > 50
    hashes_ = set(session.scalars(select(EnrolmentToken.token_hash)))
    assert hashes_ == {identity.token_hash(t) for t in raws}


def test_expiry_defaults_to_72_hours_and_is_configurable(app: Flask, session: Any, delegate: Delegate) -> None:
    assert default_config.ENROL_TOKEN_TTL_HOURS == 72
    rec = issue(session, delegate).record
    assert rec.expires_at - rec.created_at == timedelta(hours=72)

    app.config["ENROL_TOKEN_TTL_HOURS"] = 5
    rec = issue(session, delegate).record
    assert rec.expires_at - rec.created_at == timedelta(hours=5)
    assert default_config.from_environment({"VOTING_ENROL_TOKEN_TTL_HOURS": "12"}) == {"ENROL_TOKEN_TTL_HOURS": 12}


def test_a_code_works_once(app: Flask, session: Any, delegate: Delegate) -> None:
    token = issue(session, delegate).token
    assert enrol(app.test_client(), token, delegate).status_code == 200
    again = enrol(app.test_client(), token, delegate)
    assert again.status_code == 410 and "already used" in again.get_json()["message"]


def test_reissuing_revokes_the_previous_unused_code(client: Any, session: Any, delegate: Delegate) -> None:
    first = issue(session, delegate)
    assert client.get(f"/e/{first.token}").status_code == 200
    second = issue(session, delegate)
    assert client.get(f"/e/{first.token}").status_code == 410
    assert client.get(f"/e/{second.token}").status_code == 200
    assert record_of(session, first.token).revoked_at is not None
    assert record_of(session, second.token).revoked_at is None


# ---------------------------------------------------------------- real enrolments


@pytest.mark.parametrize("algorithm", ["Ed25519", "ECDSA-P256"])
def test_a_phone_enrols_and_is_signed_in(algorithm: str, client: Any, session: Any, delegate: Delegate) -> None:
    token = issue(session, delegate).token
    assert client.get(f"/e/{token}").status_code == 200
    phone = Phone(algorithm)
    resp = enrol(client, token, delegate, phone)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["ok"] is True and body["key_id"] == phone.key_id and body["holder"] == f"d{delegate.id}"

    me = client.get("/me")
    assert me.status_code == 200
    text = me.get_data(as_text=True)
    assert "Ayşe Yılmaz" in text and DEVICE in text and "since" in text
    key = session.get(DeviceKey, phone.key_id)
    assert key.algorithm == algorithm and key.revoked_at is None
    assert record_of(session, token).used_by_key == phone.key_id


def test_a_second_phone_cannot_reuse_the_code(app: Flask, client: Any, session: Any, delegate: Delegate) -> None:
    token = issue(session, delegate).token
    assert enrol(client, token, delegate).status_code == 200
    thief = app.test_client()
    resp = enrol(thief, token, delegate, Phone("ECDSA-P256"))
    assert resp.status_code == 410 and "already used" in resp.get_json()["message"]
    assert not signed_in(thief) and signed_in(client)
    assert session.scalar(select(func.count()).select_from(DeviceKey)) == 1


def test_a_forged_proof_is_refused_and_the_code_stays_unused(client: Any, session: Any, delegate: Delegate) -> None:
    token = issue(session, delegate).token
    phone, other = Phone(), Phone()
    resp = client.post("/api/enrol", json=phone.proof(token, delegate, signer=other))
    assert resp.status_code == 403 and "could not prove it holds the key" in resp.get_json()["message"]
    assert not signed_in(client)
    rec = record_of(session, token)
    assert rec.used_at is None and rec.used_by_key is None
    assert session.scalar(select(func.count()).select_from(DeviceKey)) == 0
    assert client.get(f"/e/{token}").status_code == 200  # still good for the real phone
    assert enrol(client, token, delegate, phone).status_code == 200


def test_reissue_switches_off_the_first_phone_and_the_registry_says_so(app: Flask, client: Any, session: Any,
                                                                       delegate: Delegate, login: Any) -> None:
    phone_client = app.test_client()
    first = Phone()
    assert enrol(phone_client, issue(session, delegate).token, delegate, first).status_code == 200
    assert signed_in(phone_client)

    login("secretariat")
    page = client.post(f"/delegates/{delegate.id}/enrolment", data={"action": "reissue"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert DEVICE in text and "switched off" in text
    new_token = identity.normalize_token(re.search(r"<code>([0-9A-Z-]{30})</code>", text).group(1))  # type: ignore[union-attr]

    assert not signed_in(phone_client)  # the lost phone's session ends with its key
    session.expire_all()
    assert session.get(DeviceKey, first.key_id).revoked_at is not None

    second = Phone("ECDSA-P256")
    new_phone = app.test_client()
    assert enrol(new_phone, new_token, delegate, second).status_code == 200
    assert signed_in(new_phone) and not signed_in(phone_client)

    registry = KeyRegistry.from_events(identity.registry_events())
    assert [e.kind for e in registry.events] == [ENROL, REVOKE, ENROL]
    assert registry.status(first.key_id) == "revoked" and registry.status(second.key_id) == "active"
    assert registry.active_key_for(f"d{delegate.id}") == second.key_id
    assert registry.head == identity.registry_head()[1]
