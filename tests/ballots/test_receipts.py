"""Receipts: from signed ballot to log entry to inclusion proof to signed checkpoint, and back."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ballots.canonical import Ballot
from ballots.checkpoint import Checkpoint, vote_origin
from ballots.log import CompactRange, ballot_entry, consistency_proof, leaf_hash, root
from ballots.receipts import InvalidReceipt, Receipt, check_consistency, check_receipt, short_code
from ballots.signatures import BALLOT_LABEL, OrgKey, PublicKey

VOTE = "v-2025-07"
ORIGIN = vote_origin("wego.example", VOTE)


class Log:
    """A vote's log as the server keeps it: the compact state, the leaf hashes and each receipt."""

    def __init__(self, org: OrgKey, origin: str = ORIGIN, vote: str = VOTE):
        self.org, self.origin, self.vote = org, origin, vote
        self.state = CompactRange()
        self.hashes: list[bytes] = []
        self.entries: list[bytes] = []
        self.receipts: list[Receipt] = []

    def cast(self, member: str, choice) -> Receipt:
        device = ed25519.Ed25519PrivateKey.generate()
        key = PublicKey.from_spki(device.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        ballot = Ballot(vote=self.vote, round=1, vote_sha256="0" * 64, member=member, delegate=f"d-{member}",
                        key=key.key_id, choice=choice, nonce="n" * 16 + member).to_bytes()
        signature = device.sign(BALLOT_LABEL + ballot)
        assert key.verify(BALLOT_LABEL, ballot, signature)
        entry = ballot_entry(ballot, signature, key.key_id)
        leaf = leaf_hash(entry)
        self.state, proof = self.state.append_with_proof(leaf)
        self.hashes.append(leaf)
        self.entries.append(entry)
        checkpoint = Checkpoint(self.origin, self.state.size, self.state.root()).sign(self.org)
        receipt = Receipt(self.vote, self.state.size - 1, leaf, tuple(proof), checkpoint)
        self.receipts.append(receipt)
        return receipt

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.origin, len(self.hashes), root(self.hashes)).sign(self.org)


@pytest.fixture(scope="module")
def org():
    return OrgKey.generate()


@pytest.fixture(scope="module")
def vote_log(org):
    log = Log(org)
    for i in range(11):
        log.cast(f"m{i:02d}", ["yes", "no", "abstain"][i % 3] if i % 4 else ["c-1", "c-2"])
    return log


def test_every_receipt_holds(org, vote_log):
    for receipt, entry in zip(vote_log.receipts, vote_log.entries, strict=True):
        assert check_receipt(receipt, org.public_key()) == []
        assert check_receipt(receipt, org.public_key(), origin=ORIGIN, entry=entry) == []


def test_receipt_json_round_trip(vote_log):
    for receipt in vote_log.receipts:
        obj = json.loads(json.dumps(receipt.to_json()))
        assert Receipt.from_json(obj) == receipt
    obj = vote_log.receipts[3].to_json()
    assert set(obj) == {"v", "vote", "index", "leaf_hash", "proof", "checkpoint"}
    assert obj["v"] == 1 and obj["vote"] == VOTE and obj["index"] == 3
    assert obj["leaf_hash"] == vote_log.hashes[3].hex()


def test_short_code():
    # Base32 (RFC 4648) of SHA-256(0x00), the empty entry's leaf hash 6e340b9c...
    assert base64.b32encode(leaf_hash(b""))[:10] == b"NY2AXHH7WN"
    assert short_code(leaf_hash(b"")) == "NY2AX-HH7WN"
    assert short_code(bytes(32)) == "AAAAA-AAAAA"
    assert short_code(b"\xff" * 32) == "77777-77777"


def test_receipt_short_code(vote_log):
    receipt = vote_log.receipts[0]
    assert receipt.short_code == short_code(receipt.leaf_hash)
    code = receipt.short_code
    assert len(code) == 11 and code[5] == "-"
    assert set(code.replace("-", "")) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_receipt_problems_are_named(org, vote_log):
    receipt = vote_log.receipts[5]
    key = org.public_key()
    cp = receipt.checkpoint

    def problems(r, **kwargs):
        return " | ".join(check_receipt(r, key, **kwargs))

    assert "signature" in problems(replace(receipt, checkpoint=replace(cp, signature=b"\x00" * 64)))
    assert "signature" in problems(replace(receipt, checkpoint=replace(cp, signature=b"")))
    assert "signature" in " ".join(check_receipt(receipt, OrgKey.generate().public_key()))
    assert "not of vote" in problems(replace(receipt, vote="v-other"))
    assert "not of 'wego.example/vote/v-other'" in problems(receipt, origin="wego.example/vote/v-other")
    assert "inclusion proof" in problems(replace(receipt, index=4))
    assert "inclusion proof" in problems(replace(receipt, leaf_hash=vote_log.hashes[4]))
    assert "inclusion proof" in problems(replace(receipt, proof=receipt.proof[:-1]))
    flipped = (bytes([receipt.proof[0][0] ^ 1]) + receipt.proof[0][1:],) + receipt.proof[1:]
    assert "inclusion proof" in problems(replace(receipt, proof=flipped))
    assert "outside" in problems(replace(receipt, index=cp.size))
    assert "not the hash of this signed ballot" in problems(receipt, entry=vote_log.entries[4])


