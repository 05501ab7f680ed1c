"""The offline verifier on secret ballots (issue 9): signed envelopes, one per member; as many sealed
ballots as envelopes, in the sealed log WeGO signed at the close; the tellers' opening re-opened when
the key is published; the recount from the opened choices; a delegate's tracker found. Every
tampering is named by the check that fails."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ballots.record import (
    _secret_definition_problems,
    find_tracker,
    receipt_summary,
    verify_receipt,
    verify_record,
)
from ballots.sealed import TellerKey, plaintext_bytes_for, seal, tracker
from ballots.signatures import OrgKey, b64url_decode, b64url_encode
from tests.ballots.record_factory import MeetingSim, block_ballots, spread

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [("kazan", "Kazan"), ("makati", "Makati"), ("jakarta", "Jakarta"), ("chengdu", "Chengdu"),
              ("surabaya", "Surabaya")]
BIDS = [("sejong", "Sejong"), ("hanoi", "Hà Nội"), ("taipei", "Taipei")]


def secret_ga(*, publish: bool = True, org: OrgKey | None = None) -> MeetingSim:
    """A General Assembly (20 full members, 16 present) electing EXCOM members by secret ballot, the
    last seat tied and run off in a second secret round, then a secret host-city vote; a motion in
    the open. One host-city ballot was sealed to another key (it counts as invalid)."""
    sim = MeetingSim(body="ga", key="ga-2025-seoul", title="General Assembly, Seoul 2025", members=20, present=16,
                     org_key=org, first_vote=201, first_member=101, seed=9)
    key = TellerKey.generate()
    p = sim.present
    motion = sim.open_vote("6", "Minutes", "motion", "Adopt the minutes?")
    sim.cast_all(motion, spread(p, yes=10, no=3))
    sim.certify(motion)
    first = sim.open_vote("8", "Election of EXCOM members", "excom-block", "Elect three EXCOM members",
                          CANDIDATES, seats=3, secret=key)
    sim.cast_all(first, block_ballots(p, {"kazan": 14, "makati": 12, "jakarta": 10, "chengdu": 10, "surabaya": 2}, 3))
    sim.certify(first)
    runoff = sim.open_vote("8", "Election of EXCOM members", "excom-block", "Run-off for the last EXCOM seat",
                           [("jakarta", "Jakarta"), ("chengdu", "Chengdu")], seats=1, same_roll_as=first, secret=key)
    sim.cast_all(runoff, {m: [c] for m, c in spread(p, jakarta=9, chengdu=6).items()})
    sim.certify(runoff)
    host = sim.open_vote("9", "Host city of the 2027 General Assembly", "host-city", "Which city hosts the 2027 GA?",
                         BIDS, secret=key)
    sim.cast_all(host, spread(p[:-1], sejong=8, hanoi=5, taipei=1, abstain=1))
    other = TellerKey.generate()
    size = host.data["secret"]["plaintext_bytes"]
    sim.cast_sealed(host, p[-1], "hanoi", sealed=seal(other, host.ref, host.round, host.sha256, "hanoi", size))
    sim.certify(host)
    if publish:
        sim.publish_key(key)
    return sim


@pytest.fixture(scope="module")
def sim() -> MeetingSim:
    return secret_ga()


@pytest.fixture
def record(sim: MeetingSim) -> dict[str, Any]:
    return sim.record()


def failures(record: Any) -> list[tuple[str, str, str]]:
    return [(c.scope, c.check, c.detail) for c in verify_record(record).failures]


def checks_failed(record: Any) -> set[str]:
    return {check for _scope, check, _detail in failures(record)}


def secret_vote(record: dict[str, Any], ref: str) -> dict[str, Any]:
    return record["secret"]["votes"][ref]


def vote_entry(record: dict[str, Any], ref: str) -> dict[str, Any]:
    for item in record["items"]:
        for v in item["votes"]:
            if json.loads(v["definition"])["vote"] == ref:
                return v
    raise KeyError(ref)


# ---------------------------------------------------------------- a secret election that holds


def test_a_secret_election_verifies_and_its_recount_runs_on_the_openings(sim: MeetingSim, record: dict) -> None:
    report = verify_record(record)
    assert report.ok, report.to_text()
    text = report.to_text()
    assert "v202 (round 1, secret ballot): 16 ballots" in text
    assert "re-opened with the published tellers' key, the same choices" in text
    lines = {v.label.split(", vote ")[1].split(" ")[0]: v for v in report.votes}
    assert lines["v202"].recount == "next round (elected so far: kazan, makati)"
    assert lines["v203"].recount == "elected: kazan, makati, jakarta"
    assert lines["v204"].recount == "winner: sejong"
    # The certificate's counts are the opened choices' counts; the foreign sealed ballot is invalid.
    body = vote_entry(record, "v204")["certificate"]["body"]
    assert body["method"] == "sealed-ballots" and body["sealed"]["invalid"] == 1
    assert secret_vote(record, "v204")["opening"]["invalid"] == 1
    assert any("1 invalid" in c.detail for c in report.checks if c.ok and c.scope.endswith("v204, sealed ballots"))


def test_without_the_published_key_the_opening_is_taken_as_certified() -> None:
    record = secret_ga(publish=False).record()
    assert all(k["private_key"] is None for k in record["secret"]["teller_keys"])
    report = verify_record(record)
    assert report.ok, report.to_text()
    assert "the tellers' key is not published" in report.to_text()


def test_the_record_names_no_member_beside_a_sealed_ballot_or_a_choice(record: dict) -> None:
    text = json.dumps(record["secret"])
    for m in json.loads(vote_entry(record, "v202")["definition"])["roll"]["members"]:
        assert f'"{m["id"]}"' not in text and m["name"] not in text
    for b in vote_entry(record, "v202")["ballots"]:
        assert json.loads(b["ballot"])["choice"] == "sealed"
        assert b["key"] not in text


def test_a_closed_vote_not_yet_opened_verifies_but_is_not_counted() -> None:
    sim = MeetingSim(body="ga", members=6, present=6, seed=3)
    vote = sim.open_vote("1", "Host city", "host-city", "Which city hosts?", BIDS, secret=TellerKey.generate())
    sim.cast_all(vote, spread(sim.present, sejong=4, hanoi=2))
    sim.close(vote, open_sealed=False)
    report = verify_record(sim.record())
    assert report.ok, report.to_text()
    assert "not opened yet" in report.to_text()


# ---------------------------------------------------------------- tampering


def test_a_dropped_sealed_ballot_is_found(record: dict) -> None:
    secret_vote(record, "v204")["sealed"].pop(3)
    found = failures(record)
    assert {c for _s, c, _d in found} >= {"sealed log", "one sealed ballot per envelope"}
    assert any("16 signed envelopes but 15 sealed ballots" in d for _s, _c, d in found)


def test_a_replaced_sealed_ballot_is_found(sim: MeetingSim, record: dict) -> None:
    """A forger who seals another choice in its place cannot sign the sealed log's checkpoint again."""
    host = sim.vote("v204")
    sealed = secret_vote(record, "v204")["sealed"]
    sealed[0] = b64url_encode(sim.seal(host, "taipei"))
    sealed.sort(key=lambda t: tracker(b64url_decode(t)))
    assert "sealed log" in checks_failed(record)


