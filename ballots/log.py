"""RFC 6962 Merkle log of signed ballots: tree hashes, inclusion and consistency proofs.

Proofs are produced as RFC 6962 section 2.1 defines them and checked with the RFC 9162
section 2.1.3.2 and 2.1.4.2 algorithms, so any Certificate Transparency verifier agrees.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
ENTRY_LABEL = b"wego-ballot-entry/v1\n"
# Sizes are counted in ballots; 2**63 keeps the serialized state within a signed 64-bit column.
MAX_SIZE = 2**63 - 1

_HEX64 = re.compile(r"[0-9a-f]{64}")


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2), where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """Merkle tree hash of the leaves lo..hi-1 (RFC 6962 section 2.1 MTH)."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    """Refuse anything but a sequence of 32-byte hashes."""
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ValueError(f"each {what} must be a 32-byte SHA-256 hash")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree head of the given leaf hashes; SHA-256("") for none."""
    _check_hashes(leaf_hashes, "leaf hash")
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 section 2.1.1 PATH(index, D[n]): sibling hashes from the leaf up to the root."""
    _check_hashes(leaf_hashes, "leaf hash")
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaf_hashes)} leaves")
    proof: list[bytes] = []
    lo, hi = 0, len(leaf_hashes)
    # Walk down from the root, collecting the other side at each split; reversed at the end
    # because the proof lists the deepest sibling first.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(_mth(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_mth(leaf_hashes, lo, lo + k))
            lo = lo + k
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """RFC 6962 section 2.1.2 PROOF(old_size, D[n]); empty when old_size is 0 or n."""
    _check_hashes(leaf_hashes, "leaf hash")
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(leaf_hashes, old_size, 0, n, True)


def _subproof(hashes: Sequence[bytes], m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    """RFC 6962 SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(hashes, lo, hi)]
    k = _split(n)
    if m <= k:
        return _subproof(hashes, m, lo, lo + k, complete) + [_mth(hashes, lo + k, hi)]
    return _subproof(hashes, m - k, lo + k, hi, False) + [_mth(hashes, lo, lo + k)]


def _is_hash(value: Any) -> bool:
    """Whether value is a 32-byte hash."""
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: Any) -> bool:
    """Whether value is a tree size or index: a non-negative int, not a bool."""
    return type(value) is int and 0 <= value <= MAX_SIZE


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: whether proof shows leaf at index in the tree of size with root_hash."""
    if not (_is_hash(leaf) and _is_hash(root_hash) and _is_size(index) and _is_size(size)):
        return False
    if index >= size or not all(_is_hash(p) for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: whether proof shows the old tree is a prefix of the new one."""
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if old_size > new_size or not all(_is_hash(p) for p in proof):
        return False
    # Cases the RFC leaves out (it assumes 0 < old < new): equal sizes need equal roots, and the
    # empty tree, a prefix of every tree, needs its own root; both need an empty proof.
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT
    if len(proof) == 0:
        return False
    path = list(proof)
    # A power-of-two old tree is itself a node of the new tree, so the proof omits it.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass(frozen=True)
