"""Helpers shared by the app tests: sign a delegate in without a browser, exactly as enrol.js does."""

from __future__ import annotations

import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ballots.signatures import ENROL_LABEL, b64url_encode, enrolment_message, key_id_for

ENROL_DEVICE = "Python test · pytest"


def csrf_from(html: str) -> str:
    """The CSRF token a page carries in <meta name="csrf-token"> (what keystore.js sends as X-CSRFToken)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    return found.group(1) if found else ""


def enrol_python_key(client: Any, session: Any, delegate: Any, *, meeting: Any = None) -> tuple[ed25519.Ed25519PrivateKey, str]:
    """Issue an enrolment code for the delegate, open its page, and enrol a new Ed25519 key with the
    signed proof enrol.js sends (POST /api/enrol). The client is then signed in as the delegate.

    Returns the private key and its key id, so a test can go on to sign ballots with it.
    """
    from voting.services import identity

    issued = identity.issue_token(delegate, meeting)
    session.commit()
    page = client.get(f"/e/{issued.token}")
    assert page.status_code == 200, page.get_data(as_text=True)

    private_key = ed25519.Ed25519PrivateKey.generate()
    spki = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = key_id_for(spki)
    challenge = identity.token_hash(issued.token)
    holder = identity.delegate_ref(delegate)[0]
    signature = private_key.sign(ENROL_LABEL + enrolment_message(holder, key_id, challenge))
    resp = client.post("/api/enrol", json={
        "token": issued.token, "public_key": b64url_encode(spki), "signature": b64url_encode(signature),
        "device": ENROL_DEVICE,
    }, headers={"X-CSRFToken": csrf_from(page.get_data(as_text=True)), "Accept": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["ok"] is True and body["key_id"] == key_id and body["holder"] == holder
    session.expire_all()
    return private_key, key_id
