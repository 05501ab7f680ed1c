"""The key registry: enrolments and revocations on a hash chain, and the rules between them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ballots.chain import GENESIS, event_hash
from ballots.registry import (
    ACTIVE,
    REVOKED,
    UNKNOWN,
    KeyRegistry,
    RegistryError,
    RegistryEvent,
)
from ballots.signatures import PublicKey, b64url_encode

AT = "2025-05-14T10:32:00Z"


def new_key(kind: str = "ed25519") -> str:
    private = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    return b64url_encode(private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def key_id(spki_b64: str) -> str:
    return PublicKey.from_spki_b64(spki_b64).key_id


def enrol(reg: KeyRegistry, delegate: str, member: str, spki_b64: str, at: str = AT) -> KeyRegistry:
    return reg.append(reg.enrol_event(delegate, member, spki_b64, "Android \u00b7 Chrome 131", at))


def revoke(reg: KeyRegistry, kid: str, reason: str = "Lost phone; QR re-issued", at: str = AT) -> KeyRegistry:
    return reg.append(reg.revoke_event(kid, reason, at))


@pytest.fixture(scope="module")
def keys():
    return [new_key("ed25519"), new_key("ecdsa"), new_key("ed25519"), new_key("ed25519")]


@pytest.fixture(scope="module")
def registry(keys):
    """Seoul's delegate enrols, loses the phone and re-enrols; Lima's delegate enrols once."""
    reg = KeyRegistry()
    reg = enrol(reg, "d-seoul-1", "seoul", keys[0])                      # seq 1
    reg = enrol(reg, "d-lima-1", "lima", keys[1], "2025-05-14T10:33:00Z")  # seq 2
    reg = revoke(reg, key_id(keys[0]), at="2025-05-14T11:00:00Z")         # seq 3
    reg = enrol(reg, "d-seoul-1", "seoul", keys[2], "2025-05-14T11:01:00.250Z")  # seq 4
    return reg


def test_empty_registry():
    reg = KeyRegistry()
    assert len(reg) == 0
    assert reg.head == GENESIS
    assert reg.seq_of(GENESIS) == 0
    assert reg.status("k_anything") == UNKNOWN
    assert reg.active_key_for("d-seoul-1") is None


def test_event_known_answer():
    # The vector docs/crypto-formats.md gives: the RFC 8032 test key enrolled as a device key.
    from ballots.signatures import OrgKey

    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    spki_b64 = OrgKey(ed25519.Ed25519PrivateKey.from_private_bytes(secret)).public_spki_b64()
    event = KeyRegistry().enrol_event("d-seoul-1", "seoul", spki_b64, "Android \u00b7 Chrome 131", AT)
    assert event.to_json() == {
        "seq": 1, "kind": "enrol", "delegate": "d-seoul-1", "member": "seoul",
        "key_id": "k_a3r73d62fg5wbk2zkv66mhw3bl", "public_key": "MCowBQYDK2VwAyEA11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "device": "Android \u00b7 Chrome 131", "at": AT, "prev_hash": GENESIS,
        "hash": "bde6404afd678db74fd736aaa02171be86a95c3f6c7e3f4d46cdf821009babf0",
    }


def test_events_are_chained(registry):
    prev = GENESIS
    for seq, event in enumerate(registry.events, start=1):
        assert event.seq == seq
        assert event.prev_hash == prev
        assert event.hash == event_hash(prev, event.body())
        prev = event.hash
    assert registry.head == prev


def test_event_bodies(registry, keys):
    enrolment, _, revocation, _ = registry.events
    assert enrolment.body() == {
        "seq": 1, "kind": "enrol", "delegate": "d-seoul-1", "member": "seoul", "key_id": key_id(keys[0]),
        "public_key": keys[0], "device": "Android \u00b7 Chrome 131", "at": AT,
    }
    assert revocation.body() == {
        "seq": 3, "kind": "revoke", "delegate": "d-seoul-1", "member": "seoul", "key_id": key_id(keys[0]),
        "at": "2025-05-14T11:00:00Z", "reason": "Lost phone; QR re-issued",
    }


def test_status_now_and_as_of_a_sequence(registry, keys):
    old, lima, new = key_id(keys[0]), key_id(keys[1]), key_id(keys[2])
    assert registry.status(old) == REVOKED
    assert registry.status(lima) == ACTIVE
    assert registry.status(new) == ACTIVE
    assert registry.status(key_id(keys[3])) == UNKNOWN
    assert [registry.status(old, s) for s in range(5)] == [UNKNOWN, ACTIVE, ACTIVE, REVOKED, REVOKED]
    assert [registry.status(new, s) for s in range(5)] == [UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, ACTIVE]


def test_status_as_of_a_head(registry, keys):
    head_at_2 = registry.events[1].hash
    assert registry.seq_of(head_at_2) == 2
    assert registry.seq_of(registry.head) == 4
    assert registry.status(key_id(keys[0]), registry.seq_of(head_at_2)) == ACTIVE
    with pytest.raises(RegistryError, match="not in this registry"):
        registry.seq_of("f" * 64)


def test_active_key_for(registry, keys):
    assert registry.active_key_for("d-seoul-1") == key_id(keys[2])
    assert registry.active_key_for("d-seoul-1", 2) == key_id(keys[0])
    assert registry.active_key_for("d-seoul-1", 3) is None
    assert registry.active_key_for("d-lima-1") == key_id(keys[1])
    assert registry.active_key_for("d-nobody") is None


def test_public_key_and_holder(registry, keys):
    assert registry.public_key(key_id(keys[1])).spki_b64 == keys[1]
    assert registry.public_key(key_id(keys[1])).algorithm == "ECDSA-P256"
    assert registry.public_key(key_id(keys[0])).spki_b64 == keys[0]  # revoked keys stay readable
    assert registry.holder(key_id(keys[1])) == ("d-lima-1", "lima")
    with pytest.raises(RegistryError, match="never enrolled"):
        registry.public_key("k_unknown")
    with pytest.raises(RegistryError, match="never enrolled"):
        registry.holder("k_unknown")


def test_rebuilt_from_json(registry):
    published = json.loads(json.dumps([e.to_json() for e in registry.events]))
    again = KeyRegistry.from_events(published)
    assert again == registry
    assert again.head == registry.head


def test_enrolling_a_second_key_while_one_is_active_is_refused(registry, keys):
    with pytest.raises(RegistryError, match="still active; revoke it first"):
        registry.enrol_event("d-lima-1", "lima", keys[3], "iPhone \u00b7 Safari 18", AT)


def test_enrolling_a_key_twice_is_refused(registry, keys):
    with pytest.raises(RegistryError, match="enrolled before"):
        registry.enrol_event("d-new", "oslo", keys[1], "Laptop \u00b7 Firefox", AT)
    # Even a revoked key never comes back.
    with pytest.raises(RegistryError, match="enrolled before"):
        registry.enrol_event("d-new", "oslo", keys[0], "Laptop \u00b7 Firefox", AT)


def test_revoking_unknown_or_revoked_keys_is_refused(registry, keys):
    with pytest.raises(RegistryError, match="never enrolled"):
        registry.revoke_event(key_id(keys[3]), "test", AT)
    with pytest.raises(RegistryError, match="already revoked by event 3"):
        registry.revoke_event(key_id(keys[0]), "again", AT)


def test_malformed_public_key_is_refused(registry):
    with pytest.raises(RegistryError, match="SPKI"):
        registry.enrol_event("d-new", "oslo", b64url_encode(b"\x30\x03\x02\x01\x00"), "Laptop", AT)


def _rechain(events):
    prev, out = GENESIS, []
    for e in events:
        e = e.chained(prev)
        out.append(e)
        prev = e.hash
    return out


def test_rules_hold_for_hand_built_chains_too(registry, keys):
    # A chain whose hashes are all correct can still break the rules; the registry refuses it.
    events = list(registry.events)
    revoke_lima = RegistryEvent(5, "revoke", "d-lima-1", "lima", key_id(keys[1]), AT, reason="x")
    revoke_again = RegistryEvent(6, "revoke", "d-lima-1", "lima", key_id(keys[1]), AT, reason="x")
    with pytest.raises(RegistryError, match="already revoked"):
        KeyRegistry(tuple(_rechain(events + [revoke_lima, revoke_again])))
    wrong_holder = RegistryEvent(5, "revoke", "d-seoul-1", "seoul", key_id(keys[1]), AT, reason="x")
    with pytest.raises(RegistryError, match="enrolled for d-lima-1 of lima"):
        KeyRegistry(tuple(_rechain(events + [wrong_holder])))
    wrong_id = RegistryEvent(5, "enrol", "d-oslo", "oslo", key_id(keys[1]), AT, public_key=keys[3], device="x")
    with pytest.raises(RegistryError, match="enrolled before"):
        KeyRegistry(tuple(_rechain(events + [wrong_id])))
    mismatched = RegistryEvent(5, "enrol", "d-oslo", "oslo", "k_" + "a" * 26, AT, public_key=keys[3], device="x")
    with pytest.raises(RegistryError, match="public key's id is"):
        KeyRegistry(tuple(_rechain(events + [mismatched])))
    misnumbered = [replace(e, seq=e.seq + 1) for e in events]
    with pytest.raises(RegistryError, match="numbered"):
        KeyRegistry(tuple(_rechain(misnumbered)))


@pytest.mark.parametrize(
    "change",
    [
        {"delegate": "d-other"},
        {"member": "tokyo"},
        {"device": "iPhone"},
        {"at": "2025-05-14T10:32:01Z"},
        {"seq": 9},
    ],
)
def test_changing_any_field_of_any_event_breaks_the_chain(registry, change):
    for position, event in enumerate(registry.events):
        if "device" in change and event.kind != "enrol":
            continue
        events = list(registry.events)
        events[position] = replace(event, **change)
        with pytest.raises(RegistryError, match=f"chain is broken at event {events[position].seq} "
                                                f"\\(position {position + 1}\\): its content"):
            KeyRegistry(tuple(events))


def test_changing_a_key_or_reason_breaks_the_chain(registry, keys):
    events = list(registry.events)
    events[0] = replace(events[0], public_key=keys[3], key_id=key_id(keys[3]))
    with pytest.raises(RegistryError, match="chain is broken"):
        KeyRegistry(tuple(events))
    events = list(registry.events)
    events[2] = replace(events[2], reason="changed")
    with pytest.raises(RegistryError, match="chain is broken"):
        KeyRegistry(tuple(events))


def test_removing_or_reordering_events_breaks_the_chain(registry):
    events = list(registry.events)
    with pytest.raises(RegistryError, match="previous-hash"):
        KeyRegistry(tuple(events[:1] + events[2:]))
    with pytest.raises(RegistryError, match="previous-hash"):
        KeyRegistry(tuple([events[1], events[0]] + events[2:]))
    with pytest.raises(RegistryError, match="chain is broken"):
        KeyRegistry(tuple(events[1:]))
    # Dropping the newest events leaves a shorter but valid registry with an earlier head: why the
    # head is written into each vote's definition.
    assert KeyRegistry(tuple(events[:3])).head == events[2].hash


def test_tampered_hash_breaks_the_chain(registry):
    events = list(registry.events)
    events[1] = replace(events[1], hash="0" * 64)
    with pytest.raises(RegistryError, match="chain is broken at event 2"):
        KeyRegistry(tuple(events))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"kind": "suspend"}, "kind"),
        ({"delegate": ""}, "delegate"),
        ({"member": "x" * 65}, "longer than 64"),
        ({"key_id": "k\n"}, "control character"),
        ({"at": "2025-05-14 10:32:00"}, "RFC 3339"),
        ({"at": "2025-05-14T10:32:00+02:00"}, "RFC 3339"),
        ({"at": "2025-02-30T10:32:00Z"}, "not a real date"),
        ({"at": "2025-05-14T25:32:00Z"}, "not a real date"),
        ({"public_key": None}, "public key and a device"),
        ({"device": None}, "public key and a device"),
        ({"reason": "why"}, "no reason"),
        ({"device": "x" * 101}, "longer than 100"),
        ({"prev_hash": "XYZ"}, "prev_hash"),
    ],
)
def test_event_shape_is_checked(fields, words):
    base = {"seq": 1, "kind": "enrol", "delegate": "d", "member": "m", "key_id": "k_x", "at": AT,
            "public_key": "MCow", "device": "Android"}
    with pytest.raises(RegistryError, match=words):
        RegistryEvent(**{**base, **fields})


def test_revocation_shape_is_checked():
    with pytest.raises(RegistryError, match="carries a reason"):
        RegistryEvent(1, "revoke", "d", "m", "k_x", AT)
    with pytest.raises(RegistryError, match="carries a reason"):
        RegistryEvent(1, "revoke", "d", "m", "k_x", AT, public_key="MCow", reason="x")
    with pytest.raises(RegistryError, match="longer than 500"):
        RegistryEvent(1, "revoke", "d", "m", "k_x", AT, reason="x" * 501)


def test_from_json_refuses_other_shapes(registry):
    good = registry.events[0].to_json()
    with pytest.raises(RegistryError, match="exactly the keys"):
        RegistryEvent.from_json({**good, "reason": "x"})
    with pytest.raises(RegistryError, match="exactly the keys"):
        RegistryEvent.from_json({k: v for k, v in good.items() if k != "hash"})
    with pytest.raises(RegistryError, match="kind"):
        RegistryEvent.from_json({**good, "kind": "other"})
    with pytest.raises(RegistryError):
        RegistryEvent.from_json([])  # type: ignore[arg-type]
