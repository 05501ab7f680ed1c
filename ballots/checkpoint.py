"""Signed checkpoints of a vote's log, in the spirit of C2SP tlog-checkpoint.

The body is three lines: the log's origin, the tree size in decimal and the root hash in
standard base64; the organization key signs CHECKPOINT_LABEL + body with Ed25519.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ballots.log import HASH_SIZE, MAX_SIZE
from ballots.signatures import CHECKPOINT_LABEL, ED25519, SIGNATURE_SIZE, OrgKey, PublicKey

# C2SP: the origin is a schema-less URL with no spaces or '+'; we also refuse control characters.
_ORIGIN = re.compile(r"[^\s+\x00-\x1f\x7f]+")
_SIZE = re.compile(r"0|[1-9][0-9]*")
_VOTE_PATH = "/vote/"


class InvalidCheckpoint(ValueError):
    """A checkpoint whose body or JSON form is malformed."""


def vote_origin(host: str, vote_id: str) -> str:
    """The origin line of a vote's log, e.g. "wego.example/vote/<vote id>"."""
    origin = f"{host}{_VOTE_PATH}{vote_id}"
    if not host or not vote_id or not _ORIGIN.fullmatch(origin):
        raise InvalidCheckpoint("A log origin needs a host and a vote id without spaces, '+' or control characters.")
    return origin


def origin_vote(origin: str) -> str | None:
    """The vote id at the end of an origin made by vote_origin, or None."""
    host, sep, vote_id = origin.rpartition(_VOTE_PATH)
    return vote_id if sep and host and vote_id else None


def _b64decode(text: Any, what: str) -> bytes:
    """Strict standard base64 (with padding), refusing other spellings of the same bytes."""
    if not isinstance(text, str):
        raise InvalidCheckpoint(f"The checkpoint's {what} must be a base64 string.")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCheckpoint(f"The checkpoint's {what} is not valid base64.") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise InvalidCheckpoint(f"The checkpoint's {what} is not in canonical base64.")
    return data


@dataclass(frozen=True)
class Checkpoint:
    """A statement of a log's origin, size and root hash, with the organization's signature."""

    origin: str
    size: int
    root: bytes
    signature: bytes = b""

    def __post_init__(self) -> None:
        """Refuse values that could not be written as, or read back from, a checkpoint body."""
        if not isinstance(self.origin, str) or not _ORIGIN.fullmatch(self.origin):
            raise InvalidCheckpoint("The checkpoint's origin must be non-empty, without spaces, '+' or control characters.")
        if type(self.size) is not int or not 0 <= self.size <= MAX_SIZE:
            raise InvalidCheckpoint("The checkpoint's size must be a whole number of at least 0.")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise InvalidCheckpoint("The checkpoint's root must be a 32-byte SHA-256 hash.")
        if not isinstance(self.signature, bytes) or len(self.signature) not in (0, SIGNATURE_SIZE):
            raise InvalidCheckpoint("The checkpoint's signature must be empty or 64 bytes.")

    def body(self) -> bytes:
        """The signed text: origin, size and base64 root, each line ending in a newline."""
        root_b64 = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root_b64}\n".encode()

    @classmethod
    def from_body(cls, body: bytes, signature: bytes = b"") -> Checkpoint:
        """Read a checkpoint body back, refusing any other layout of the same values."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidCheckpoint("The checkpoint body is not UTF-8.") from exc
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise InvalidCheckpoint("A checkpoint body is exactly three lines, each ending in a newline.")
        origin, size, root_b64 = lines[:3]
        if not _SIZE.fullmatch(size):
            raise InvalidCheckpoint("The checkpoint's size line must be a decimal number without leading zeros.")
        checkpoint = cls(origin, int(size), _b64decode(root_b64, "root"), signature)
        if checkpoint.body() != body:
            raise InvalidCheckpoint("The checkpoint body is not in its one accepted form.")
        return checkpoint

    def sign(self, org_key: OrgKey) -> Checkpoint:
        """This checkpoint signed by the organization key."""
        return Checkpoint(self.origin, self.size, self.root, org_key.sign(CHECKPOINT_LABEL, self.body()))

    def verify(self, org_public_key: PublicKey) -> bool:
        """Whether the checkpoint carries a valid signature by the organization's Ed25519 key."""
        if org_public_key.algorithm != ED25519 or not self.signature:
            return False
        return org_public_key.verify(CHECKPOINT_LABEL, self.body(), self.signature)

    def to_json(self) -> dict[str, Any]:
        """{"origin", "size", "root" (64 hex), "signature" (standard base64)} as a JSON object."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Checkpoint:
        """A checkpoint from to_json's form."""
        keys = {"origin", "size", "root", "signature"}
        if not isinstance(obj, Mapping) or set(obj) != keys:
            raise InvalidCheckpoint("A checkpoint is a JSON object with exactly origin, size, root and signature.")
        root_hex = obj["root"]
        if not isinstance(root_hex, str) or not re.fullmatch(r"[0-9a-f]{64}", root_hex):
            raise InvalidCheckpoint("The checkpoint's root must be 64 lowercase hex characters.")
        return cls(obj["origin"], obj["size"], bytes.fromhex(root_hex), _b64decode(obj["signature"], "signature"))
