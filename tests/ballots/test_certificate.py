"""ballots.certificate: the certified result, signed by the organization key and the chair's device key."""

from __future__ import annotations

import copy
import hashlib

import pytest
import rfc8785

from ballots.certificate import (
    CertificateError,
    add_chair_signature,
    build_body,
    certificate_hash,
    chair_message,
    sign_by_organization,
    verify_certificate,
)
from ballots.client import DeviceKey
from ballots.recount import rule_parameters
from ballots.signatures import CERTIFICATE_LABEL, OrgKey
from tests.ballots.record_factory import CHAIR, MeetingSim, spread


def certified(chair_algorithm: str = "ECDSA-P256"):
    sim = MeetingSim(body="excom", members=14, present=12, chair_algorithm=chair_algorithm)
    vote = sim.open_vote("3", "Minutes", "motion", "Adopt the minutes?")
    sim.cast_all(vote, spread(sim.present, yes=8, no=2, abstain=1))
    return sim, vote, sim.certify(vote)


@pytest.mark.parametrize("algorithm", ["ECDSA-P256", "Ed25519"])
def test_a_certificate_verifies_with_either_chair_key(algorithm):
    sim, vote, doc = certified(algorithm)
    assert sim.staff[CHAIR].key.algorithm == algorithm
    assert verify_certificate(doc, sim.org.public_key(), sim.registry) == []
    body = doc["body"]
    assert body["type"] == "wego-certificate" and body["v"] == 1
    assert body["vote"] == vote.ref and body["vote_sha256"] == vote.sha256
    assert body["counts"] == {"yes": 8, "no": 2, "abstain": 1, "not_voted": 1}
    assert body["outcome"]["decision"] == "adopted"
    assert body["checkpoint"] == vote.checkpoints[-1] and body["checkpoint"]["size"] == 11
    assert body["roll"] == {"present": sim.present, "total": 14}
    assert body["rule_set"]["sha256"] == sim.rule_set.sha256
    assert body["rule_set"]["parameters"] == rule_parameters(sim.rule_set, "motion", "excom")
    assert body["chair"] == {"holder": "s1", "key_id": sim.staff[CHAIR].key.key_id}
    assert body["method"] == "signed-ballots" and "show_of_hands" not in body and "casting_vote" not in body


def test_the_chair_signs_the_label_and_the_canonical_body():
    sim, _, doc = certified()
    message = chair_message(doc["body"])
    assert message == b"wego-certificate/v1\n" + rfc8785.dumps(doc["body"])
    assert message.startswith(CERTIFICATE_LABEL)
    assert certificate_hash(doc) == hashlib.sha256(rfc8785.dumps(doc["body"])).hexdigest()
    chair = sim.registry.public_key(sim.staff[CHAIR].key.key_id)
    from ballots.signatures import b64url_decode
    assert chair.verify(CERTIFICATE_LABEL, rfc8785.dumps(doc["body"]),
                        b64url_decode(doc["signatures"]["chair"]["signature"]))


def _change(value):
    if isinstance(value, bool) or value is None:
        return "changed"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    return {**value, "extra": 1}


def test_any_change_to_the_body_breaks_both_signatures():
    sim, _, doc = certified()
    for key in doc["body"]:
        changed = copy.deepcopy(doc)
        changed["body"][key] = _change(changed["body"][key])
        problems = verify_certificate(changed, sim.org.public_key(), sim.registry)
        assert any("organization signature does not verify" in p for p in problems), key
        # A chair entry of the wrong shape names that instead of a signature that cannot be checked.
        assert any("chair signature does not verify" in p or "chair is not" in p for p in problems), key
    deep = copy.deepcopy(doc)
    deep["body"]["outcome"]["explanation"][-1]["text"] += "."
    assert len(verify_certificate(deep, sim.org.public_key(), sim.registry)) == 2


def test_a_wrong_chair_key_fails():
    sim, vote, doc = certified()
    stranger = DeviceKey.generate("Ed25519")
    forged = add_chair_signature(doc, doc["body"]["chair"]["key_id"], stranger.sign(b"", chair_message(doc["body"])))
    problems = verify_certificate(forged, sim.org.public_key(), sim.registry)
    assert problems == ["The chair signature does not verify: the body was changed after signing, or another key "
                        "signed it."]
    # A delegate's key is not a chair's key, even when it signs.
    delegate = sim.by_member[sim.present[0]]
    body = dict(doc["body"], chair={"holder": "s1", "key_id": delegate.key.key_id})
    doc2 = add_chair_signature(sign_by_organization(body, sim.org), delegate.key.key_id,
                               delegate.key.sign(b"", chair_message(body)))
    problems = verify_certificate(doc2, sim.org.public_key(), sim.registry)
    assert any("not for the staff account s1" in p for p in problems)
    with pytest.raises(CertificateError, match="does not verify"):
        add_chair_signature(doc, sim.staff[CHAIR].key.key_id, stranger.sign(b"", chair_message(doc["body"])),
                            public_key=sim.registry.public_key(sim.staff[CHAIR].key.key_id))