class CompactRange:
    """The log's state in O(log n) for appends: its size and its perfect subtrees' roots, largest first."""

    size: int = 0
    peaks: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a state whose peaks do not match its size (one peak per set bit)."""
        if not _is_size(self.size):
            raise ValueError("a compact range's size must be a non-negative whole number")
        if not isinstance(self.peaks, tuple) or not all(_is_hash(p) for p in self.peaks):
            raise ValueError("a compact range's peaks must be a tuple of 32-byte hashes")
        if len(self.peaks) != self.size.bit_count():
            raise ValueError(f"a log of {self.size} leaves has {self.size.bit_count()} subtree roots, "
                             f"not {len(self.peaks)}")

    def append(self, leaf: bytes) -> CompactRange:
        """The range with one more leaf hash at the end."""
        if not _is_hash(leaf):
            raise ValueError("a leaf hash must be 32 bytes")
        # Like a binary counter: each set low bit of the size is a subtree of equal size to merge,
        # so an append hashes at most log2(n) nodes and the server never re-hashes the log.
        peaks = list(self.peaks)
        h, s = leaf, self.size
        while s & 1:
            h = node_hash(peaks.pop(), h)
            s >>= 1
        peaks.append(h)
        return CompactRange(self.size + 1, tuple(peaks))

    def append_with_proof(self, leaf: bytes) -> tuple[CompactRange, list[bytes]]:
        """Append a leaf and also return its inclusion proof in the new tree, for its receipt."""
        # The newest leaf sits on the right edge, so its siblings are exactly the old peaks,
        # smallest first.
        return self.append(leaf), list(reversed(self.peaks))

    def root(self) -> bytes:
        """The tree head, equal to root() over all leaf hashes."""
        if not self.peaks:
            return EMPTY_ROOT
        r = self.peaks[-1]
        for p in reversed(self.peaks[:-1]):
            r = node_hash(p, r)
        return r

    def to_json(self) -> dict[str, Any]:
        """The state as JSON: {"size": n, "peaks": [hex, ...]} with the largest subtree first."""
        return {"size": self.size, "peaks": [p.hex() for p in self.peaks]}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> CompactRange:
        """The state from to_json's form."""
        if not isinstance(obj, Mapping) or set(obj) != {"size", "peaks"}:
            raise ValueError("a compact range is a JSON object with exactly 'size' and 'peaks'")
        peaks = obj["peaks"]
        if not isinstance(peaks, list):
            raise ValueError("a compact range's peaks must be a list of hex hashes")
        return cls(obj["size"], tuple(_unhex(p) for p in peaks))

    def to_bytes(self) -> bytes:
        """The state as bytes: the size as 8 bytes big-endian, then each peak's 32 bytes."""
        return struct.pack(">Q", self.size) + b"".join(self.peaks)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """The state from to_bytes's form."""
        if len(data) < 8 or (len(data) - 8) % HASH_SIZE:
            raise ValueError("a stored compact range is 8 bytes of size and then whole 32-byte hashes")
        (size,) = struct.unpack(">Q", data[:8])
        body = data[8:]
        return cls(size, tuple(body[i:i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)))


def _unhex(value: Any) -> bytes:
    """A 32-byte hash from 64 lowercase hex characters."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError("a hash must be 64 lowercase hex characters")
    return bytes.fromhex(value)


def ballot_entry(ballot_bytes: bytes, signature: bytes, key_id: str) -> bytes:
    """The log entry of a signed ballot: ENTRY_LABEL, then ballot, signature and key id, each length-prefixed."""
    # entry = label || u32(len b) || b || u32(len sig) || sig || u32(len k) || k, big-endian lengths,
    # so no two different (ballot, signature, key id) triples can give the same bytes.
    key = key_id.encode("ascii")
    parts = [ballot_bytes, signature, key]
    if any(len(p) >= 2**32 for p in parts):
        raise ValueError("a log entry field must be shorter than 4 GiB")
    return ENTRY_LABEL + b"".join(struct.pack(">I", len(p)) + p for p in parts)


def parse_ballot_entry(entry: bytes) -> tuple[bytes, bytes, str]:
    """Split a log entry back into (ballot bytes, signature, key id), refusing any other layout."""
    if not entry.startswith(ENTRY_LABEL):
        raise ValueError("the log entry does not start with the ballot-entry label")
    pos = len(ENTRY_LABEL)
    parts: list[bytes] = []
    for _ in range(3):
        if pos + 4 > len(entry):
            raise ValueError("the log entry ends inside a length field")
        (n,) = struct.unpack(">I", entry[pos:pos + 4])
        pos += 4
        if pos + n > len(entry):
            raise ValueError("the log entry is shorter than a field's length says")
        parts.append(entry[pos:pos + n])
        pos += n
    if pos != len(entry):
        raise ValueError("the log entry has bytes after its last field")
    try:
        key_id = parts[2].decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError("the log entry's key id is not ASCII") from exc
    return parts[0], parts[1], key_id
