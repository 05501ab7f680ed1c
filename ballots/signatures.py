"""Delegate device keys (WebCrypto Ed25519 or ECDSA P-256) and the organization's Ed25519 key.

Every signature covers a fixed label and then the message, so a signature made for one purpose
(a ballot, an enrolment, a checkpoint, a certificate) can never be replayed as another.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ballots.canonical import canonical_bytes

BALLOT_LABEL = b"wego-ballot/v1\n"
ENROL_LABEL = b"wego-enrol/v1\n"
CHECKPOINT_LABEL = b"wego-checkpoint/v1\n"
CERTIFICATE_LABEL = b"wego-certificate/v1\n"

ED25519 = "Ed25519"
ECDSA_P256 = "ECDSA-P256"
ALGORITHMS = (ED25519, ECDSA_P256)
SIGNATURE_SIZE = 64
# An Ed25519 SPKI is 44 bytes and a P-256 one 91; anything far larger is not a key we take.
MAX_SPKI_BYTES = 256

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidKey(ValueError):
    """A public or private key that is malformed or of an algorithm we do not accept."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as the browser sends keys and signatures."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding, refusing any other spelling of the same bytes."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding (A-Z, a-z, 0-9, '-', '_' and no '=')")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Unused low bits may be set in a final character; one value must have one spelling.
    if b64url_encode(data) != text:
        raise ValueError("not the canonical base64url spelling of its bytes")
    return data


def key_id_for(spki: bytes) -> str:
    """Key id: "k_" and the first 26 characters of lowercase base32 of SHA-256(SPKI DER), 130 bits."""
    digest = base64.b32encode(hashlib.sha256(spki).digest()).decode("ascii").lower()
    return "k_" + digest[:26]


def _load_spki(spki: bytes) -> tuple[str, Any]:
    """Parse SPKI DER into (algorithm, key), accepting only the two WebCrypto choices."""
    if not isinstance(spki, bytes):
        raise InvalidKey("The public key must be bytes (SPKI DER).")
    if len(spki) > MAX_SPKI_BYTES:
        raise InvalidKey(f"The public key is {len(spki)} bytes long; an accepted key is at most {MAX_SPKI_BYTES}.")
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("The public key is not a valid SubjectPublicKeyInfo (SPKI DER) of a supported "
                         "algorithm; export it with WebCrypto exportKey(\"spki\").") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = ED25519
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidKey(f"The public key is on the curve {key.curve.name}; only P-256 (secp256r1) "
                             "and Ed25519 are accepted.")
        algorithm = ECDSA_P256
    elif isinstance(key, rsa.RSAPublicKey):
        raise InvalidKey("The public key is an RSA key; only Ed25519 and ECDSA P-256 are accepted.")
    elif isinstance(key, ed448.Ed448PublicKey | x25519.X25519PublicKey | x448.X448PublicKey):
        raise InvalidKey("The public key is not a signing key we accept; only Ed25519 and ECDSA P-256 are.")
    else:
        raise InvalidKey("The public key's algorithm is not accepted; only Ed25519 and ECDSA P-256 are.")
    # Re-encoding must give the same bytes, so each key has one SPKI and therefore one key id
    # (no compressed points, trailing bytes or alternative DER lengths).
    again = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if again != spki:
        raise InvalidKey("The public key is not in the standard SPKI encoding (uncompressed point, "
                         "no extra bytes) that WebCrypto exportKey(\"spki\") produces.")
    return algorithm, key


