"""Secret ballots: the choice sealed to the tellers' key with HPKE, its tracker, and the openings.

CRYPTO_DESIGN.md "Secret ballots"; the bytes are in docs/crypto-formats.md "Sealed ballots".

A delegate of a secret vote signs an **envelope**: an ordinary signed ballot (ballots.canonical)
whose choice is the word "sealed". It says only "member M votes in vote V" and goes into the
vote's ballot log, where it stops a second vote of the member. Separately, the phone seals the
choice with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) to
the tellers' public key frozen in the vote definition:

    info       = "wego-sealed-ballot/v1\\n" || vote_sha256 (64 hex characters)
    plaintext  = JCS({"v": 1, "vote", "round", "vote_sha256", "choice"}) || 0x20 * padding
    sealed     = enc (32 bytes) || AES-128-GCM ciphertext and tag (empty aad, sequence 0)

Every plaintext of a vote has the same length (the definition's "plaintext_bytes"), so a
ciphertext's length says nothing of the choice. The **tracker** is SHA-256(sealed): the voter's
receipt for the choice. Nothing in a sealed ballot names the member, and nothing in an envelope
names the sealed ballot: the two are joined only inside the phone.

The sealed ballots form their own RFC 6962 log, written once when the vote closes, in tracker
order: an order fixed by the ciphertexts alone, which carries nothing about when a ballot came.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, PublicFormat

from ballots.canonical import NotCanonical, canonical_bytes, parse_canonical
from ballots.signatures import b64url_decode, b64url_encode

__all__ = [
    "ENVELOPE_CHOICE", "SEALED_INFO_LABEL", "SUITE_NAME", "Opening", "SealedError", "TellerKey",
    "lay_onto_voters", "normal_choice", "open_all", "open_sealed", "plaintext", "plaintext_bytes_for", "seal", "sealed_info",
    "sort_choices", "tracker", "tracker_code", "tracker_leaf",
]

ENVELOPE_CHOICE = "sealed"
SEALED_INFO_LABEL = b"wego-sealed-ballot/v1\n"
SUITE_NAME = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"
SEALED_VERSION = 1
PLAINTEXT_KEYS = frozenset({"v", "vote", "round", "vote_sha256", "choice"})
ENC_SIZE = 32
TAG_SIZE = 16
# Plaintexts are padded to a multiple of this, above the longest choice the vote allows.
PAD_BLOCK = 128

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)


class SealedError(ValueError):
    """A sealed ballot or a tellers' key that cannot be used; the message says what is wrong."""


def sealed_info(vote_sha256: str) -> bytes:
    """HPKE's info: binds a sealed ballot to one vote definition (RFC 9180 §8.1, single-shot)."""
    return SEALED_INFO_LABEL + vote_sha256.encode("ascii")


def tracker(sealed: bytes) -> str:
    """The voter's tracker: SHA-256 of the sealed ballot's exact bytes, in lowercase hex."""
    return hashlib.sha256(sealed).hexdigest()


def tracker_code(tracker_hex: str) -> str:
    """The tracker as the phone shows it: its first 10 base32 characters, like a receipt's short code."""
    from ballots.receipts import short_code

    return short_code(bytes.fromhex(tracker_hex))


def tracker_leaf(sealed: bytes) -> bytes:
    """The Merkle leaf hash of a sealed ballot in the vote's sealed log (RFC 6962: 0x00 || entry)."""
    from ballots.log import leaf_hash

    return leaf_hash(sealed)


def _option_ids(definition: Mapping[str, Any]) -> list[str]:
    return [str(o["id"]) for o in definition.get("options") or []]


def plaintext_bytes_for(definition: Mapping[str, Any]) -> int:
    """The fixed plaintext length of a vote: above its longest possible choice, in whole blocks."""
    ids = _option_ids(definition)
    kind = definition.get("kind")
    longest: Any
    if kind == "excom-block":
        seats = int(definition.get("seats") or len(ids))
        longest = sorted(ids, key=len, reverse=True)[:seats]
    elif kind == "excom-approval":
        longest = {i: "abstain" for i in ids}
    else:
        longest = max(["abstain", *ids], key=len)
    probe = {"v": SEALED_VERSION, "vote": str(definition.get("vote", "")), "round": int(definition.get("round", 1)),
             "vote_sha256": "0" * 64, "choice": longest}
    return PAD_BLOCK * max(1, math.ceil((len(canonical_bytes(probe)) + 1) / PAD_BLOCK))