def test_a_checkpoint_resigned_with_another_root_is_caught_by_the_proof(org, vote_log):
    # Even the organization key cannot move a receipt's ballot out of the root it was proven in.
    receipt = vote_log.receipts[2]
    other = Checkpoint(ORIGIN, receipt.checkpoint.size, leaf_hash(b"another history")).sign(org)
    assert check_receipt(replace(receipt, checkpoint=other), org.public_key()) == [
        "The inclusion proof does not lead from the ballot's leaf hash to the checkpoint's root."
    ]


def test_receipt_from_another_vote_is_refused(org):
    other = Log(org, origin=vote_origin("wego.example", "v-other"), vote="v-other")
    receipt = other.cast("m01", "yes")
    assert check_receipt(receipt, org.public_key()) == []
    assert check_receipt(receipt, org.public_key(), origin=ORIGIN) != []
    assert check_receipt(replace(receipt, vote=VOTE), org.public_key()) != []


def test_every_receipt_is_consistent_with_the_final_checkpoint(org, vote_log):
    final = vote_log.checkpoint()
    for receipt in vote_log.receipts:
        proof = consistency_proof(vote_log.hashes, receipt.checkpoint.size)
        assert check_consistency(receipt.checkpoint, final, proof) == []
        assert check_consistency(receipt.checkpoint, final, proof, org.public_key()) == []


def test_a_rewritten_log_is_inconsistent_with_earlier_receipts(org, vote_log):
    forged = list(vote_log.hashes)
    forged[2] = leaf_hash(b"a ballot changed after its receipt was given")
    final = Checkpoint(ORIGIN, len(forged), root(forged)).sign(org)
    for receipt in vote_log.receipts[2:10]:
        proof = consistency_proof(forged, receipt.checkpoint.size)
        problems = check_consistency(receipt.checkpoint, final, proof, org.public_key())
        assert any("changed or removed" in p for p in problems)


def test_consistency_problems_are_named(org, vote_log):
    early, late = vote_log.receipts[3].checkpoint, vote_log.checkpoint()
    proof = consistency_proof(vote_log.hashes, early.size)
    key = org.public_key()
    assert any("shrank" in p for p in check_consistency(late, early, proof))
    other = Checkpoint("wego.example/vote/v-other", late.size, late.root).sign(org)
    assert any("different logs" in p for p in check_consistency(early, other, proof))
    unsigned = replace(late, signature=b"")
    assert any("final checkpoint" in p for p in check_consistency(early, unsigned, proof, key))
    assert check_consistency(early, unsigned, proof) == []  # signatures only checked given the key
    assert any("receipt's checkpoint" in p for p in check_consistency(replace(early, signature=b""), late, proof, key))


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.pop("proof"),
        lambda o: o.update(extra=1),
        lambda o: o.update(v=2),
        lambda o: o.update(v=True),
        lambda o: o.update(vote=""),
        lambda o: o.update(vote=7),
        lambda o: o.update(index=-1),
        lambda o: o.update(index="3"),
        lambda o: o.update(index=True),
        lambda o: o.update(leaf_hash="AB" * 32),
        lambda o: o.update(leaf_hash="ab" * 31),
        lambda o: o.update(proof="ab" * 32),
        lambda o: o.update(proof=["ab" * 33]),
        lambda o: o["checkpoint"].update(size="4"),
        lambda o: o["checkpoint"].pop("signature"),
    ],
)
def test_receipt_from_json_refuses(vote_log, change):
    obj = json.loads(json.dumps(vote_log.receipts[3].to_json()))
    change(obj)
    with pytest.raises(InvalidReceipt):
        Receipt.from_json(obj)


def test_receipt_from_json_refuses_non_objects():
    with pytest.raises(InvalidReceipt):
        Receipt.from_json([])  # type: ignore[arg-type]