def test_a_chair_key_revoked_before_certifying_fails():
    sim, vote, _ = certified()
    old = sim.staff[CHAIR]
    sim.replace_key(CHAIR)
    body = build_body(vote.definition, outcome=sim.outcome(vote), counts={}, checkpoint=vote.checkpoints[-1],
                      rule_set=sim.rule_set, parameters={}, registry_seq=len(sim.registry),
                      registry_head=sim.registry.head, closed_at=vote.closed_at, certified_at=sim.tick(),
                      chair_holder=CHAIR, chair_key_id=old.key.key_id)
    doc = add_chair_signature(sign_by_organization(body, sim.org), old.key.key_id,
                              old.key.sign(b"", chair_message(body)))
    problems = verify_certificate(doc, sim.org.public_key(), sim.registry)
    assert any("is revoked at registry seq" in p for p in problems)


def test_another_organization_key_fails():
    sim, _, doc = certified()
    other = OrgKey.generate()
    problems = verify_certificate(doc, other.public_key(), sim.registry)
    assert any("not the organization's key" in p for p in problems)
    resigned = copy.deepcopy(doc)
    resigned["signatures"]["organization"] = sign_by_organization(doc["body"], other)["signatures"]["organization"]
    resigned["signatures"]["organization"]["key_id"] = sim.org.key_id
    problems = verify_certificate(resigned, sim.org.public_key(), sim.registry)
    assert any("organization signature does not verify" in p for p in problems)


def test_the_registry_head_must_be_the_published_one():
    sim, _, doc = certified()
    body = dict(doc["body"], registry={"seq": doc["body"]["registry"]["seq"], "head": "ab" * 32})
    chair = sim.staff[CHAIR]
    forged = add_chair_signature(sign_by_organization(body, sim.org), chair.key.key_id,
                                 chair.key.sign(b"", chair_message(body)))
    problems = verify_certificate(forged, sim.org.public_key(), sim.registry)
    assert problems == [f"The body's registry head {'ab' * 32} is not in the published key registry."]


def test_missing_or_malformed_signatures_are_named():
    sim, _, doc = certified()
    unsigned = sign_by_organization(doc["body"], sim.org)
    assert any("exactly two signatures" in p for p in verify_certificate(unsigned, sim.org.public_key(), sim.registry))
    garbled = copy.deepcopy(doc)
    garbled["signatures"]["chair"]["signature"] = "not base64!"
    assert any("chair signature is not base64url" in p
               for p in verify_certificate(garbled, sim.org.public_key(), sim.registry))
    assert verify_certificate([], sim.org.public_key(), sim.registry)


def test_build_body_refuses_what_it_cannot_certify():
    sim, vote, doc = certified()
    kwargs = dict(outcome=sim.outcome(vote), counts={}, checkpoint=vote.checkpoints[-1], rule_set=sim.rule_set,
                  parameters={}, registry_seq=len(sim.registry), registry_head=sim.registry.head,
                  closed_at=vote.closed_at, certified_at=sim.tick(), chair_holder=CHAIR,
                  chair_key_id=sim.staff[CHAIR].key.key_id)
    with pytest.raises(CertificateError, match="exact canonical bytes"):
        build_body(vote.definition + b"\n", **kwargs)
    with pytest.raises(CertificateError, match="show-of-hands"):
        build_body(vote.definition, method="show-of-hands", **kwargs)
    with pytest.raises(CertificateError, match="one staff member and confirmed by another"):
        build_body(vote.definition, method="show-of-hands",
                   show_of_hands={"counts": {}, "recorded_by": "s3", "confirmed_by": "s3"}, **kwargs)
    with pytest.raises(CertificateError, match="RFC 3339"):
        build_body(vote.definition, **{**kwargs, "certified_at": "yesterday"})
    with pytest.raises(CertificateError, match="names the chair's key"):
        add_chair_signature(doc, "k_other", bytes(64))