def plaintext(vote: str, round_number: int, vote_sha256: str, choice: Any, size: int) -> bytes:
    """The padded plaintext of a choice (what the phone seals)."""
    body = canonical_bytes({"v": SEALED_VERSION, "vote": vote, "round": round_number, "vote_sha256": vote_sha256,
                            "choice": choice})
    if len(body) > size:
        raise SealedError(f"the choice does not fit the vote's {size}-byte sealed ballots")
    return body + b" " * (size - len(body))


@dataclass(frozen=True)
class TellerKey:
    """The tellers' X25519 key pair of a meeting; the private part may be absent (held elsewhere)."""

    public: bytes
    private: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.public) != 32:
            raise SealedError("a tellers' public key is 32 bytes (raw X25519)")
        if self.private is not None:
            if len(self.private) != 32:
                raise SealedError("a tellers' private key is 32 bytes (raw X25519)")
            derived = x25519.X25519PrivateKey.from_private_bytes(self.private).public_key()
            if derived.public_bytes(Encoding.Raw, PublicFormat.Raw) != self.public:
                raise SealedError("this private key does not belong to the tellers' public key of the vote")

    @classmethod
    def generate(cls) -> TellerKey:
        sk = x25519.X25519PrivateKey.generate()
        return cls(sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                   sk.private_bytes(Encoding.Raw, PrivateFormat.Raw, _no_encryption()))

    @classmethod
    def from_b64(cls, public_b64: str, private_b64: str | None = None) -> TellerKey:
        try:
            public = b64url_decode(public_b64)
            private = b64url_decode(private_b64) if private_b64 else None
        except (ValueError, TypeError):
            raise SealedError("the tellers' key is not base64url text") from None
        return cls(public, private)

    @property
    def key_id(self) -> str:
        """A short name of the key: the first 16 hex characters of SHA-256 of the raw public key."""
        return hashlib.sha256(self.public).hexdigest()[:16]

    @property
    def public_b64(self) -> str:
        return b64url_encode(self.public)

    @property
    def private_b64(self) -> str | None:
        return b64url_encode(self.private) if self.private is not None else None

    def public_key(self) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(self.public)

    def private_key(self) -> x25519.X25519PrivateKey:
        if self.private is None:
            raise SealedError("the tellers' private key is needed to open sealed ballots")
        return x25519.X25519PrivateKey.from_private_bytes(self.private)


def _no_encryption() -> Any:
    from cryptography.hazmat.primitives.serialization import NoEncryption

    return NoEncryption()


def seal(key: TellerKey, vote: str, round_number: int, vote_sha256: str, choice: Any, size: int) -> bytes:
    """Seal a choice as the phone does (for the Python client, tests and benchmarks)."""
    return _SUITE.encrypt(plaintext(vote, round_number, vote_sha256, choice, size), key.public_key(),
                          info=sealed_info(vote_sha256))


def open_sealed(key: TellerKey, sealed: bytes, *, vote: str, round_number: int, vote_sha256: str, size: int) -> Any:
    """The choice inside one sealed ballot; SealedError says why it cannot be read for this vote."""
    if len(sealed) != ENC_SIZE + size + TAG_SIZE:
        raise SealedError("it has the wrong length for this vote")
    try:
        data = _SUITE.decrypt(sealed, key.private_key(), info=sealed_info(vote_sha256))
    except (InvalidTag, ValueError):
        raise SealedError("it does not open with the tellers' key for this vote") from None
    body = data.rstrip(b" ")
    try:
        obj = parse_canonical(body)
    except NotCanonical:
        raise SealedError("its plaintext is not canonical JSON") from None
    if set(obj) != PLAINTEXT_KEYS or obj.get("v") != SEALED_VERSION:
        raise SealedError("its plaintext is not a sealed choice of this format")
    if obj["vote"] != vote or obj["round"] != round_number or obj["vote_sha256"] != vote_sha256:
        raise SealedError("it was sealed for another vote or round")
    return obj["choice"]


