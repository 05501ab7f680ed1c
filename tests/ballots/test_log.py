"""The RFC 6962 Merkle log, against the Certificate Transparency reference vectors."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ballots.log as log
from ballots.log import (
    EMPTY_ROOT,
    ENTRY_LABEL,
    CompactRange,
    ballot_entry,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    parse_ballot_entry,
    root,
    verify_consistency,
    verify_inclusion,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# The Certificate Transparency reference tree (google/certificate-transparency merkle tree tests,
# also transparency-dev/merkle): eight leaves, the roots of each prefix, and proofs.
CT_LEAVES = [h(x) for x in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
]]
CT_ROOTS = [h(x) for x in [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # size 0: SHA-256("")
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]
# (leaf index, tree size, PATH); the reference lists leaves 1-based: 1/8, 6/8, 3/3, 2/5.
CT_INCLUSION = [
    (0, 1, []),
    (0, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
# (old size, new size, PROOF)
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
CT_HASHES = [leaf_hash(x) for x in CT_LEAVES]
MAX_N = 70
LEAVES = [leaf_hash(struct.pack(">I", i) + bytes(i % 5)) for i in range(MAX_N)]
ROOTS = [root(LEAVES[:n]) for n in range(MAX_N + 1)]
assert len(set(LEAVES)) == MAX_N, "test leaves must differ, or wrong-position probes could pass"


def test_hash_definitions():
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()


@pytest.mark.parametrize("size", range(9))
def test_ct_roots(size):
    assert root(CT_HASHES[:size]) == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_ct_inclusion_proofs(index, size, path):
    assert inclusion_proof(CT_HASHES[:size], index) == path
    assert verify_inclusion(CT_HASHES[index], index, size, path, CT_ROOTS[size])
    for probe in corrupt_inclusion(index, size, path, CT_ROOTS[size], CT_HASHES[index]):
        assert not verify_inclusion(*probe[:5]), probe[5]


@pytest.mark.parametrize(("old", "new", "path"), CT_CONSISTENCY)
def test_ct_consistency_proofs(old, new, path):
    assert consistency_proof(CT_HASHES[:new], old) == path
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], path)
    if path:
        for probe in corrupt_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], path):
            assert not verify_consistency(*probe[:5]), probe[5]


def corrupt_inclusion(index, size, proof, root_hash, leaf):
    """Every way transparency-dev/merkle's verifier tests spoil an inclusion proof."""
    probes = [
        (leaf, index - 1, size, proof, root_hash, "index - 1"),
        (leaf, index + 1, size, proof, root_hash, "index + 1"),
        (leaf, index ^ 2, size, proof, root_hash, "index ^ 2"),
        (leaf, index, size * 2, proof, root_hash, "size * 2"),
        (leaf, index, size // 2, proof, root_hash, "size / 2"),
        (leaf_hash(b"WrongLeaf"), index, size, proof, root_hash, "wrong leaf"),
        (leaf, index, size, proof, EMPTY_ROOT, "empty root"),
        (leaf, index, size, proof, SOME_HASH, "random root"),
        (leaf, index, size, proof + [b""], root_hash, "trailing garbage"),
        (leaf, index, size, proof + [root_hash], root_hash, "trailing root"),
        (leaf, index, size, [b""] + proof, root_hash, "preceding garbage"),
        (leaf, index, size, [root_hash] + proof, root_hash, "preceding root"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((leaf, index, size, wrong, root_hash, f"modified proof[{i}] bit 3"))
    if proof:
        probes.append((leaf, index, size, proof[:-1], root_hash, "removed component"))
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH] + proof[1:], root_hash, "inserted component"))
    return probes