def test_sealed_ballots_out_of_tracker_order_are_found(record: dict) -> None:
    sealed = secret_vote(record, "v202")["sealed"]
    sealed[0], sealed[1] = sealed[1], sealed[0]
    assert any("strictly increasing tracker order" in d for _s, _c, d in failures(record))


def test_a_sealed_ballot_of_the_wrong_length_is_found(record: dict) -> None:
    sealed = secret_vote(record, "v202")["sealed"]
    sealed[0] = b64url_encode(b64url_decode(sealed[0])[:-1])
    assert any("bytes long, not the vote's" in d for _s, _c, d in failures(record))


def test_a_changed_opening_is_found_by_re_opening_and_by_the_certificate(record: dict) -> None:
    opening = secret_vote(record, "v204")["opening"]
    opening["choices"][opening["choices"].index("sejong")] = "taipei"
    opening["choices"].sort(key=lambda c: json.dumps(c))
    found = {c for _s, c, _d in failures(record)}
    assert {"re-opening", "sealed"} <= found, found


def test_a_changed_opening_without_the_key_is_found_by_the_certificate() -> None:
    record = secret_ga(publish=False).record()
    opening = secret_vote(record, "v204")["opening"]
    opening["choices"][opening["choices"].index("sejong")] = "hanoi"
    opening["choices"].sort(key=lambda c: json.dumps(c))
    found = failures(record)
    assert any(c == "sealed" and "choices_sha256" in d for _s, c, d in found), found
    assert any(c == "recount" and "v204" in s for s, c, _d in found), found


