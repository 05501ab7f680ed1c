"""A Python client that enrols a device key and casts signed ballots over HTTP exactly as the
phone's browser does (voting/static/js/enrol.js and vote.js): for tests, simulations and load.

Only the standard library and cryptography: it can run wherever the offline verifier runs.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.hashes import SHA256

from ballots.canonical import canonical_bytes
from ballots.signatures import (
    BALLOT_LABEL,
    ENROL_LABEL,
    b64url_encode,
    enrolment_message,
    key_id_for,
    raw_ecdsa_signature,
)

_DATA_ATTR = re.compile(r'data-(challenge|holder|token)="([^"]*)"')


class ClientError(Exception):
    """The server refused a request; `status` and the server's JSON answer are kept."""

    def __init__(self, status: int, answer: dict[str, Any]):
        super().__init__(f"{status}: {answer.get('message') or answer}")
        self.status = status
        self.answer = answer

    @property
    def reason(self) -> str | None:
        return self.answer.get("reason")


class _LoopbackSecure(http.cookiejar.DefaultCookiePolicy):
    """Browsers send Secure cookies to http://127.0.0.1 and localhost (secure contexts); so do we."""

    def _loopback(self, request: urllib.request.Request) -> bool:
        host = urllib.parse.urlsplit(request.full_url).hostname or ""
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return self._loopback(request) or super().return_ok_secure(cookie, request)


@dataclass
class DeviceKey:
    """A device key held by the client, as the browser holds one in IndexedDB."""

    algorithm: str
    private: Any
    spki: bytes

    @classmethod
    def generate(cls, algorithm: str = "Ed25519") -> DeviceKey:
        private: Any = ed25519.Ed25519PrivateKey.generate() if algorithm == "Ed25519" else ec.generate_private_key(ec.SECP256R1())
        spki = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(algorithm, private, spki)

    @property
    def key_id(self) -> str:
        return key_id_for(self.spki)

    def sign(self, label: bytes, message: bytes) -> bytes:
        if self.algorithm == "Ed25519":
            return bytes(self.private.sign(label + message))
        return raw_ecdsa_signature(self.private.sign(label + message, ec.ECDSA(SHA256())))


@dataclass
class VotingClient:
    """One delegate's phone: a cookie jar, a CSRF token and a device key."""

    base_url: str
    timeout: float = 15.0
    key: DeviceKey | None = None
    holder: str = ""
    csrf: str = ""
    jar: http.cookiejar.CookieJar = field(default_factory=lambda: http.cookiejar.CookieJar(_LoopbackSecure()))

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    # ---- HTTP

    def request(self, method: str, path: str, body: Any = None, *, accept: str = "application/json") -> tuple[int, Any]:
        """One request; JSON in and out. Returns (status, parsed body); raises only on network errors."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf and method != "GET":
            req.add_header("X-CSRFToken", self.csrf)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if accept == "application/json":
            try:
                return status, json.loads(raw or b"{}")
            except ValueError:
                return status, {"message": raw[:200].decode("utf-8", "replace")}
        return status, raw.decode("utf-8", "replace")

    def _ok(self, status: int, answer: Any) -> Any:
        if status >= 400:
            raise ClientError(status, answer if isinstance(answer, dict) else {"message": str(answer)})
        return answer

    def refresh_csrf(self) -> None:
        self.csrf = self._ok(*self.request("GET", "/api/session"))["csrf_token"]

    # ---- enrolment (enrol.js)

    def enrol(self, token_or_url: str, algorithm: str = "Ed25519", device: str = "Python client") -> dict[str, Any]:
        """Open the badge's URL, create a key, prove possession and register it; signs the client in."""
        path = urllib.parse.urlsplit(token_or_url).path if "/" in token_or_url else f"/e/{token_or_url}"
        status, page = self.request("GET", path, accept="text/html")
        if status != 200:
            raise ClientError(status, {"message": re.sub(r"<[^>]+>", " ", str(page))[:300]})
        attrs = dict(_DATA_ATTR.findall(str(page)))
        self.refresh_csrf()
        key = DeviceKey.generate(algorithm)
        message = enrolment_message(attrs["holder"], key.key_id, attrs["challenge"])
        answer = self._ok(*self.request("POST", "/api/enrol", {
            "token": attrs["token"], "public_key": b64url_encode(key.spki),
            "signature": b64url_encode(key.sign(ENROL_LABEL, message)), "device": device,
        }))
        self.key, self.holder = key, answer["holder"]
        self.refresh_csrf()  # the session changed at sign-in
        return dict(answer)

    def checkin(self, meeting_key: str, code: str) -> None:
        """Scan the venue code: the confirmation page, then the check-in form."""
        status, _ = self.request("POST", f"/c/{meeting_key}/{code}", {})
        if status >= 400:
            raise ClientError(status, {"message": f"check-in refused ({status})"})

    # ---- casting (vote.js)

    def vote_info(self, vote_id: int) -> dict[str, Any]:
        return dict(self._ok(*self.request("GET", f"/api/votes/{vote_id}")))

    def sign_ballot(self, info: dict[str, Any], choice: Any, nonce: str | None = None) -> dict[str, str]:
        """The ballot's canonical text and its signature, as the phone sends them."""
        assert self.key is not None, "enrol first"
        ballot = {"v": 1, "vote": info["vote"], "round": info["round"], "vote_sha256": info["vote_sha256"],
                  "member": info["member"], "delegate": info["delegate"], "key": info["key"], "choice": choice,
                  "nonce": nonce or b64url_encode(secrets.token_bytes(18))}
        data = canonical_bytes(ballot)
        return {"ballot": data.decode("utf-8"), "signature": b64url_encode(self.key.sign(BALLOT_LABEL, data))}

    def submit(self, vote_id: int, signed: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, answer = self.request("POST", f"/api/votes/{vote_id}/ballots", signed)
        return status, answer

    def seal_choice(self, info: dict[str, Any], choice: Any) -> dict[str, str]:
        """A secret vote (vote.js does the same): the signed envelope, and the choice sealed apart."""
        from ballots.sealed import ENVELOPE_CHOICE, TellerKey, seal

        secret = info["secret"]
        sealed = seal(TellerKey.from_b64(secret["teller_key"]), info["vote"], info["round"], info["vote_sha256"],
                      choice, int(secret["plaintext_bytes"]))
        return {**self.sign_ballot(info, ENVELOPE_CHOICE), "sealed": b64url_encode(sealed)}

    def cast(self, vote_id: int, choice: Any) -> dict[str, Any]:
        """Build, sign and send a ballot (sealed, for a secret vote); the server's answer with the receipt."""
        info = self.vote_info(vote_id)
        signed = self.seal_choice(info, choice) if info.get("secret") else self.sign_ballot(info, choice)
        return dict(self._ok(*self.submit(vote_id, signed)))
