"""Delegate device keys as WebCrypto makes them, and the organization key."""

from __future__ import annotations

import base64
import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.signatures import (
    BALLOT_LABEL,
    CERTIFICATE_LABEL,
    CHECKPOINT_LABEL,
    ECDSA_P256,
    ED25519,
    ENROL_LABEL,
    InvalidKey,
    OrgKey,
    PublicKey,
    b64url_decode,
    b64url_encode,
    enrolment_message,
    key_id_for,
    raw_ecdsa_signature,
    verify_enrolment,
)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MESSAGE = b'{"choice":"yes","v":1}'

# RFC 8032 section 7.1, test 1: a fixed Ed25519 key, so other implementations (the browser's)
# can check they derive the same SPKI and key id.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def spki_of(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def webcrypto_ecdsa_sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign as WebCrypto does: ECDSA P-256 SHA-256, returned as IEEE P1363 r || s."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def test_ed25519_spki_key_id_and_verify(ed_key):
    spki = spki_of(ed_key)
    assert len(spki) == 44 and spki.startswith(ED25519_SPKI_PREFIX)
    key = PublicKey.from_spki_b64(b64url_encode(spki))
    assert key.algorithm == ED25519
    assert key.spki == spki
    assert key.spki_b64 == base64.urlsafe_b64encode(spki).decode().rstrip("=")
    signature = ed_key.sign(BALLOT_LABEL + MESSAGE)
    assert key.verify(BALLOT_LABEL, MESSAGE, signature)


def test_ecdsa_p256_spki_and_raw_signature(ec_key):
    spki = spki_of(ec_key)
    assert len(spki) == 91 and spki.startswith(P256_SPKI_PREFIX)
    key = PublicKey.from_spki_b64(b64url_encode(spki))
    assert key.algorithm == ECDSA_P256
    signature = webcrypto_ecdsa_sign(ec_key, BALLOT_LABEL + MESSAGE)
    assert len(signature) == 64
    assert key.verify(BALLOT_LABEL, MESSAGE, signature)
    assert raw_ecdsa_signature(ec_key.sign(b"x", ec.ECDSA(hashes.SHA256()))) != signature


def test_ecdsa_high_s_is_accepted_because_webcrypto_does_not_normalize(ec_key):
    key = PublicKey.from_spki(spki_of(ec_key))
    signature = webcrypto_ecdsa_sign(ec_key, BALLOT_LABEL + MESSAGE)
    s = int.from_bytes(signature[32:], "big")
    flipped = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    assert key.verify(BALLOT_LABEL, MESSAGE, flipped)


def test_ecdsa_der_signature_is_refused(ec_key):
    key = PublicKey.from_spki(spki_of(ec_key))
    der = ec_key.sign(BALLOT_LABEL + MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert not key.verify(BALLOT_LABEL, MESSAGE, der)


def test_ecdsa_zero_r_or_s_is_refused(ec_key):
    key = PublicKey.from_spki(spki_of(ec_key))
    assert not key.verify(BALLOT_LABEL, MESSAGE, bytes(64))
    assert not key.verify(BALLOT_LABEL, MESSAGE, bytes(32) + b"\x01" * 32)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_signature_fails_on_any_change(kind, ed_key, ec_key):
    if kind == "ed25519":
        private, sign = ed_key, ed_key.sign
        other = ed25519.Ed25519PrivateKey.generate()
    else:
        private, sign = ec_key, lambda data: webcrypto_ecdsa_sign(ec_key, data)
        other = ec.generate_private_key(ec.SECP256R1())
    key = PublicKey.from_spki(spki_of(private))
    signature = sign(BALLOT_LABEL + MESSAGE)
    assert key.verify(BALLOT_LABEL, MESSAGE, signature)
    assert not key.verify(ENROL_LABEL, MESSAGE, signature), "wrong label"
    assert not key.verify(BALLOT_LABEL, MESSAGE + b" ", signature), "wrong message"
    assert not key.verify(BALLOT_LABEL, MESSAGE.replace(b"yes", b"no!"), signature), "changed message"
    for bit in (0, 7, 255, 256, 511):
        bad = bytearray(signature)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not key.verify(BALLOT_LABEL, MESSAGE, bytes(bad)), f"flipped bit {bit}"
    assert not key.verify(BALLOT_LABEL, MESSAGE, signature[:-1]), "short signature"
    assert not key.verify(BALLOT_LABEL, MESSAGE, signature + b"\x00"), "long signature"
    assert not key.verify(BALLOT_LABEL, MESSAGE, b""), "empty signature"
    assert not PublicKey.from_spki(spki_of(other)).verify(BALLOT_LABEL, MESSAGE, signature), "wrong key"


def test_label_and_message_boundary_is_fixed(ed_key):
    # The label ends in a newline and holds no other, so moving bytes across it changes the input.
    key = PublicKey.from_spki(spki_of(ed_key))
    signature = ed_key.sign(BALLOT_LABEL + MESSAGE)
    with pytest.raises(ValueError):
        key.verify(BALLOT_LABEL + MESSAGE[:1], MESSAGE[1:], signature)
    with pytest.raises(ValueError):
        key.verify(b"wego-ballot/v1", MESSAGE, signature)
    with pytest.raises(ValueError):
        key.verify(b"", BALLOT_LABEL + MESSAGE, signature)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=64, max_size=64))
