"""Append-only hash chains: the audit log and the key registry are both chains of events.

Each event's hash covers the previous event's hash and the RFC 8785 canonical bytes of the
event body, so changing, removing or reordering any event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

GENESIS = "0" * 64
LABEL = b"wego-chain/v1\n"


def event_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """Hash of one event: SHA-256 over a label, the previous hash and the canonical body."""
    if len(prev_hash) != 64:
        raise ValueError("previous hash must be 64 hex characters")
    data = LABEL + prev_hash.encode("ascii") + b"\n" + rfc8785.dumps(dict(body))
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops holding: the position, the event's own sequence number and why."""

    index: int
    seq: int | None
    reason: str


def verify_chain(events: Iterable[tuple[int | None, str, str, Mapping[str, Any]]]) -> ChainBreak | None:
    """Check (seq, prev_hash, hash, body) events in order; return the first break or None."""
    prev = GENESIS
    for index, (seq, prev_hash, stored_hash, body) in enumerate(events):
        if prev_hash != prev:
            return ChainBreak(index, seq, "its previous-hash does not match the event before it")
        if event_hash(prev_hash, body) != stored_hash:
            return ChainBreak(index, seq, "its content does not match its hash")
        prev = stored_hash
    return None
