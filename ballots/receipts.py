"""A delegate's receipt: proof that their signed ballot is in the vote's log (CRYPTO_DESIGN.md).

A receipt holds the vote, the ballot's leaf index and hash, its inclusion proof and the signed
checkpoint it was proven against; later checkpoints are tied to it by consistency proofs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ballots.checkpoint import Checkpoint, InvalidCheckpoint, origin_vote
from ballots.log import HASH_SIZE, MAX_SIZE, leaf_hash, verify_consistency, verify_inclusion
from ballots.signatures import PublicKey

RECEIPT_VERSION = 1
RECEIPT_KEYS = frozenset({"v", "vote", "index", "leaf_hash", "proof", "checkpoint"})
_HEX64 = re.compile(r"[0-9a-f]{64}")


class InvalidReceipt(ValueError):
    """A receipt file that is not of the receipt shape."""


def short_code(leaf: bytes) -> str:
    """The code a phone shows: the first 10 base32 characters of the leaf hash, as "ABCDE-FGHIJ"."""
    code = base64.b32encode(leaf).decode("ascii")[:10]
    return f"{code[:5]}-{code[5:]}"


def _unhex(value: Any, what: str) -> bytes:
    """A 32-byte hash from 64 lowercase hex characters."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidReceipt(f"The receipt's {what} must be 64 lowercase hex characters.")
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Receipt:
    """Where a ballot sits in a vote's log, and the proof of it against a signed checkpoint."""

    vote: str
    index: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    checkpoint: Checkpoint

    def __post_init__(self) -> None:
        """Refuse a receipt of the wrong shape; whether it holds is check_receipt's question."""
        if not isinstance(self.vote, str) or not self.vote:
            raise InvalidReceipt("The receipt's vote must be a non-empty string.")
        if type(self.index) is not int or not 0 <= self.index <= MAX_SIZE:
            raise InvalidReceipt("The receipt's leaf index must be a whole number of at least 0.")
        if not isinstance(self.leaf_hash, bytes) or len(self.leaf_hash) != HASH_SIZE:
            raise InvalidReceipt("The receipt's leaf hash must be 32 bytes.")
        proof = tuple(self.proof)
        if not all(isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof):
            raise InvalidReceipt("Each hash of the receipt's inclusion proof must be 32 bytes.")
        object.__setattr__(self, "proof", proof)
        if not isinstance(self.checkpoint, Checkpoint):
            raise InvalidReceipt("The receipt's checkpoint must be a Checkpoint.")

    @property
    def short_code(self) -> str:
        """The short code the phone shows for this ballot."""
        return short_code(self.leaf_hash)

    def to_json(self) -> dict[str, Any]:
        """The receipt as a JSON object (hashes in lowercase hex)."""
        return {
            "v": RECEIPT_VERSION,
            "vote": self.vote,
            "index": self.index,
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [p.hex() for p in self.proof],
            "checkpoint": self.checkpoint.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Receipt:
        """A receipt from to_json's form, refusing any other shape."""
        if not isinstance(obj, Mapping):
            raise InvalidReceipt("A receipt is a JSON object.")
        if set(obj) != RECEIPT_KEYS:
            raise InvalidReceipt("A receipt has exactly the keys " + ", ".join(sorted(RECEIPT_KEYS)) + ".")
        if type(obj["v"]) is not int or obj["v"] != RECEIPT_VERSION:
            raise InvalidReceipt(f"This verifier reads receipts of version {RECEIPT_VERSION} only.")
        proof = obj["proof"]
        if not isinstance(proof, list):
            raise InvalidReceipt("The receipt's proof must be a list of hashes.")
        try:
            checkpoint = Checkpoint.from_json(obj["checkpoint"])
        except InvalidCheckpoint as exc:
            raise InvalidReceipt(str(exc)) from exc
        return cls(
            obj["vote"],
            obj["index"],
            _unhex(obj["leaf_hash"], "leaf hash"),
            tuple(_unhex(p, "proof hash") for p in proof),
            checkpoint,
        )


def check_receipt(receipt: Receipt, org_public_key: PublicKey, *, origin: str | None = None,
                  entry: bytes | None = None) -> list[str]:
    """What is wrong with a receipt, in words; empty when it holds (and is of origin / for entry, if given)."""
    problems: list[str] = []
    cp = receipt.checkpoint
    if not cp.verify(org_public_key):
        problems.append("The checkpoint's signature is not a valid signature by the organization key.")
    if origin is not None and cp.origin != origin:
        problems.append(f"The checkpoint is of the log {cp.origin!r}, not of {origin!r}.")
    if origin_vote(cp.origin) != receipt.vote:
        problems.append(f"The checkpoint is of the log {cp.origin!r}, not of vote {receipt.vote!r}.")
    if entry is not None and leaf_hash(entry) != receipt.leaf_hash:
        problems.append("The receipt's leaf hash is not the hash of this signed ballot.")
    if receipt.index >= cp.size:
        problems.append(f"The leaf index {receipt.index} is outside the checkpoint's log of {cp.size} ballots.")
    elif not verify_inclusion(receipt.leaf_hash, receipt.index, cp.size, receipt.proof, cp.root):
        problems.append("The inclusion proof does not lead from the ballot's leaf hash to the checkpoint's root.")
    return problems


def check_consistency(receipt_checkpoint: Checkpoint, final_checkpoint: Checkpoint, proof: Sequence[bytes],
                      org_public_key: PublicKey | None = None) -> list[str]:
    """What is wrong with the claim that final_checkpoint extends receipt_checkpoint (and both are signed, given the key)."""
    problems: list[str] = []
    if org_public_key is not None:
        if not receipt_checkpoint.verify(org_public_key):
            problems.append("The receipt's checkpoint is not validly signed by the organization key.")
        if not final_checkpoint.verify(org_public_key):
            problems.append("The final checkpoint is not validly signed by the organization key.")
    if receipt_checkpoint.origin != final_checkpoint.origin:
        problems.append(f"The checkpoints are of different logs ({receipt_checkpoint.origin!r} and "
                        f"{final_checkpoint.origin!r}).")
    if receipt_checkpoint.size > final_checkpoint.size:
        problems.append(f"The receipt's checkpoint has {receipt_checkpoint.size} ballots, more than the "
                        f"final checkpoint's {final_checkpoint.size}: the log shrank.")
    elif not verify_consistency(receipt_checkpoint.size, final_checkpoint.size, receipt_checkpoint.root,
                                final_checkpoint.root, list(proof)):
        problems.append("The consistency proof does not show the final log extends the receipt's log: "
                        "a ballot logged before may have been changed or removed.")
    return problems
