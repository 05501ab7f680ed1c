"""RFC 8785 canonical JSON, and the schema of a signed ballot (CRYPTO_DESIGN.md "Ballot").

A signature covers exact bytes, so the server accepts only bytes that are already the canonical
form of what they say: the same ballot can then never travel as two different byte strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import rfc8785

BALLOT_VERSION = 1
BALLOT_KEYS = frozenset({"v", "vote", "round", "vote_sha256", "member", "delegate", "key", "choice", "nonce"})
MAX_ID_LENGTH = 64
# A block vote over a long candidate list stays far below this; anything larger is not a ballot.
MAX_BALLOT_BYTES = 16 * 1024

_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Choice = str | tuple[str, ...] | Mapping[str, str]


class NotCanonical(ValueError):
    """The bytes are not the RFC 8785 canonical form of a JSON object."""


class InvalidBallot(ValueError):
    """The bytes are canonical JSON but not a ballot of the shape CRYPTO_DESIGN.md describes."""


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise NotCanonical(f"This value cannot be written as canonical JSON: {exc}.") from exc


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object, refusing a key that appears twice (json would silently keep the last)."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise NotCanonical(f"The JSON has the key {key!r} twice; each key may appear only once.")
        obj[key] = value
    return obj


def _parse_int(text: str) -> int | float:
    """An integer literal; past 2**53 it is read as the double it denotes, as RFC 8785 does."""
    # rfc8785 refuses Python ints past 2**53, yet the canonical form of a large double such as
    # 1e20 is written out as an integer literal; read as a double it round-trips exactly.
    if len(text) > 20:
        return float(text)
    value = int(text)
    return value if abs(value) < 2**53 else float(text)


def _refuse_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which Python's json accepts but JSON does not have."""
    raise NotCanonical(f"The JSON contains {name}, which is not a JSON number.")


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse a JSON object, refusing it unless the bytes are exactly its RFC 8785 canonical form."""
    if not isinstance(data, bytes):
        raise TypeError("parse_canonical takes the received bytes, not a decoded string")
    try:
        # Decode ourselves: json.loads(bytes) would also accept UTF-16 and UTF-32.
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotCanonical(f"The data is not valid UTF-8 (byte {exc.start} is wrong).") from exc
    try:
        obj = json.loads(text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant,
                         parse_int=_parse_int)
    except NotCanonical:
        raise
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"The data is not valid JSON: {exc.msg} at byte {_byte_offset(text, exc.pos)}.") from exc
    except (ValueError, RecursionError) as exc:
        raise NotCanonical(f"The data cannot be read as JSON: {exc}.") from exc
    if not isinstance(obj, dict):
        raise NotCanonical("The data must be a JSON object ({...}).")
    try:
        expected = rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise NotCanonical(f"The JSON has no canonical form: {exc}.") from exc
    if expected != data:
        raise NotCanonical(_explain_difference(data, expected))
    return obj


def _byte_offset(text: str, pos: int) -> int:
    """The UTF-8 byte offset of a character position, so messages match what was sent."""
    return len(text[:pos].encode("utf-8"))


def _explain_difference(data: bytes, expected: bytes) -> str:
    """Say in words where received bytes depart from their canonical form."""
    if data.strip() != data:
        return ("The JSON is not in canonical form (RFC 8785): it begins or ends with whitespace "
                "such as a trailing newline. Send the canonical bytes exactly as signed.")
    at = next((i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b),
              min(len(data), len(expected)))
    return ("The JSON is not in canonical form (RFC 8785): it differs from the canonical form at byte "
            f"{at}. Canonical JSON has keys sorted, no whitespace between tokens, numbers in shortest "
            "form and strings escaped minimally.")


def _check_id(name: str, value: Any) -> None:
    """An identifier is a non-empty string of at most 64 characters without control characters."""
    if not isinstance(value, str):
        raise InvalidBallot(f"The ballot's {name!r} must be a string.")
    if not value:
        raise InvalidBallot(f"The ballot's {name!r} is empty.")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidBallot(f"The ballot's {name!r} is longer than {MAX_ID_LENGTH} characters.")
    if _CONTROL.search(value):
        raise InvalidBallot(f"The ballot's {name!r} contains a control character.")


def _freeze_choice(choice: Any) -> Choice:
    """Check the choice is a string, a list of strings or an object of strings; make it immutable."""
    if isinstance(choice, str):
        return choice
    if isinstance(choice, list | tuple):
        if not all(isinstance(item, str) for item in choice):
            raise InvalidBallot("The ballot's choice is a list, so every item must be a string.")
        return tuple(choice)
    if isinstance(choice, Mapping):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in choice.items()):
            raise InvalidBallot("The ballot's choice is an object, so every value must be a string.")
        return MappingProxyType(dict(choice))
    raise InvalidBallot("The ballot's choice must be a string, a list of strings or an object of strings.")


def _thaw_choice(choice: Choice) -> str | list[str] | dict[str, str]:
    """The JSON form of a choice."""
    if isinstance(choice, str):
        return choice
    if isinstance(choice, tuple):
        return list(choice)
    return dict(choice)


@dataclass(frozen=True)
class Ballot:
    """A delegate's ballot; the app checks the choice against the vote, this only its shape."""

    vote: str
    round: int
    vote_sha256: str
    member: str
    delegate: str
    key: str
    choice: Choice
    nonce: str
    v: int = BALLOT_VERSION

    def __post_init__(self) -> None:
        """Refuse a ballot of the wrong shape, whether parsed or built by the app."""
        # bool is an int in Python but true is not 1 in JSON.
        if type(self.v) is not int or self.v != BALLOT_VERSION:
            raise InvalidBallot(f"The ballot's version 'v' must be {BALLOT_VERSION}.")
        _check_id("vote", self.vote)
        if type(self.round) is not int or self.round < 1:
            raise InvalidBallot("The ballot's 'round' must be a whole number of at least 1.")
        if not isinstance(self.vote_sha256, str) or not _HEX64.fullmatch(self.vote_sha256):
            raise InvalidBallot("The ballot's 'vote_sha256' must be 64 lowercase hexadecimal characters.")
        for name in ("member", "delegate", "key"):
            _check_id(name, getattr(self, name))
        if not isinstance(self.nonce, str) or not _NONCE.fullmatch(self.nonce):
            raise InvalidBallot("The ballot's 'nonce' must be 16 to 64 characters from A-Z, a-z, 0-9, '-' and '_'.")
        object.__setattr__(self, "choice", _freeze_choice(self.choice))

    def to_json(self) -> dict[str, Any]:
        """The ballot as a JSON object."""
        return {
            "v": self.v, "vote": self.vote, "round": self.round, "vote_sha256": self.vote_sha256,
            "member": self.member, "delegate": self.delegate, "key": self.key,
            "choice": _thaw_choice(self.choice), "nonce": self.nonce,
        }

    def to_bytes(self) -> bytes:
        """The canonical bytes a delegate signs."""
        return canonical_bytes(self.to_json())


def parse_ballot(data: bytes) -> Ballot:
    """Parse received ballot bytes: canonical JSON with exactly the ballot's keys and types."""
    if isinstance(data, bytes) and len(data) > MAX_BALLOT_BYTES:
        raise InvalidBallot(f"The ballot is larger than {MAX_BALLOT_BYTES} bytes.")
    obj = parse_canonical(data)
    missing = sorted(BALLOT_KEYS - obj.keys())
    if missing:
        raise InvalidBallot(f"The ballot lacks {', '.join(repr(k) for k in missing)}.")
    extra = sorted(obj.keys() - BALLOT_KEYS)
    if extra:
        raise InvalidBallot(f"The ballot has unexpected {', '.join(repr(k) for k in extra)}.")
    return Ballot(**obj)