def test_random_signatures_do_not_verify(message, signature):
    key = OrgKey.generate().public_key()
    assert not key.verify(BALLOT_LABEL, message, signature)


def test_labels_are_distinct_one_line_constants():
    labels = [BALLOT_LABEL, ENROL_LABEL, CHECKPOINT_LABEL, CERTIFICATE_LABEL]
    assert len(set(labels)) == 4
    assert BALLOT_LABEL == b"wego-ballot/v1\n"
    assert ENROL_LABEL == b"wego-enrol/v1\n"
    assert CHECKPOINT_LABEL == b"wego-checkpoint/v1\n"
    assert CERTIFICATE_LABEL == b"wego-certificate/v1\n"
    for label in labels:
        assert label.endswith(b"\n") and label.count(b"\n") == 1
    # No label is a prefix of another, so label + message is never ambiguous between purposes.
    for a in labels:
        for b in labels:
            assert a == b or not b.startswith(a)


def test_key_id_known_answer():
    spki = ED25519_SPKI_PREFIX + RFC8032_PUBLIC
    expected = "k_" + base64.b32encode(hashlib.sha256(spki).digest()).decode().lower()[:26]
    assert key_id_for(spki) == expected == "k_a3r73d62fg5wbk2zkv66mhw3bl"
    org = OrgKey(ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    assert org.public_key().spki == spki
    assert org.public_spki_b64() == "MCowBQYDK2VwAyEA11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert org.key_id == expected
    # Ed25519 is deterministic, so this signature is a vector for other implementations.
    assert org.sign(BALLOT_LABEL, b"{}").hex() == (
        "82877922e34a79478a88a5793fb161d3829fbc22fa63d011a8400fd79c6aa3cb"
        "defc0876e460ef326f6c14b6cdb43c88eadbaff140399fa1b38b2acddda47801"
    )


def test_key_id_shape(ed_key, ec_key):
    for private in (ed_key, ec_key):
        key_id = PublicKey.from_spki(spki_of(private)).key_id
        assert key_id.startswith("k_") and len(key_id) == 28
        assert set(key_id[2:]) <= set("abcdefghijklmnopqrstuvwxyz234567")


def _compressed_spki(private) -> bytes:
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    # SEQUENCE { AlgorithmIdentifier(ecPublicKey, prime256v1), BIT STRING compressed point }
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
    bit_string = b"\x03" + bytes([len(point) + 1]) + b"\x00" + point
    body = algorithm + bit_string
    return b"\x30" + bytes([len(body)]) + body


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: b64url_encode(spki_of(ec.generate_private_key(ec.SECP384R1()))), "secp384r1"),
        (lambda: b64url_encode(spki_of(ec.generate_private_key(ec.SECP256K1()))), "secp256k1"),
        (lambda: b64url_encode(spki_of(rsa.generate_private_key(65537, 1024))), "RSA"),
        (lambda: b64url_encode(spki_of(x25519.X25519PrivateKey.generate())), "not a signing key"),
        (lambda: b64url_encode(spki_of(ed448.Ed448PrivateKey.generate())), "not a signing key"),
        (lambda: b64url_encode(_compressed_spki(ec.generate_private_key(ec.SECP256R1()))), "standard SPKI"),
        (lambda: b64url_encode(spki_of(ed25519.Ed25519PrivateKey.generate()) + b"\x00"), "SPKI"),
        (lambda: b64url_encode(spki_of(ed25519.Ed25519PrivateKey.generate())[:-1]), "SPKI"),
        (lambda: b64url_encode(ED25519_SPKI_PREFIX + bytes(31)), "SPKI"),
        (lambda: b64url_encode(RFC8032_PUBLIC), "SPKI"),
        (lambda: b64url_encode(os.urandom(44)), "SPKI"),
        (lambda: b64url_encode(b"\x30" * 300), "at most"),
        (lambda: "", "empty"),
        (lambda: base64.b64encode(spki_of(ed25519.Ed25519PrivateKey.generate())).decode(), "base64url"),
        (lambda: base64.urlsafe_b64encode(spki_of(ed25519.Ed25519PrivateKey.generate())).decode() + "==", "base64url"),
        (lambda: "MCowBQYDK2VwAyEA 11qYAYKxCrfVS", "base64url"),
        (lambda: "MCowBQYDK2VwAyEA11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp", "canonical"),
    ],
)
def test_malformed_public_keys_are_refused(make, words):
    with pytest.raises(InvalidKey, match=words):
        PublicKey.from_spki_b64(make())