def corrupt_consistency(old, new, old_root, new_root, proof):
    """Every way transparency-dev/merkle's verifier tests spoil a consistency proof."""
    probes = [
        (old - 1, new, old_root, new_root, proof, "old - 1"),
        (old + 1, new, old_root, new_root, proof, "old + 1"),
        (old ^ 2, new, old_root, new_root, proof, "old ^ 2"),
        (old, new * 2, old_root, new_root, proof, "new * 2"),
        (old, new // 2, old_root, new_root, proof, "new / 2"),
        (old, new, SOME_HASH, new_root, proof, "wrong old root"),
        (old, new, old_root, SOME_HASH, proof, "wrong new root"),
        (old, new, new_root, old_root, proof, "swapped roots"),
        (old, new, old_root, new_root, [], "empty proof"),
        (old, new, old_root, new_root, proof + [b""], "trailing garbage"),
        (old, new, old_root, new_root, proof + [old_root], "trailing old root"),
        (old, new, old_root, new_root, proof + [new_root], "trailing new root"),
        (old, new, old_root, new_root, [b""] + proof, "preceding garbage"),
        (old, new, old_root, new_root, [old_root] + proof, "preceding old root"),
        (old, new, old_root, new_root, [new_root] + proof, "preceding new root"),
        (old, new, old_root, new_root, [proof[0]] + proof, "preceding proof[0]"),
        (old, new, old_root, new_root, proof[:-1], "truncated proof"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((old, new, old_root, new_root, wrong, f"modified proof[{i}] bit 4"))
    return probes


def test_every_inclusion_proof_up_to_70_verifies_and_every_corruption_fails():
    for size in range(1, MAX_N + 1):
        hashes = LEAVES[:size]
        for index in range(size):
            proof = inclusion_proof(hashes, index)
            assert verify_inclusion(hashes[index], index, size, proof, ROOTS[size]), (index, size)
            for probe in corrupt_inclusion(index, size, proof, ROOTS[size], hashes[index]):
                assert not verify_inclusion(*probe[:5]), (index, size, probe[5])


def test_an_inclusion_proof_holds_only_for_its_own_position():
    size = 13
    for index in range(size):
        proof = inclusion_proof(LEAVES[:size], index)
        for other in range(size):
            ok = verify_inclusion(LEAVES[index], other, size, proof, ROOTS[size])
            assert ok == (other == index)
            if other != index:
                assert not verify_inclusion(LEAVES[other], index, size, proof, ROOTS[size])


def test_every_consistency_proof_up_to_70_verifies_and_every_corruption_fails():
    for new in range(0, MAX_N + 1):
        hashes = LEAVES[:new]
        for old in range(0, new + 1):
            proof = consistency_proof(hashes, old)
            assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof), (old, new)
            if 0 < old < new:
                for probe in corrupt_consistency(old, new, ROOTS[old], ROOTS[new], proof):
                    assert not verify_consistency(*probe[:5]), (old, new, probe[5])


def test_consistency_fails_against_a_rewritten_history():
    for new in range(2, 20):
        for old in range(1, new):
            forged = list(LEAVES[:new])
            forged[old - 1] = leaf_hash(b"a changed ballot")
            proof = consistency_proof(forged, old)
            assert not verify_consistency(old, new, ROOTS[old], root(forged), proof)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_tampered_inclusion_proofs_fail(data):
    size = data.draw(st.integers(2, MAX_N), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(LEAVES[:size], index)
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    wrong = list(proof)
    wrong[element] = (int.from_bytes(wrong[element], "big") ^ (1 << bit)).to_bytes(32, "big")
    assert not verify_inclusion(LEAVES[index], index, size, wrong, ROOTS[size])
    swap = data.draw(st.integers(0, len(proof) - 1), label="swap")
    if proof[swap] != proof[element]:
        reordered = list(proof)
        reordered[swap], reordered[element] = reordered[element], reordered[swap]
        assert not verify_inclusion(LEAVES[index], index, size, reordered, ROOTS[size])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_tampered_consistency_proofs_fail(data):
    new = data.draw(st.integers(2, MAX_N), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    proof = consistency_proof(LEAVES[:new], old)
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    wrong = list(proof)
    wrong[element] = (int.from_bytes(wrong[element], "big") ^ (1 << bit)).to_bytes(32, "big")
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], wrong)
    other_old = data.draw(st.integers(1, new - 1), label="other old")
    if other_old != old:
        assert not verify_consistency(other_old, new, ROOTS[other_old], ROOTS[new], proof)


def test_inclusion_edge_cases():
    # transparency-dev/merkle TestVerifyInclusionProof: impossible index/size pairs never verify.
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    # A one-leaf tree's root is its leaf hash and the proof is empty.
    one = leaf_hash(b"data")
    assert verify_inclusion(one, 0, 1, [], one)
    assert not verify_inclusion(one, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], one)
    assert not verify_inclusion(one, -1, 1, [], one)
    assert not verify_inclusion(one, True, 2, [one], node_hash(one, one))  # type: ignore[arg-type]


def test_consistency_edge_cases():
    r1, r2 = ROOTS[1], ROOTS[2]
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert verify_consistency(1, 1, r1, r1, [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOTS[5], []), "an empty tree has the empty root"
    assert not verify_consistency(1, 1, r1, r2, []), "same size, different roots"
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]), "equal trees need no proof"
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, r1, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 0, r1, EMPTY_ROOT, []), "a log never shrinks"
    assert not verify_consistency(2, 1, r2, r1, [])
    assert not verify_consistency(1, 2, r1, r2, []), "a growing log needs a proof"
    assert not verify_consistency(-1, 2, r1, r2, [LEAVES[1]])
    assert not verify_consistency(1, 2, b"short", r2, [LEAVES[1]])
    assert verify_consistency(1, 2, r1, r2, [LEAVES[1]])


