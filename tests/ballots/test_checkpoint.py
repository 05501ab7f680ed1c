"""Signed checkpoints: the body text, the signature and the JSON form."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ballots.checkpoint import Checkpoint, InvalidCheckpoint, origin_vote, vote_origin
from ballots.log import EMPTY_ROOT, leaf_hash, root
from ballots.signatures import CERTIFICATE_LABEL, CHECKPOINT_LABEL, OrgKey, PublicKey

ORIGIN = "wego.example/vote/v-2025-07"
ROOT = root([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


@pytest.fixture(scope="module")
def org():
    return OrgKey.generate()


def test_body_is_three_lines():
    cp = Checkpoint(ORIGIN, 3, ROOT)
    assert cp.body() == f"{ORIGIN}\n3\n{base64.b64encode(ROOT).decode()}\n".encode()
    assert Checkpoint(ORIGIN, 0, EMPTY_ROOT).body() == (
        b"wego.example/vote/v-2025-07\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


def test_known_answer_signature():
    # Ed25519 is deterministic: a vector for verifiers written elsewhere.
    org = OrgKey(ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT).sign(org)
    expected = org.private_key.sign(b"wego-checkpoint/v1\n" + cp.body())
    assert cp.signature == expected
    assert cp.to_json()["signature"] == (
        "/qwd+Ozmq121Prdxs0UZPVLCk1hckH6I4QPVPbBgJMdP3fQuc1rS9XNTxEqEfd0aZRIAChkL/0QJBreVvVikDA=="
    )
    assert cp.verify(org.public_key())


def test_sign_and_verify(org):
    unsigned = Checkpoint(ORIGIN, 3, ROOT)
    assert not unsigned.verify(org.public_key())
    signed = unsigned.sign(org)
    assert signed.verify(org.public_key())
    assert org.public_key().verify(CHECKPOINT_LABEL, signed.body(), signed.signature)
    assert signed.origin == unsigned.origin and signed.size == 3 and signed.root == ROOT


def test_any_change_breaks_the_signature(org):
    signed = Checkpoint(ORIGIN, 3, ROOT).sign(org)
    key = org.public_key()
    assert not Checkpoint(ORIGIN + "x", 3, ROOT, signed.signature).verify(key)
    assert not Checkpoint(ORIGIN, 4, ROOT, signed.signature).verify(key)
    assert not Checkpoint(ORIGIN, 3, EMPTY_ROOT, signed.signature).verify(key)
    flipped = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    assert not Checkpoint(ORIGIN, 3, ROOT, flipped).verify(key)
    assert not signed.verify(OrgKey.generate().public_key())


def test_a_certificate_signature_is_not_a_checkpoint_signature(org):
    cp = Checkpoint(ORIGIN, 3, ROOT)
    forged = Checkpoint(ORIGIN, 3, ROOT, org.sign(CERTIFICATE_LABEL, cp.body()))
    assert not forged.verify(org.public_key())


def test_only_an_ed25519_key_verifies():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    spki = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT, b"\x01" * 64)
    assert not cp.verify(PublicKey.from_spki(spki))


def test_json_round_trip(org):
    signed = Checkpoint(ORIGIN, 3, ROOT).sign(org)
    obj = signed.to_json()
    assert obj == {"origin": ORIGIN, "size": 3, "root": ROOT.hex(),
                   "signature": base64.b64encode(signed.signature).decode()}
    assert Checkpoint.from_json(obj) == signed
    assert Checkpoint.from_json(Checkpoint(ORIGIN, 0, EMPTY_ROOT).to_json()).signature == b""


def test_body_round_trip(org):
    signed = Checkpoint(ORIGIN, 12345, ROOT).sign(org)
    assert Checkpoint.from_body(signed.body(), signed.signature) == signed


@pytest.mark.parametrize(
    "body",
    [
        b"wego.example/vote/v\n3\n" + base64.b64encode(ROOT) + b"",
        b"wego.example/vote/v\n3\n" + base64.b64encode(ROOT) + b"\n\n",
        b"wego.example/vote/v\n03\n" + base64.b64encode(ROOT) + b"\n",
        b"wego.example/vote/v\n+3\n" + base64.b64encode(ROOT) + b"\n",
        b"wego.example/vote/v\n3 \n" + base64.b64encode(ROOT) + b"\n",
        b"wego.example/vote/v\n3\n" + base64.b64encode(ROOT).rstrip(b"=") + b"\n",
        b"wego.example/vote/v\n3\n" + base64.urlsafe_b64encode(b"\xff" * 32) + b"\n",
        b"wego.example/vote/v\n3\n" + base64.b64encode(b"x" * 31) + b"\n",
        b"wego.example/vote/v\r\n3\r\n" + base64.b64encode(ROOT) + b"\r\n",
        b"\n3\n" + base64.b64encode(ROOT) + b"\n",
        b"wego.example/vote/v\n3\n" + base64.b64encode(ROOT) + b"\n\xff\n",
    ],
)
def test_from_body_refuses_other_layouts(body):
    with pytest.raises(InvalidCheckpoint):
        Checkpoint.from_body(body)


@pytest.mark.parametrize(
    "obj",
    [
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex()},
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex(), "signature": "", "extra": 1},
        {"origin": ORIGIN, "size": "3", "root": ROOT.hex(), "signature": ""},
        {"origin": ORIGIN, "size": -1, "root": ROOT.hex(), "signature": ""},
        {"origin": ORIGIN, "size": True, "root": ROOT.hex(), "signature": ""},
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex().upper(), "signature": ""},
        {"origin": ORIGIN, "size": 3, "root": base64.b64encode(ROOT).decode(), "signature": ""},
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex(), "signature": "not base64!"},
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex(), "signature": base64.b64encode(b"x" * 63).decode()},
        {"origin": ORIGIN, "size": 3, "root": ROOT.hex(), "signature": base64.b64encode(b"x" * 64).decode().rstrip("=")},
        {"origin": "", "size": 3, "root": ROOT.hex(), "signature": ""},
        {"origin": "a b", "size": 3, "root": ROOT.hex(), "signature": ""},
        {"origin": "a+b", "size": 3, "root": ROOT.hex(), "signature": ""},
        {"origin": "a\nb", "size": 3, "root": ROOT.hex(), "signature": ""},
        "not an object",
    ],
)
def test_from_json_refuses(obj):
    with pytest.raises(InvalidCheckpoint):
        Checkpoint.from_json(obj)


def test_origin_helpers():
    assert vote_origin("wego.example", "v-2025-07") == ORIGIN
    assert origin_vote(ORIGIN) == "v-2025-07"
    assert origin_vote("wego.example/other/v") is None
    assert origin_vote("/vote/v") is None
    with pytest.raises(InvalidCheckpoint):
        vote_origin("wego.example", "has space")
    with pytest.raises(InvalidCheckpoint):
        vote_origin("", "v")

