"""Casting signed ballots over HTTP (issue 5): every refusal with its reason, words and status, and
nothing stored for it; accepted ballots stored byte for byte, receipts, retries and the vote's log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ballots.client import DeviceKey, VotingClient
from ballots.log import ballot_entry, consistency_proof, leaf_hash, root, verify_consistency
from ballots.receipts import Receipt, check_consistency, check_receipt
from ballots.signatures import BALLOT_LABEL, b64url_encode
from tests.voting import casting_fixtures
from tests.voting.casting_fixtures import Scenario, fresh, writes

# The shared fixtures, used by name in this module.
db_context, live_server, scenario = casting_fixtures.db_context, casting_fixtures.live_server, casting_fixtures.scenario

# ---------------------------------------------------------------- helpers


def sign_bytes(key: DeviceKey, data: bytes) -> dict[str, str]:
    """Exactly these bytes, signed as the phone signs (label + bytes)."""
    return {"ballot": data.decode("utf-8"), "signature": b64url_encode(key.sign(BALLOT_LABEL, data))}


def ballot_fields(phone: VotingClient, vote_id: int, choice: Any = "yes") -> dict[str, Any]:
    """The fields of a correct ballot of this phone's delegate for the vote."""
    return dict(json.loads(phone.sign_ballot(phone.vote_info(vote_id), choice)["ballot"]))


def canonical(fields: dict[str, Any]) -> bytes:
    from ballots.canonical import canonical_bytes

    return canonical_bytes(fields)


def refused(sc: Scenario, phone: VotingClient, vote_id: int, signed: dict[str, Any], reason: str, status: int,
            *words: str) -> dict[str, Any]:
    """Submit; the answer must be a 4xx refusal with this reason and words, and nothing stored."""
    before = sc.stored(vote_id)
    code, answer = phone.submit(vote_id, signed)
    assert 400 <= code < 500
    assert (code, answer.get("reason")) == (status, reason), answer
    assert answer["error"] == "ballot_refused" and answer["message"] and "Traceback" not in answer["message"]
    for word in words:
        assert word.lower() in answer["message"].lower(), (word, answer["message"])
    assert sc.stored(vote_id) == before, "a refused ballot changed what is stored"
    return answer


def org_public_key() -> Any:
    from voting.keys import org_key

    return org_key().public_key()


def origin_of(vote_id: int) -> str:
    from flask import current_app

    from ballots.checkpoint import vote_origin

    return vote_origin(current_app.config["LOG_ORIGIN"], f"v{vote_id}")


def fmt_when(sc: Scenario, moment: Any) -> str:
    from voting.models import Meeting
    from voting.templating import fmt_datetime

    return fmt_datetime(moment, fresh().get(Meeting, sc.meeting_id).utc_offset_minutes)


# ---------------------------------------------------------------- bytes and signatures


def _reordered(text: str) -> str:
    fields = json.loads(text)
    order = ["v", "vote", "round", "vote_sha256", "member", "delegate", "key", "choice", "nonce"]
    return json.dumps({k: fields[k] for k in order}, separators=(",", ":"))


@pytest.mark.parametrize("mutate,words", [
    (_reordered, ("canonical", "keys sorted")),
    (lambda t: t.replace('","', '", "', 1), ("canonical", "whitespace")),
    (lambda t: t.replace(":", ": ", 1), ("canonical",)),
    (lambda t: t + "\n", ("canonical", "trailing newline")),
], ids=["reordered-keys", "space-after-comma", "space-after-colon", "trailing-newline"])
def test_bytes_not_canonical_are_refused_even_when_signed(scenario: Scenario, mutate: Any, words: tuple[str, ...]) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    text = phone.sign_ballot(phone.vote_info(vote_id), "yes")["ballot"]
    changed = mutate(text)
    assert changed != text and json.loads(changed) == json.loads(text)  # same ballot, other bytes
    refused(scenario, phone, vote_id, sign_bytes(phone.key, changed.encode()), "not_canonical", 400, *words)