def test_proof_arguments_are_checked():
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:3], 3)
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:3], -1)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES[:3], 4)
    with pytest.raises(ValueError):
        root([b"short"])


# The incremental state the server keeps per vote.

def test_compact_range_agrees_with_root_for_every_size_up_to_300():
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(300)]
    state = CompactRange()
    assert state.root() == EMPTY_ROOT
    for n, leaf in enumerate(hashes, start=1):
        state, proof = state.append_with_proof(leaf)
        assert state.size == n
        assert state.root() == root(hashes[:n])
        assert proof == inclusion_proof(hashes[:n], n - 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=90))
def test_compact_range_property(entries):
    hashes = [leaf_hash(e) for e in entries]
    state = CompactRange()
    for n, leaf in enumerate(hashes, start=1):
        state, proof = state.append_with_proof(leaf)
        assert verify_inclusion(leaf, n - 1, n, proof, state.root())
        # The state survives a trip through the database in either form.
        assert CompactRange.from_json(json.loads(json.dumps(state.to_json()))) == state
        assert CompactRange.from_bytes(state.to_bytes()) == state
    assert state.root() == root(hashes)
    assert len(state.peaks) == len(hashes).bit_count()


def test_compact_range_append_is_logarithmic(monkeypatch):
    state = CompactRange()
    for i in range(1023):
        state = state.append(leaf_hash(i.to_bytes(2, "big")))
    calls = []
    real = log.node_hash
    monkeypatch.setattr(log, "node_hash", lambda a, b: calls.append(1) or real(a, b))
    state = state.append(leaf_hash(b"the 1024th ballot"))
    assert len(calls) == 10
    calls.clear()
    state.root()
    assert len(calls) == 0  # 1024 leaves: one perfect subtree


def test_compact_range_serialized_forms():
    state = CompactRange()
    for leaf in CT_HASHES[:5]:
        state = state.append(leaf)
    assert state.to_json() == {"size": 5, "peaks": [root(CT_HASHES[:4]).hex(), CT_HASHES[4].hex()]}
    assert state.to_bytes() == b"\x00" * 7 + b"\x05" + root(CT_HASHES[:4]) + CT_HASHES[4]
    assert state.root() == CT_ROOTS[5]