@dataclass(frozen=True)
class PublicKey:
    """A signing public key: its algorithm and its SPKI DER bytes, checked on construction."""

    algorithm: str
    spki: bytes
    _key: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Parse the SPKI once, and refuse a key whose bytes do not match the stated algorithm."""
        if self.algorithm not in ALGORITHMS:
            raise InvalidKey(f"The algorithm {self.algorithm!r} is not accepted; use Ed25519 or ECDSA-P256.")
        algorithm, key = _load_spki(self.spki)
        if algorithm != self.algorithm:
            raise InvalidKey(f"The public key is an {algorithm} key, not {self.algorithm}.")
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_spki(cls, spki: bytes) -> PublicKey:
        """A key from SPKI DER bytes, its algorithm read from them."""
        algorithm, _ = _load_spki(spki)
        return cls(algorithm, spki)

    @classmethod
    def from_spki_b64(cls, text: str) -> PublicKey:
        """A key from base64url (no padding) SPKI DER, as the browser sends it."""
        try:
            spki = b64url_decode(text)
        except ValueError as exc:
            raise InvalidKey(f"The public key is {exc}.") from exc
        if not spki:
            raise InvalidKey("The public key is empty.")
        return cls.from_spki(spki)

    @property
    def spki_b64(self) -> str:
        """The SPKI DER as base64url without padding."""
        return b64url_encode(self.spki)

    @property
    def key_id(self) -> str:
        """The key id (see key_id_for)."""
        return key_id_for(self.spki)

    def verify(self, label: bytes, message: bytes, signature: bytes) -> bool:
        """Whether signature is this key's signature over label + message."""
        _check_label(label)
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
            return False
        data = label + message
        try:
            if self.algorithm == ED25519:
                self._key.verify(signature, data)
            else:
                # WebCrypto ECDSA signatures are IEEE P1363 r || s; cryptography wants DER.
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                if r == 0 or s == 0:
                    return False
                self._key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def _check_label(label: bytes) -> None:
    """A label is a non-empty constant ending in a newline; anything else is a programming error."""
    if not isinstance(label, bytes) or not label.endswith(b"\n") or b"\n" in label[:-1]:
        raise ValueError("a signature label is a one-line bytes constant ending in b'\\n'")


def enrolment_message(delegate: str, key_id: str, challenge: str) -> bytes:
    """What a new device key signs (after ENROL_LABEL) to prove it holds the private key."""
    return canonical_bytes({"v": 1, "delegate": delegate, "key": key_id, "challenge": challenge})


def verify_enrolment(public_key: PublicKey, delegate: str, challenge: str, signature: bytes) -> bool:
    """Whether signature proves possession of public_key for this delegate and one-time challenge."""
    return public_key.verify(ENROL_LABEL, enrolment_message(delegate, public_key.key_id, challenge), signature)


@dataclass(frozen=True)
class OrgKey:
    """The organization's Ed25519 signing key, which signs checkpoints and certificates."""

    private_key: ed25519.Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        """Refuse any key that is not Ed25519, as the design fixes the organization key's algorithm."""
        if not isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            raise InvalidKey("The organization key must be an Ed25519 private key.")

    @classmethod
    def generate(cls) -> OrgKey:
        """A new random organization key."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def load_pem(cls, path: str | os.PathLike[str]) -> OrgKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 key."""
        data = Path(path).read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKey(f"The file {os.fspath(path)} does not hold an unencrypted PEM private key.") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidKey(f"The key in {os.fspath(path)} is not an Ed25519 key.")
        return cls(key)

    def save_pem(self, path: str | os.PathLike[str]) -> None:
        """Write the key as PKCS#8 PEM to a new file readable only by its owner (mode 0600)."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # O_EXCL: never overwrite a key (that would orphan every signature made with it), and the
        # file is created 0600 rather than narrowed afterwards, so it is never briefly readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())

    def public_key(self) -> PublicKey:
        """The public half, as published on the site and in every record."""
        spki = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return PublicKey(ED25519, spki)

    def public_spki_b64(self) -> str:
        """The public key as base64url (no padding) SPKI DER."""
        return self.public_key().spki_b64

    @property
    def key_id(self) -> str:
        """The public key's key id."""
        return self.public_key().key_id

    def sign(self, label: bytes, message: bytes) -> bytes:
        """Ed25519 signature over label + message."""
        _check_label(label)
        return self.private_key.sign(label + message)


def raw_ecdsa_signature(der_signature: bytes) -> bytes:
    """Convert a DER ECDSA P-256 signature to the 64-byte r || s form WebCrypto produces."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