@pytest.mark.parametrize("change,words", [
    (lambda f: f.pop("nonce"), ("malformed", "lacks", "nonce")),
    (lambda f: f.update(round="1"), ("malformed", "round")),
    (lambda f: f.update(choice=1), ("malformed", "choice")),
    (lambda f: f.update(extra="x"), ("malformed", "unexpected")),
], ids=["missing-key", "round-as-text", "choice-as-number", "extra-key"])
def test_malformed_ballots_are_refused(scenario: Scenario, change: Any, words: tuple[str, ...]) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    fields = ballot_fields(phone, vote_id)
    change(fields)
    refused(scenario, phone, vote_id, sign_bytes(phone.key, canonical(fields)), "format", 400, *words)


def test_request_without_ballot_text_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    refused(scenario, phone, vote_id, {"ballot": json.loads(signed["ballot"]), "signature": signed["signature"]},
            "format", 400, "signed text")


@pytest.mark.parametrize("signature", ["not base64!", "AAAA====", "QUJD=", "QUJ"], ids=["symbols", "padding", "padded", "odd-bits"])
def test_garbled_signature_is_refused(scenario: Scenario, signature: str) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    refused(scenario, phone, vote_id, {**signed, "signature": signature}, "signature", 400, "garbled")


def test_signature_by_another_key_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    forger = DeviceKey.generate()
    data = phone.sign_ballot(phone.vote_info(vote_id), "yes")["ballot"].encode()
    refused(scenario, phone, vote_id, sign_bytes(forger, data), "signature", 403,
            "signature does not match", "not signed by your phone")


@pytest.mark.parametrize("signature", ["", "QUJD", "A" * 86], ids=["empty", "too-short", "zeros"])
def test_signature_that_is_no_signature_is_refused(scenario: Scenario, signature: str) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    refused(scenario, phone, vote_id, {**signed, "signature": signature}, "signature", 403, "signature does not match")


def test_ballot_changed_after_signing_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    changed = signed["ballot"].replace('"choice":"yes"', '"choice":"no"')
    assert changed != signed["ballot"]
    refused(scenario, phone, vote_id, {**signed, "ballot": changed}, "signature", 403, "changed after signing")


def test_ballot_signed_with_a_revoked_key_is_refused(scenario: Scenario) -> None:
    from voting.models import Delegate
    from voting.services import identity

    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    old_key = phone.key
    old = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    # The phone is lost: the Secretariat re-issues the code (revoking the key); the new phone signs in.
    with writes() as s:
        token = identity.reissue(s.get(Delegate, scenario.delegates["A1"])).token
    assert "vote_sha256" not in phone.request("GET", f"/api/votes/{vote_id}")[1]  # the old session is over
    phone.enrol(token)
    assert phone.key is not old_key
    answer = refused(scenario, phone, vote_id, old, "key_revoked", 403, "key on this phone was switched off")
    assert "Secretariat" in answer["hint"] and "new code" in answer["hint"]
    # The new key was enrolled after this vote opened: it signs from the next vote on.
    refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "key_too_new", 403,
            "set up after the vote opened")
    later = scenario.open("motion")
    assert phone.submit(later, phone.sign_ballot(phone.vote_info(later), "yes"))[0] == 201


def test_key_enrolled_after_the_vote_opened_is_refused(scenario: Scenario) -> None:
    other = scenario.client("A2")
    vote_id = scenario.open("motion")
    phone = scenario.client("A1")  # enrolled after the registry head was frozen into the vote
    answer = refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "key_too_new", 403,
                     "phone was set up after the vote opened")
    assert "other representative" in answer["hint"]
    # The other representative, enrolled before the vote opened, votes for the city.
    assert other.cast(vote_id, "yes")["ok"] is True


def test_key_of_another_delegate_is_refused(scenario: Scenario) -> None:
    mine, other = scenario.client("A1"), scenario.client("A2")
    vote_id = scenario.open("motion")
    fields = ballot_fields(mine, vote_id)
    fields["key"] = other.key.key_id  # the other representative's key, signed with it
    refused(scenario, mine, vote_id, sign_bytes(other.key, canonical(fields)), "key", 403, "not this delegate's key")


def test_unknown_key_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    stranger = DeviceKey.generate()
    fields = ballot_fields(phone, vote_id)
    fields["key"] = stranger.key_id
    refused(scenario, phone, vote_id, sign_bytes(stranger, canonical(fields)), "key", 403, "key")