def test_algorithm_must_match_the_key(ed_key, ec_key):
    with pytest.raises(InvalidKey, match="not ECDSA-P256"):
        PublicKey(ECDSA_P256, spki_of(ed_key))
    with pytest.raises(InvalidKey, match="not Ed25519"):
        PublicKey(ED25519, spki_of(ec_key))
    with pytest.raises(InvalidKey, match="not accepted"):
        PublicKey("RSA", spki_of(ec_key))


def test_public_keys_compare_by_value(ed_key):
    a = PublicKey.from_spki(spki_of(ed_key))
    b = PublicKey.from_spki_b64(a.spki_b64)
    assert a == b and hash(a) == hash(b)


@given(st.binary(max_size=80))
def test_b64url_round_trip(data):
    assert b64url_decode(b64url_encode(data)) == data


def test_enrolment_proof_of_possession(ed_key, ec_key):
    for private, sign in ((ed_key, ed_key.sign), (ec_key, lambda d: webcrypto_ecdsa_sign(ec_key, d))):
        key = PublicKey.from_spki(spki_of(private))
        message = enrolment_message("d-17", key.key_id, "challenge-123")
        assert message == b'{"challenge":"challenge-123","delegate":"d-17","key":"' + key.key_id.encode() + b'","v":1}'
        signature = sign(ENROL_LABEL + message)
        assert verify_enrolment(key, "d-17", "challenge-123", signature)
        assert not verify_enrolment(key, "d-18", "challenge-123", signature)
        assert not verify_enrolment(key, "d-17", "challenge-124", signature)
        assert not key.verify(BALLOT_LABEL, message, signature)


def test_org_key_signs_and_round_trips_through_pem(tmp_path):
    org = OrgKey.generate()
    path = tmp_path / "organization.pem"
    org.save_pem(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = OrgKey.load_pem(path)
    assert loaded.public_key() == org.public_key()
    assert loaded.public_spki_b64() == org.public_spki_b64()
    signature = loaded.sign(CHECKPOINT_LABEL, b"body\n")
    assert org.public_key().verify(CHECKPOINT_LABEL, b"body\n", signature)
    assert not org.public_key().verify(CERTIFICATE_LABEL, b"body\n", signature)
    assert PublicKey.from_spki_b64(org.public_spki_b64()).algorithm == ED25519


def test_org_key_never_overwrites(tmp_path):
    path = tmp_path / "organization.pem"
    first = OrgKey.generate()
    first.save_pem(path)
    with pytest.raises(FileExistsError):
        OrgKey.generate().save_pem(path)
    assert OrgKey.load_pem(path).public_key() == first.public_key()


def test_org_key_refuses_a_symlink(tmp_path):
    target = tmp_path / "elsewhere.pem"
    link = tmp_path / "organization.pem"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        OrgKey.generate().save_pem(link)
    assert not target.exists()


def test_org_key_load_refuses_other_keys(tmp_path):
    ec_pem = tmp_path / "ec.pem"
    ec_pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(InvalidKey, match="not an Ed25519"):
        OrgKey.load_pem(ec_pem)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a key")
    with pytest.raises(InvalidKey, match="does not hold"):
        OrgKey.load_pem(garbage)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(InvalidKey):
        OrgKey.load_pem(encrypted)
    with pytest.raises(InvalidKey):
        OrgKey(ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]


def test_org_key_repr_hides_the_private_key():
    assert "Ed25519PrivateKey" not in repr(OrgKey.generate())
