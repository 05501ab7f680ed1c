"""Driving meetings through HTTP as the phones and the chair's laptop do, with Python keys."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ballots.canonical import canonical_bytes
from ballots.signatures import (
    BALLOT_LABEL,
    CERTIFICATE_LABEL,
    ENROL_LABEL,
    b64url_encode,
    enrolment_message,
    key_id_for,
)
from tests.voting.helpers import enrol_python_key


@dataclass
class Phone:
    """A delegate's phone: a signed-in test client and its Ed25519 key."""

    client: Any
    key: ed25519.Ed25519PrivateKey
    key_id: str

    def ballot(self, vote_id: int, choice: Any) -> dict[str, str]:
        info = self.client.get(f"/api/votes/{vote_id}").get_json()
        data = canonical_bytes({"v": 1, "vote": info["vote"], "round": info["round"], "vote_sha256": info["vote_sha256"],
                                "member": info["member"], "delegate": info["delegate"], "key": info["key"],
                                "choice": choice, "nonce": b64url_encode(secrets.token_bytes(18))})
        return {"ballot": data.decode(), "signature": b64url_encode(self.key.sign(BALLOT_LABEL + data))}

    def sealed_ballot(self, vote_id: int, choice: Any) -> dict[str, str]:
        """A secret vote: the signed envelope and the choice sealed to the tellers' key, as vote.js sends them."""
        from ballots.sealed import ENVELOPE_CHOICE, TellerKey, seal

        info = self.client.get(f"/api/votes/{vote_id}").get_json()
        secret = info["secret"]
        sealed = seal(TellerKey.from_b64(secret["teller_key"]), info["vote"], info["round"], info["vote_sha256"], choice,
                      int(secret["plaintext_bytes"]))
        return {**self.ballot(vote_id, ENVELOPE_CHOICE), "sealed": b64url_encode(sealed)}

    def vote(self, vote_id: int, choice: Any) -> Any:
        info = self.client.get(f"/api/votes/{vote_id}").get_json()
        signed = self.sealed_ballot(vote_id, choice) if info.get("secret") else self.ballot(vote_id, choice)
        resp = self.client.post(f"/api/votes/{vote_id}/ballots", json=signed)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()


def phone_for(app: Any, session: Any, delegate: Any) -> Phone:
    client = app.test_client()
    key, key_id = enrol_python_key(client, session, delegate)
    return Phone(client, key, key_id)


@dataclass
class StaffDevice:
    """A staff member's laptop: signed in with a password, with an enrolled device key."""

    client: Any
    key: ed25519.Ed25519PrivateKey
    key_id: str
    holder: str

    def certify(self, vote_id: int) -> dict[str, Any]:
        prepared = self.client.post(f"/api/chair/votes/{vote_id}/certificate", json={})
        assert prepared.status_code == 200, prepared.get_data(as_text=True)
        p = prepared.get_json()
        assert p["key_id"] == self.key_id
        signature = self.key.sign(CERTIFICATE_LABEL + p["text"].encode())
        done = self.client.post(f"/api/chair/votes/{vote_id}/certificate/sign",
                                json={"sha256": p["sha256"], "signature": b64url_encode(signature)})
        assert done.status_code == 200, done.get_data(as_text=True)
        return dict(done.get_json())

    def cast_casting_vote(self, vote: Any, choice: str) -> Any:
        data = canonical_bytes({"v": 1, "vote": f"v{vote.id}", "round": vote.round, "vote_sha256": vote.definition_sha256,
                                "member": "staff", "delegate": self.holder, "key": self.key_id, "choice": choice,
                                "nonce": b64url_encode(secrets.token_bytes(18))})
        return self.client.post(f"/api/sg/votes/{vote.id}/casting-vote",
                                json={"ballot": data.decode(), "signature": b64url_encode(self.key.sign(BALLOT_LABEL + data))})


def staff_client(app: Any, make_staff: Any, role: str, username: str) -> Any:
    """A test client signed in as a new staff account of the role (no device key)."""
    account, password = make_staff(role, username=username)
    client = app.test_client()
    assert client.post("/login", data={"username": account.username, "password": password}).status_code == 302
    return client


def staff_device(app: Any, make_staff: Any, role: str, username: str | None = None) -> StaffDevice:
    client = staff_client(app, make_staff, role, username or f"{role}-laptop")
    page = client.get("/account/device").get_data(as_text=True)
    challenge = re.search(r'data-challenge="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    holder = re.search(r'data-holder="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    key = ed25519.Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = key_id_for(spki)
    resp = client.post("/api/enrol/staff", json={
        "public_key": b64url_encode(spki), "device": "Chair laptop · pytest",
        "signature": b64url_encode(key.sign(ENROL_LABEL + enrolment_message(holder, key_id, challenge)))})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return StaffDevice(client, key, key_id, holder)


def open_vote(chair: StaffDevice, item_id: int, question: str, options: list[str] | None = None,
              seats: int | None = None, extra: str = "", secret: bool = False) -> int:
    data: dict[str, Any] = {"question": question, "confirm_report": "1", "secret_shown": "1"}
    if secret:
        data["secret"] = "1"
    if options:
        data["option"] = options
    if seats:
        data["seats"] = str(seats)
    if extra:
        data["extra_options"] = extra
    resp = chair.client.post(f"/chair/items/{item_id}/open", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])