@dataclass(frozen=True)
class Opening:
    """What the tellers' key found: the valid choices in a fixed (sorted) order, and the rest.

    problems: why ballots were invalid, as (reason, how many) in the order of the reasons. Never
    which sealed ballot, nor what it held: a position is a tracker's, and an invalid choice written
    beside it would let a voter prove a marked ballot (CRYPTO_DESIGN.md: never a plaintext beside
    its tracker)."""

    choices: tuple[Any, ...]
    invalid: int
    problems: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"choices": list(self.choices), "invalid": self.invalid}


def normal_choice(definition: Mapping[str, Any], choice: Any) -> Any:
    """A valid choice as the opening publishes it: a block vote's names in ballot-paper order, so that
    the order a voter wrote them in cannot mark a ballot for someone who paid for it. Every other
    choice has one form already (a word, an option id, or an approval map, whose JSON keys are sorted)."""
    if definition.get("kind") == "excom-block":
        rank = {o: i for i, o in enumerate(_option_ids(definition))}
        return sorted(choice, key=lambda name: rank[name])
    return choice


def sort_choices(choices: Iterable[Any]) -> tuple[Any, ...]:
    """Choices in the order of their canonical JSON: a multiset with no order of its own."""
    return tuple(sorted(choices, key=canonical_bytes))


def open_all(key: TellerKey, sealed: Sequence[bytes], definition: Mapping[str, Any], vote_sha256: str,
             choice_problem: Any) -> Opening:
    """Open every sealed ballot of a vote. A ballot that cannot be opened, or whose choice the vote
    does not allow (choice_problem(definition, choice) says why), is counted as invalid."""
    secret = definition.get("secret")
    if not isinstance(secret, Mapping):
        raise SealedError("this vote is not a secret ballot")
    if secret.get("teller_key") != key.public_b64:
        raise SealedError("this is not the tellers' key the vote was sealed to "
                          f"(the vote names key {TellerKey.from_b64(secret['teller_key']).key_id})")
    key.private_key()  # SealedError: no private key, so nothing can be opened (not each ballot "invalid")
    size = int(secret["plaintext_bytes"])
    choices: list[Any] = []
    problems: Counter[str] = Counter()
    seen: set[str] = set()
    for item in sealed:
        t = tracker(item)
        if t in seen:
            problems["it repeats another sealed ballot"] += 1
            continue
        seen.add(t)
        try:
            choice = open_sealed(key, item, vote=str(definition["vote"]), round_number=int(definition["round"]),
                                 vote_sha256=vote_sha256, size=size)
        except SealedError as err:
            problems[str(err)] += 1
            continue
        if choice_problem(definition, choice):
            problems["it holds a choice the vote does not allow"] += 1
            continue
        choices.append(normal_choice(definition, choice))
    return Opening(sort_choices(choices), len(sealed) - len(choices), tuple(sorted(problems.items())))


def invalid_choice(definition: Mapping[str, Any]) -> Any:
    """How an unreadable sealed ballot enters the tally: as an abstention (its member voted; the
    base of every threshold is the members present, so it weighs as an abstention does)."""
    kind = definition.get("kind")
    if kind == "excom-block":
        return []
    if kind == "excom-approval":
        return {i: "abstain" for i in _option_ids(definition)}
    return "abstain"


def lay_onto_voters(voters: Sequence[str], opening: Mapping[str, Any], definition: Mapping[str, Any]) -> dict[str, Any]:
    """The opened choices laid onto the members whose envelopes were counted, both in sorted order,
    so that the unchanged tally (which takes a ballot per member) runs on them. No member's vote is
    known: the pairing is by sort order only, as for a show of hands (ballots.recount)."""
    choices = list(opening.get("choices") or [])
    invalid = int(opening.get("invalid") or 0)
    if len(choices) + invalid != len(voters):
        raise SealedError(f"{len(voters)} envelopes but {len(choices)} valid and {invalid} invalid sealed ballots")
    filled = sort_choices(choices) + (invalid_choice(definition),) * invalid
    return dict(zip(sorted(voters), filled, strict=True))


def counts_of(choices: Iterable[Any]) -> Counter[bytes]:
    """The multiset of choices (by canonical bytes), to compare two openings."""
    return Counter(canonical_bytes(c) for c in choices)