@pytest.mark.parametrize("who", ["other-delegate", "other-member", "both"])
def test_ballot_naming_someone_else_is_refused(scenario: Scenario, who: str) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    fields = ballot_fields(phone, vote_id)
    if who in ("other-delegate", "both"):
        fields["delegate"] = f"d{scenario.delegates['B1']}"
    if who in ("other-member", "both"):
        fields["member"] = f"m{scenario.members['B']}"
    refused(scenario, phone, vote_id, sign_bytes(phone.key, canonical(fields)), "wrong_delegate", 403,
            "another delegate or member")


# ---------------------------------------------------------------- replays into other votes and rounds


def test_ballot_for_one_vote_replayed_into_another_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    first, second = scenario.open("motion"), scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(first), "yes")
    refused(scenario, phone, second, signed, "wrong_vote", 409, "another vote or round")
    # Accepted where it belongs, and still refused in the other vote afterwards.
    assert phone.submit(first, signed)[0] == 201
    refused(scenario, phone, second, signed, "wrong_vote", 409, "another vote or round")
    assert [b.vote_id for b in scenario.ballots()] == [first]


def test_ballot_for_one_round_replayed_into_the_next_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    round1 = scenario.open("host-city")
    item_id = scenario.vote(round1).agenda_item_id
    info1 = phone.vote_info(round1)
    signed = phone.sign_ballot(info1, "sejong")
    scenario.close(round1)
    round2 = scenario.open("host-city", item_id=item_id)
    info2 = phone.vote_info(round2)
    assert info2["round"] == 2 and info2["vote_sha256"] != info1["vote_sha256"]  # the definitions differ
    refused(scenario, phone, round2, signed, "wrong_vote", 409, "another vote or round")
    # The signer's own ballot naming round 2's vote but round 1's number or definition: refused too.
    for change in ({"round": 1}, {"vote_sha256": info1["vote_sha256"]}):
        fields = {**ballot_fields(phone, round2, "sejong"), **change}
        refused(scenario, phone, round2, sign_bytes(phone.key, canonical(fields)), "wrong_vote", 409, "round")
    assert phone.submit(round2, phone.sign_ballot(info2, "sejong"))[0] == 201


def test_ballot_after_the_vote_closed_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    scenario.close(vote_id)
    answer = refused(scenario, phone, vote_id, signed, "closed", 409, "vote closed at", "not counted")
    assert "next vote" in answer["hint"]


def test_unknown_vote_is_not_found(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    code, answer = phone.submit(vote_id + 1000, phone.sign_ballot(phone.vote_info(vote_id), "yes"))
    assert code == 404 and "no such vote" in answer["message"].lower()
    assert scenario.ballots() == []


# ---------------------------------------------------------------- who may vote


def test_member_not_on_the_executive_committee_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("outside1")
    vote_id = scenario.open("motion")
    refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "not_voting_member", 403,
            "Kazan", "not a voting member of the Executive Committee", "attend and speak")


def test_associate_members_delegate_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("associate1")
    vote_id = scenario.open("motion")
    refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "not_voting_member", 403,
            "Smart Town Institute is an associate member", "only full members vote")


def test_non_voting_attendee_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A-attendee")
    vote_id = scenario.open("motion")
    refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "not_representative", 403,
            "Seoul", "without a vote", "voting representatives vote")


def test_member_not_present_when_the_vote_opened_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("E1")
    vote_id = scenario.open("motion")
    scenario.check_in("E1")  # checked in after the vote opened: not on its roll
    answer = refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "yes"), "not_on_roll", 403,
                     "Mexico City", "not on the roll", "when this vote opened")
    assert "Check in" in answer["hint"]
    later = scenario.open("motion")  # on the roll of the next vote
    assert phone.cast(later, "yes")["ok"] is True


# ---------------------------------------------------------------- choices