def test_an_opening_that_does_not_add_up_or_is_unsorted_is_found(record: dict) -> None:
    opening = secret_vote(record, "v202")["opening"]
    opening["invalid"] = 1
    assert any("the record holds 16" in d for _s, _c, d in failures(record))
    record = copy.deepcopy(record)
    opening = secret_vote(record, "v202")["opening"]
    opening["invalid"] = 0
    opening["choices"].reverse()
    assert any("not in sorted order" in d for _s, _c, d in failures(record))


def test_an_opened_choice_the_vote_does_not_allow_is_found(record: dict) -> None:
    opening = secret_vote(record, "v204")["opening"]
    opening["choices"][0] = "seoul"
    assert any("not valid for this vote" in d for _s, _c, d in failures(record))


def test_a_block_choice_is_published_in_ballot_paper_order_whatever_order_it_was_sealed_in() -> None:
    """The order a voter writes the names in must not mark a ballot: two ballots naming the same
    candidates in other orders are published as one and the same choice."""
    sim2 = MeetingSim(body="ga", members=4, present=4, seed=5)
    key = TellerKey.generate()
    vote = sim2.open_vote("8", "Election of EXCOM members", "excom-block", "Elect three EXCOM members",
                          CANDIDATES, seats=3, secret=key)
    p = sim2.present
    for member, names in zip(p, (["jakarta", "makati", "kazan"], ["kazan", "makati", "jakarta"],
                                 ["makati", "kazan"], []), strict=True):
        sim2.cast_sealed(vote, member, names)
    sim2.certify(vote)
    sim2.publish_key(key)
    record = sim2.record()
    # In the order of their JCS bytes: '["kazan","makati","jakarta"]' < '["kazan","makati"]' < '[]'.
    assert secret_vote(record, vote.ref)["opening"]["choices"] == [
        ["kazan", "makati", "jakarta"], ["kazan", "makati", "jakarta"], ["kazan", "makati"], []]
    assert verify_record(record).ok, verify_record(record).to_text()


def test_an_opened_block_choice_out_of_ballot_paper_order_is_found() -> None:
    sim2 = MeetingSim(body="ga", members=3, present=3, seed=6)
    vote = sim2.open_vote("8", "Election of EXCOM members", "excom-block", "Elect two EXCOM members",
                          CANDIDATES, seats=2, secret=TellerKey.generate())
    for member in sim2.present:
        sim2.cast_sealed(vote, member, ["kazan", "makati"])
    sim2.certify(vote)
    record = sim2.record()
    secret_vote(record, vote.ref)["opening"]["choices"][0] = ["makati", "kazan"]
    assert any("out of ballot-paper order" in d for _s, c, d in failures(record) if c == "opening"), failures(record)


def test_an_envelope_that_shows_its_choice_is_found(sim: MeetingSim) -> None:
    sim2 = MeetingSim(body="ga", members=5, present=5, seed=4)
    vote = sim2.open_vote("1", "Host city", "host-city", "Which city hosts?", BIDS, secret=TellerKey.generate())
    sim2.cast_all(vote, spread(sim2.present[:4], sejong=3, hanoi=1))
    member = sim2.present[4]
    data, signature = sim2.sign_ballot(vote, sim2.by_member[member], "hanoi", member=member)
    sim2.append(vote, data, signature, sim2.by_member[member].key.key_id)
    vote.sealed.append(sim2.seal(vote, "hanoi"))
    sim2.close(vote)
    found = failures(sim2.record())
    assert any(c == "choice" and "envelope" in d for _s, c, d in found), found


def test_a_second_envelope_of_a_member_is_refused(sim: MeetingSim) -> None:
    sim2 = MeetingSim(body="ga", members=5, present=5, seed=5)
    vote = sim2.open_vote("1", "Host city", "host-city", "Which city hosts?", BIDS, secret=TellerKey.generate())
    sim2.cast_all(vote, spread(sim2.present, sejong=3, hanoi=2))
    sim2.cast_sealed(vote, sim2.present[0], "hanoi")
    sim2.close(vote)
    found = failures(sim2.record())
    assert any(c == "one ballot per member" for _s, c, _d in found), found


def test_missing_secret_data_and_foreign_votes_are_found(record: dict) -> None:
    part = record["secret"]["votes"].pop("v203")
    record["secret"]["votes"]["v999"] = part
    found = failures(record)
    assert any("holds no" in d and "v203" in s for s, _c, d in found), found
    assert any("v999" in s and "not a secret vote" in d for s, _c, d in found), found


