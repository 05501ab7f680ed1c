"""RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode) worked
through with `cryptography`'s primitives alone, the same composition voting/static/js/hpke.js makes
with WebCrypto; then `cryptography`'s own HPKE opens a ciphertext built from that key schedule, which
shows its single-shot Suite.encrypt output is enc || AES-GCM(key, base_nonce, pt, aad="") (sequence 0).

The vector (tests/ballots/data/rfc9180_a11.json) is copied from golang/go
src/crypto/internal/hpke/testdata/rfc9180-vectors.json; see its "_source"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

VECTOR = json.loads((Path(__file__).parent / "data" / "rfc9180_a11.json").read_text())
V = {k: bytes.fromhex(v) for k, v in VECTOR.items() if isinstance(v, str) and not k.startswith("_")}
E0 = {k: bytes.fromhex(v) for k, v in VECTOR["encryption_seq0"].items() if isinstance(v, str)}
KEM_SUITE = b"KEM" + (0x0020).to_bytes(2, "big")  # RFC 9180 §4.1
HPKE_SUITE = b"HPKE" + (0x0020).to_bytes(2, "big") + (0x0001).to_bytes(2, "big") + (0x0001).to_bytes(2, "big")  # §5.1
RAW = {"encoding": serialization.Encoding.Raw, "format": serialization.PublicFormat.Raw}


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key or bytes(32), hashes.SHA256())  # RFC 5869: no salt means HashLen zeros
    mac.update(data)
    return mac.finalize()


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _hmac(salt, b"HPKE-v1" + suite + label + ikm)  # RFC 9180 §4


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    info = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info  # RFC 9180 §4
    out, t, i = b"", b"", 0
    while len(out) < length:  # RFC 5869 §2.3
        i += 1
        t = _hmac(prk, t + info + bytes([i]))
        out += t
    return out[:length]


def test_key_schedule_matches_rfc9180_a11() -> None:
    # §7.1.3 DeriveKeyPair for X25519
    sk_e = labeled_expand(KEM_SUITE, labeled_extract(KEM_SUITE, b"", b"dkp_prk", V["ikmE"]), b"sk", b"", 32)
    assert sk_e == V["skEm"]
    private_e = X25519PrivateKey.from_private_bytes(sk_e)
    assert private_e.public_key().public_bytes(**RAW) == V["pkEm"] == V["enc"]
    assert X25519PrivateKey.from_private_bytes(V["skRm"]).public_key().public_bytes(**RAW) == V["pkRm"]
    # §4.1 Encap and ExtractAndExpand
    dh = private_e.exchange(X25519PublicKey.from_public_bytes(V["pkRm"]))
    prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = labeled_expand(KEM_SUITE, prk, b"shared_secret", V["enc"] + V["pkRm"], 32)
    assert shared == V["shared_secret"]
    # §5.1 KeySchedule, mode_base (psk and psk_id empty)
    context = (bytes([0]) + labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
               + labeled_extract(HPKE_SUITE, b"", b"info_hash", V["info"]))
    assert context == V["key_schedule_context"]
    secret = labeled_extract(HPKE_SUITE, shared, b"secret", b"")
    assert secret == V["secret"]
    assert labeled_expand(HPKE_SUITE, secret, b"key", context, 16) == V["key"]
    assert labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12) == V["base_nonce"]
    assert labeled_expand(HPKE_SUITE, secret, b"exp", context, 32) == V["exporter_secret"]
    # §5.2 Seal at sequence 0: nonce = base_nonce XOR I2OSP(0, 12) = base_nonce
    assert E0["nonce"] == V["base_nonce"]
    assert AESGCM(V["key"]).encrypt(V["base_nonce"], E0["pt"], E0["aad"]) == E0["ct"]


def test_cryptography_single_shot_is_enc_then_ct_with_empty_aad() -> None:
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    sk_r = X25519PrivateKey.from_private_bytes(V["skRm"])
    pt = b"Beauty is truth, truth beauty"
    sealed = V["enc"] + AESGCM(V["key"]).encrypt(V["base_nonce"], pt, b"")
    assert suite.decrypt(sealed, sk_r, info=V["info"]) == pt
    # The vector's own ciphertext used aad "Count-0", so the empty-aad single shot must refuse it,
    # and so must it a different info.
    with pytest.raises(InvalidTag):
        suite.decrypt(V["enc"] + E0["ct"], sk_r, info=V["info"])
    with pytest.raises(InvalidTag):
        suite.decrypt(sealed, sk_r, info=V["info"] + b"!")