@pytest.mark.parametrize("kind,choice,words", [
    ("motion", "maybe", ("'maybe' is not a choice", "yes, no or abstain")),
    ("motion", ["yes"], ("not a choice",)),
    ("president-sole", "Seoul", ("not a choice",)),
    ("host-city", "tokyo", ("not one of this round's options",)),
    ("host-city", "yes", ("not one of this round's options",)),
    ("host-city", ["sejong"], ("not one of this round's options",)),
    ("excom-block", ["seoul", "jakarta", "tbilisi"], ("at most 2 candidates", "names 3")),
    ("excom-block", ["seoul", "seoul"], ("named twice",)),
    ("excom-block", ["seoul", "tokyo"], ("from this ballot's list",)),
    ("excom-block", "seoul", ("from this ballot's list",)),
    ("excom-approval", {"seoul": "yes"}, ("every candidate",)),
    ("excom-approval", {"seoul": "yes", "jakarta": "maybe"}, ("yes, no or abstain",)),
    ("excom-approval", {"seoul": "yes", "jakarta": "no", "tokyo": "yes"}, ("every candidate",)),
    ("excom-approval", ["seoul"], ("every candidate",)),
], ids=lambda v: json.dumps(v) if not isinstance(v, tuple) else "")
def test_invalid_choice_is_refused(scenario: Scenario, kind: str, choice: Any, words: tuple[str, ...]) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open(kind)
    refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), choice), "choice", 422, *words)


# ---------------------------------------------------------------- one vote per member


def test_second_different_ballot_of_the_same_delegate_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    phone.cast(vote_id, "yes")
    stored = scenario.ballots(vote_id)[0]
    answer = refused(scenario, phone, vote_id, phone.sign_ballot(phone.vote_info(vote_id), "no"), "already_voted", 409,
                     "you already voted", fmt_when(scenario, stored.received_at))
    assert answer["voted_by"] == "Seoul representative 1"
    assert "One vote per member" in answer["hint"]


def test_other_representative_is_told_who_voted_and_when(scenario: Scenario) -> None:
    first, second = scenario.client("A1"), scenario.client("A2")
    vote_id = scenario.open("motion")
    first.cast(vote_id, "yes")
    stored = scenario.ballots(vote_id)[0]
    answer = refused(scenario, second, vote_id, second.sign_ballot(second.vote_info(vote_id), "no"), "already_voted", 409,
                     "your city's vote was already cast", "other representative", "Seoul representative 1",
                     fmt_when(scenario, stored.received_at))
    assert answer["voted_by"] == "Seoul representative 1"
    assert answer["voted_at"] == stored.received_at.isoformat()
    assert [b.delegate_id for b in scenario.ballots(vote_id)] == [scenario.delegates["A1"]]


# ---------------------------------------------------------------- acceptance, receipts and the log


def test_accepted_ballot_is_stored_byte_for_byte_with_a_receipt_that_checks(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "yes")
    code, answer = phone.submit(vote_id, signed)
    assert code == 201 and answer["ok"] is True and answer["replay"] is False and answer["ballot_number"] == 1
    (row,) = scenario.ballots(vote_id)
    assert row.bytes == signed["ballot"].encode("utf-8")
    assert b64url_encode(row.signature) == signed["signature"]
    assert row.key_id == phone.key.key_id and row.member_ref == f"m{scenario.members['A']}"
    assert row.receipt == answer["receipt"]
    receipt = Receipt.from_json(answer["receipt"])
    entry = ballot_entry(row.bytes, row.signature, row.key_id)
    assert check_receipt(receipt, org_public_key(), origin=origin_of(vote_id), entry=entry) == []
    assert answer["short_code"] == receipt.short_code
    vote = scenario.vote(vote_id)
    assert vote.log_size == 1 and vote.checkpoint == answer["receipt"]["checkpoint"]

    # An identical retry (the answer was lost): the same receipt, nothing new stored.
    before = scenario.stored(vote_id)
    code, again = phone.submit(vote_id, signed)
    assert code == 200 and again["replay"] is True and again["receipt"] == answer["receipt"]
    assert again["short_code"] == answer["short_code"]
    assert scenario.stored(vote_id) == before

    # The receipt is also listed for the delegate.
    code, mine = phone.request("GET", "/api/me/receipts")
    assert code == 200 and [r["receipt"] for r in mine["receipts"]] == [answer["receipt"]]