@pytest.mark.parametrize(
    "obj",
    [
        {"size": 2, "peaks": []},
        {"size": 1, "peaks": ["00" * 32, "00" * 32]},
        {"size": 1, "peaks": ["AB" * 32]},
        {"size": 1, "peaks": ["0" * 63]},
        {"size": 1, "peaks": [" " + "0" * 62 + " "]},
        {"size": -1, "peaks": []},
        {"size": True, "peaks": ["00" * 32]},
        {"size": 1, "peaks": "00" * 32},
        {"size": 0},
        {"size": 0, "peaks": [], "extra": 1},
        [],
    ],
)
def test_compact_range_refuses_bad_json(obj):
    with pytest.raises(ValueError):
        CompactRange.from_json(obj)


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, b"\x00" * 7 + b"\x01", b"\x00" * 7 + b"\x01" + b"x" * 31,
                                  b"\x00" * 7 + b"\x03" + b"x" * 32])
def test_compact_range_refuses_bad_bytes(data):
    with pytest.raises(ValueError):
        CompactRange.from_bytes(data)


def test_compact_range_refuses_bad_leaf():
    with pytest.raises(ValueError):
        CompactRange().append(b"not a hash")


# The log entry of a signed ballot.

def test_ballot_entry_layout():
    entry = ballot_entry(b'{"v":1}', b"S" * 64, "k_abc")
    assert entry == (b"wego-ballot-entry/v1\n" + b"\x00\x00\x00\x07" + b'{"v":1}' + b"\x00\x00\x00\x40" + b"S" * 64
                     + b"\x00\x00\x00\x05" + b"k_abc")
    assert entry.startswith(ENTRY_LABEL)
    assert parse_ballot_entry(entry) == (b'{"v":1}', b"S" * 64, "k_abc")
    assert leaf_hash(entry).hex() == hashlib.sha256(b"\x00" + entry).hexdigest()


def test_ballot_entry_known_answer():
    # The vector docs/crypto-formats.md gives for verifiers written elsewhere.
    entry = ballot_entry(b"{}", bytes(64), "k_a3r73d62fg5wbk2zkv66mhw3bl")
    assert entry.hex() == (
        "7765676f2d62616c6c6f742d656e7472792f76310a" "00000002" "7b7d" "00000040" + "00" * 64
        + "0000001c" + b"k_a3r73d62fg5wbk2zkv66mhw3bl".hex()
    )
    assert leaf_hash(entry).hex() == "10d1510c06624ef3f009e79bb7353cace47c03f9b46d71b963c3daec7652cf4c"


@given(st.binary(max_size=60), st.binary(max_size=70), st.text(alphabet="abcdefghijk_2", max_size=30),
       st.binary(max_size=60), st.binary(max_size=70), st.text(alphabet="abcdefghijk_2", max_size=30))
def test_ballot_entry_is_unambiguous(b1, s1, k1, b2, s2, k2):
    e1, e2 = ballot_entry(b1, s1, k1), ballot_entry(b2, s2, k2)
    assert parse_ballot_entry(e1) == (b1, s1, k1)
    assert (e1 == e2) == ((b1, s1, k1) == (b2, s2, k2))


@pytest.mark.parametrize(
    "entry",
    [
        b"",
        b"wego-ballot-entry/v2\n" + b"\x00" * 12,
        ENTRY_LABEL + b"\x00\x00\x00",
        ENTRY_LABEL + b"\x00\x00\x00\x05abc",
        ENTRY_LABEL + b"\x00" * 12 + b"x",
        ENTRY_LABEL + b"\x00" * 8 + b"\x00\x00\x00\x01\xff",
    ],
)
def test_parse_ballot_entry_refuses(entry):
    with pytest.raises(ValueError):
        parse_ballot_entry(entry)


def test_ballot_entry_key_id_must_be_ascii():
    with pytest.raises(ValueError):
        ballot_entry(b"{}", b"", "k_\u00e9")