def test_a_published_private_key_must_be_the_vote_s_key(record: dict) -> None:
    record["secret"]["teller_keys"][0]["private_key"] = TellerKey.generate().private_b64
    assert any("does not belong" in d for _s, _c, d in failures(record))


def test_a_secret_vote_certified_as_signed_ballots_is_found(record: dict) -> None:
    body = vote_entry(record, "v204")["certificate"]["body"]
    body["method"] = "signed-ballots"
    del body["sealed"]
    assert "method" in checks_failed(record)


def test_an_open_vote_certified_as_sealed_ballots_is_found(record: dict) -> None:
    body = vote_entry(record, "v201")["certificate"]["body"]
    body["method"] = "sealed-ballots"
    assert "method" in checks_failed(record)


def test_the_secret_definition_is_checked() -> None:
    key = TellerKey.generate()
    d = {"vote": "v1", "round": 1, "kind": "host-city", "options": [{"id": i, "label": n} for i, n in BIDS],
         "seats": None}
    good = {"teller_key": key.public_b64, "teller_key_id": key.key_id,
            "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM", "plaintext_bytes": plaintext_bytes_for(d)}
    assert _secret_definition_problems({**d, "secret": good}) == []
    for change, words in [({"teller_key_id": "0" * 16}, "is not the id"), ({"suite": "P-256"}, "suite"),
                          ({"plaintext_bytes": 100}, "multiple of 128"), ({"teller_key": "abc"}, "X25519"),
                          ({"plaintext_bytes": 0}, "multiple of 128")]:
        problems = _secret_definition_problems({**d, "secret": {**good, **change}})
        assert any(words in p for p in problems), (change, problems)
    assert _secret_definition_problems({**d, "secret": True})
    assert _secret_definition_problems({**d, "kind": "written-consent", "secret": good})


# ---------------------------------------------------------------- receipts and trackers


def test_every_receipt_and_its_tracker_verify(sim: MeetingSim, record: dict) -> None:
    for ref in ("v202", "v203", "v204"):
        for receipt in sim.vote(ref).receipts:
            assert "tracker" in receipt
            assert verify_receipt(record, receipt) == []
    receipt = sim.vote("v202").receipts[0]
    assert "and its sealed vote (tracker " in receipt_summary(receipt)


def test_a_tracker_not_in_the_count_is_found(sim: MeetingSim, record: dict) -> None:
    receipt = dict(sim.vote("v202").receipts[0])
    receipt["tracker"] = sim.vote("v203").receipts[0]["tracker"]  # a tracker of the run-off
    problems = verify_receipt(record, receipt)
    assert any("not in the count" in p for p in problems), problems
    receipt["tracker"] = "XYZ"
    assert any("64 lowercase hex" in p for p in verify_receipt(record, receipt))
    open_receipt = {**sim.vote("v201").receipts[0], "tracker": sim.vote("v202").receipts[0]["tracker"]}
    assert any("not a secret ballot" in p for p in verify_receipt(record, open_receipt))


def test_a_tracker_alone_is_found_in_its_vote(sim: MeetingSim, record: dict) -> None:
    t = sim.vote("v203").trackers[sim.present[5]]
    assert find_tracker(record, t) == ("v203", [])
    assert find_tracker(record, t.upper()) == ("v203", [])
    ref, problems = find_tracker(record, "0" * 64)
    assert ref is None and "No secret vote" in problems[0]
    secret_vote(record, "v203")["sealed"].pop()
    ref, problems = find_tracker(record, sim.vote("v203").trackers[sim.present[5]])
    assert ref is None or problems


def test_the_command_line_checks_a_tracker(sim: MeetingSim, record: dict, tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(sim.vote("v202").receipts[2]), encoding="utf-8")
    good = sim.vote("v204").trackers[sim.present[0]]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ballots.verify", str(path), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)

    done = run("--receipt", str(receipt), "--tracker", good)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT: OK" in done.stdout and "TRACKER: OK" in done.stdout and "vote v204" in done.stdout
    assert "RECEIPT: OK: the envelope at leaf" in done.stdout
    bad = run("--tracker", "ab" * 32)
    assert bad.returncode == 1 and "TRACKER: FAILED" in bad.stdout


def test_a_secret_record_matches_the_published_schema(record: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs/record.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(record, schema)
    broken = copy.deepcopy(record)
    broken["secret"]["votes"]["v202"]["member"] = "m101"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