def test_receipt_is_refused_by_a_tampered_check(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    answer = phone.cast(vote_id, "yes")
    row = scenario.ballots(vote_id)[0]
    receipt = Receipt.from_json(answer["receipt"])
    other_entry = ballot_entry(row.bytes.replace(b'"yes"', b'"no"'), row.signature, row.key_id)
    assert check_receipt(receipt, org_public_key(), entry=other_entry) != []
    assert check_receipt(receipt, _other_org_key()) != []


def _other_org_key() -> Any:
    from ballots.signatures import OrgKey

    return OrgKey.generate().public_key()


def test_log_root_and_every_receipt_consistent_with_the_final_checkpoint(scenario: Scenario) -> None:
    from ballots.checkpoint import Checkpoint

    voters = ["A1", "B1", "C1", "D1"]
    for name in voters:
        scenario.client(name)
    vote_id = scenario.open("motion")
    answers = [scenario.client(name).cast(vote_id, choice) for name, choice in zip(voters, ["yes", "no", "yes", "abstain"], strict=True)]
    rows = scenario.ballots(vote_id)
    vote = scenario.vote(vote_id)
    assert vote.log_size == len(voters) == len(rows)
    assert [r.leaf_index for r in rows] == list(range(len(voters)))
    # Rebuild the log from the stored bytes, signatures and key ids alone.
    leaves = [leaf_hash(ballot_entry(r.bytes, r.signature, r.key_id)) for r in rows]
    assert [leaf.hex() for leaf in leaves] == [r.leaf_hash for r in rows]
    final = Checkpoint.from_json(vote.checkpoint)
    assert final.size == len(voters) and root(leaves) == final.root
    assert final.verify(org_public_key())
    key = org_public_key()
    for answer in answers:
        receipt = Receipt.from_json(answer["receipt"])
        assert check_receipt(receipt, key, origin=origin_of(vote_id)) == []
        cp = receipt.checkpoint
        assert cp.size == receipt.index + 1
        proof = consistency_proof(leaves, cp.size)
        assert verify_consistency(cp.size, final.size, cp.root, final.root, proof)
        assert check_consistency(cp, final, proof, key) == []
    # Every checkpoint the organization signed for this vote is kept: sizes 0..N.
    from sqlalchemy import select

    from voting.models import SignedCheckpoint

    sizes = fresh().scalars(select(SignedCheckpoint.size).where(SignedCheckpoint.vote_id == vote_id)
                            .order_by(SignedCheckpoint.size)).all()
    assert list(sizes) == list(range(len(voters) + 1))


@pytest.mark.parametrize("kind,choice", [
    ("motion", "yes"),
    ("motion", "abstain"),
    ("host-city", "ha-noi"),
    ("host-city", "abstain"),
    ("excom-block", ["seoul", "tbilisi"]),
    ("excom-block", ["barcelona"]),
    ("excom-approval", {"seoul": "yes", "jakarta": "no"}),
    ("excom-approval", {"seoul": "abstain", "jakarta": "yes"}),
    ("president-sole", "no"),
], ids=lambda v: json.dumps(v))
def test_every_kind_of_vote_accepts_a_valid_ballot(scenario: Scenario, kind: str, choice: Any) -> None:
    phone = scenario.client("B1")
    vote_id = scenario.open(kind)
    answer = phone.cast(vote_id, choice)
    assert answer["ok"] is True and answer["receipt"]["index"] == 0
    (row,) = scenario.ballots(vote_id)
    assert json.loads(row.bytes)["choice"] == choice
    assert check_receipt(Receipt.from_json(answer["receipt"]), org_public_key(), origin=origin_of(vote_id),
                         entry=ballot_entry(row.bytes, row.signature, row.key_id)) == []


def test_second_round_of_host_city_accepts_ballots(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    round1 = scenario.open("host-city")
    phone.cast(round1, "sejong")
    scenario.close(round1)
    round2 = scenario.open("host-city", item_id=scenario.vote(round1).agenda_item_id)
    answer = phone.cast(round2, "ha-noi")
    assert answer["vote"]["round"] == 2 and answer["receipt"]["index"] == 0
    assert [b.vote_id for b in scenario.ballots()] == [round1, round2]


def test_ecdsa_p256_phone_is_accepted_and_its_retry_replayed(scenario: Scenario) -> None:
    phone = scenario.client("C1", algorithm="ECDSA-P256")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "no")
    code, answer = phone.submit(vote_id, signed)
    assert code == 201
    code, again = phone.submit(vote_id, signed)
    assert code == 200 and again["replay"] is True and again["receipt"] == answer["receipt"]
    assert scenario.stored(vote_id)[0] == 1
