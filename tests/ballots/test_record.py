"""ballots.record: a simulated meeting's election record verifies, and any changed byte is found and named."""

from __future__ import annotations

import copy
import json
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.canonical import InvalidBallot, NotCanonical, parse_ballot
from ballots.certificate import add_chair_signature, chair_message, sign_by_organization
from ballots.checkpoint import Checkpoint
from ballots.log import root
from ballots.record import DEFINITION_KEYS, _prefix_roots, read_ballot, verify_receipt, verify_record
from ballots.rules import RULESETS_DIR
from ballots.signatures import OrgKey
from tests.ballots.record_factory import CHAIR, MeetingSim, all_receipts, excom_meeting, ga_meeting, spread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def org() -> OrgKey:
    return OrgKey.generate()


@pytest.fixture(scope="module")
def excom(org) -> MeetingSim:
    return excom_meeting(org)


@pytest.fixture(scope="module")
def ga(org) -> MeetingSim:
    return ga_meeting(org)


def failures(report) -> list[str]:
    return [f"{c.scope}: [{c.check}] {c.detail}" for c in report.failures]


def test_both_meetings_verify(excom, ga):
    for sim in (excom, ga):
        report = verify_record(sim.record())
        assert report.ok, failures(report)
        assert len(report.votes) == sum(len(i["votes"]) for i in sim.items.values())
    text = verify_record(excom.record()).to_text()
    assert "Agenda 3, vote v1 (round 1): 11 ballots, root " in text
    assert re.search(r"Agenda 4, vote v3 \(round 2\): 12 ballots, root [0-9a-f]{12}…, recount: winner: hanoi — OK", text)
    assert "Agenda 5, vote v4 (round 1): 0 ballots" in text and "recount: adopted — OK" in text
    assert text.rstrip().splitlines()[-1].startswith("RESULT: OK")
    ga_text = verify_record(ga.record()).to_text()
    assert "recount: elected: kazan, makati, jakarta — OK" in ga_text


def test_the_scenarios_exercise_what_they_claim(excom, ga):
    record = excom.record()
    host = record["items"][1]["votes"]
    assert host[1]["casting_vote"] is not None and host[1]["certificate"]["body"]["casting_vote"] == host[1]["casting_vote"]
    session = record["items"][2]["votes"][0]["certificate"]["body"]
    assert session["method"] == "show-of-hands" and session["show_of_hands"]["counts"] == {"yes": 9, "no": 2,
                                                                                           "abstain": 1}
    kinds = {json.loads(v["definition"])["kind"] for i in record["items"] + ga.record()["items"] for v in i["votes"]}
    assert kinds >= {"motion", "host-city", "special-session", "dissolve-regional-office", "president-sole",
                     "excom-block", "excom-approval"}
    assert any(e["kind"] == "revoke" for e in record["registry"])
    holders = {h.key.key_id: h.key.algorithm for h in excom.delegates.values()}
    assert {holders.get(b["key"]) for b in host[0]["ballots"]} == {"Ed25519", "ECDSA-P256"}


def test_the_factory_writes_definitions_with_the_keys_open_vote_writes():
    # The core cannot import the app; its source must still write exactly the keys the verifier reads.
    source = (ROOT / "voting/services/casting.py").read_text(encoding="utf-8")
    body = source[source.index("    definition = {"):source.index("    vote.definition = canonical_bytes(definition)")]
    top = set(re.findall(r'^        "([a-z_0-9]+)":', body, re.M))
    assert top == DEFINITION_KEYS


# --- any one changed byte is found, and named ---------------------------------------------------


def _strings(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, str):
        if value:
            yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def _category(path: tuple) -> str:
    if path[0] != "items":
        return str(path[0])
    if path[2] == "agenda_item":
        return "agenda_item"
    return str(path[4])


def _expected_scope(record: dict, path: tuple) -> str:
    """A regular expression the scope of some failure must match: the place that was changed."""
    top = path[0]
    if top == "registry":
        return r"^registry"
    if top == "rule_sets":
        return rf"^rule set {re.escape(path[1])}$"
    if top == "organization":
        return r"^organization"
    if top == "meeting":
        return r"meeting$"
    if top == "type":
        return r"^record$"
    item = record["items"][path[1]]
    if path[2] == "agenda_item":
        return rf"^agenda {re.escape(item['agenda_item']['number'])}\b"
    entry = item["votes"][path[3]]
    ref = json.loads(entry["definition"])["vote"]
    part = path[4]
    if part == "definition":
        return rf"\bvote {ref}\b"
    if part == "ballots":
        return rf"\bvote {ref}, ballot {path[5]}\b"
    if part == "checkpoints":
        return rf"\bvote {ref}, checkpoint {entry['checkpoints'][path[5]]['size']}$"
    if part == "certificate":
        return rf"\bvote {ref}, certificate$"
    assert part == "casting_vote"
    return rf"\bvote {ref}, casting vote$"


_HEX = "0123456789abcdef"
_WORD = string.ascii_letters + string.digits + "-_"
_ANY = string.printable[:95]


def _mutate(text: str, rng: random.Random) -> tuple[str, int]:
    at = rng.randrange(len(text))
    old = text[at]
    if rng.random() < 0.6:
        pool = _HEX if old in _HEX else _WORD if old in _WORD else _ANY
    else:
        pool = _ANY
    new = rng.choice([c for c in pool if c != old])
    return text[:at] + new + text[at + 1:], at


def _set(record: dict, path: tuple, value: str) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _get(record: dict, path: tuple) -> str:
    target: Any = record
    for key in path:
        target = target[key]
    return target


def test_500_single_byte_changes_each_fail_and_say_where(excom, ga):
    rng = random.Random(20250514)
    records = [excom.record(), ga.record()]
    by_category = []
    for record in records:
        groups: dict[str, list[tuple]] = {}
        for path in _strings(record):
            groups.setdefault(_category(path), []).append(path)
        by_category.append(groups)
    seen: dict[str, int] = {}
    for n in range(500):
        which = n % 2
        record, groups = records[which], by_category[which]
        category = rng.choice(sorted(groups))
        path = rng.choice(groups[category])
        original = _get(record, path)
        changed_text, at = _mutate(original, rng)
        changed = copy.deepcopy(record)
        _set(changed, path, changed_text)
        report = verify_record(changed)
        where = f"change {n}: {path} at {at}: {original[max(0, at - 20):at + 20]!r} -> {changed_text[max(0, at - 20):at + 20]!r}"
        assert not report.ok, where
        expected = _expected_scope(record, path)
        assert any(re.search(expected, c.scope) for c in report.failures), \
            f"{where}\nexpected a failure in {expected!r}, got:\n" + "\n".join(failures(report))
        seen[category] = seen.get(category, 0) + 1
    assert set(seen) >= {"registry", "rule_sets", "organization", "meeting", "agenda_item", "definition", "ballots",
                         "checkpoints", "certificate", "casting_vote"}, seen


# --- receipts -----------------------------------------------------------------------------------


def test_every_receipt_verifies(excom, ga):
    for sim in (excom, ga):
        record = sim.record()
        receipts = list(all_receipts(sim))
        assert receipts
        for receipt in receipts:
            assert verify_receipt(record, receipt) == [], receipt["vote"]


def test_an_altered_receipt_fails(excom):
    record = excom.record()
    receipt = excom.vote("v2").receipts[4]
    tampered = []
    for key, value in (("index", 5), ("leaf_hash", "00" * 32), ("vote", "v3")):
        tampered.append(dict(copy.deepcopy(receipt), **{key: value}))
    bad_proof = copy.deepcopy(receipt)
    bad_proof["proof"][0] = "11" * 32
    tampered.append(bad_proof)
    bad_cp = copy.deepcopy(receipt)
    bad_cp["checkpoint"]["root"] = "22" * 32
    tampered.append(bad_cp)
    for t in tampered:
        assert verify_receipt(record, t), t
    assert verify_receipt(record, {"v": 1}) == ["The receipt cannot be read: A receipt has exactly the keys "
                                                "checkpoint, index, leaf_hash, proof, v, vote."]


def test_a_receipt_from_another_meetings_record_fails(excom, ga):
    problems = verify_receipt(ga.record(), excom.vote("v1").receipts[0])
    assert len(problems) == 1 and "holds no vote v1" in problems[0] and "another meeting's record" in problems[0]
    other_org = excom_meeting(OrgKey.generate(), seed=9)
    problems = verify_receipt(other_org.record(), excom.vote("v1").receipts[0])
    assert any("signature is not a valid signature by the organization key" in p for p in problems)


def test_a_receipt_on_a_forked_log_fails(excom):
    record = excom.record()
    receipt = copy.deepcopy(excom.vote("v1").receipts[3])
    # The organization signed a second, different log of the same size: the record shows the fork.
    fork = Checkpoint(receipt["checkpoint"]["origin"], receipt["checkpoint"]["size"], b"\x33" * 32).sign(excom.org)
    receipt["checkpoint"] = fork.to_json()
    problems = verify_receipt(record, receipt)
    assert any("two different logs of the same size" in p for p in problems)


# --- ballots the server would have refused ------------------------------------------------------


def _one_vote(**kwargs):
    sim = MeetingSim(body="excom", members=8, present=7, **kwargs)
    vote = sim.open_vote("3", "Minutes", "motion", "Adopt the minutes?")
    return sim, vote


def _ballot_failures(sim, vote) -> list:
    # Not certified: the recount would refuse these ballots as the server did; the log still holds them.
    report = verify_record(sim.record())
    assert not report.ok
    return report.failures


def test_a_ballot_signed_with_a_revoked_key_fails():
    sim, vote = _one_vote()
    p = sim.present
    sim.cast_all(vote, spread(p[:3], yes=3))
    old = sim.by_member[p[3]]
    sim.revoke(old.ref)
    sim.cast(vote, p[3], "yes", holder=old)
    bad = _ballot_failures(sim, vote)
    assert any(c.scope == f"agenda 3, vote {vote.ref}, ballot 3 (member {p[3]})" and c.check == "key"
               and "revoked at or before registry seq" in c.detail for c in bad), bad


def test_a_key_enrolled_after_the_vote_opened_fails():
    sim, vote = _one_vote()
    p = sim.present
    new = sim.replace_key(sim.by_member[p[0]].ref)
    sim.cast(vote, p[0], "no", holder=new)
    sim.cast(vote, p[1], "yes")
    bad = _ballot_failures(sim, vote)
    assert [(c.scope, c.check) for c in bad if "ballot" in c.scope] == \
        [(f"agenda 3, vote {vote.ref}, ballot 0 (member {p[0]})", "key")]
    assert "enrolled after the vote opened" in bad[0].detail


def test_two_ballots_of_one_member_fail():
    sim, vote = _one_vote()
    p = sim.present
    second = sim.enrol("d9001", p[0])  # the city's other representative
    vote = sim.open_vote("3", "Minutes", "motion", "Adopt the minutes? (again)")
    sim.cast(vote, p[0], "yes")
    sim.cast(vote, p[1], "yes")
    sim.cast(vote, p[0], "no", holder=second)
    bad = _ballot_failures(sim, vote)
    named = [c for c in bad if c.check == "one ballot per member"]
    assert len(named) == 1 and named[0].scope == f"agenda 3, vote {vote.ref}, ballot 2 (member {p[0]})"
    assert "already voted in this vote (ballot 0)" in named[0].detail


def test_absent_members_wrong_choices_and_other_votes_fail():
    sim, vote = _one_vote()
    other = sim.open_vote("4", "Budget", "motion", "Adopt the budget?")
    absent = sim.members[-1]["id"]
    sim.cast(vote, absent, "yes")
    sim.cast(vote, sim.present[0], "maybe")
    data, signature = sim.sign_ballot(other, sim.by_member[sim.present[1]], "yes")
    sim.append(vote, data, signature, sim.by_member[sim.present[1]].key.key_id)
    bad = _ballot_failures(sim, vote)
    checks = {(c.scope.split(", ")[-1], c.check) for c in bad if "ballot" in c.scope}
    assert checks == {(f"ballot 0 (member {absent})", "roll"), (f"ballot 1 (member {sim.present[0]})", "choice"),
                      (f"ballot 2 (member {sim.present[1]})", "vote")}


# --- certificates, checkpoints and the record's other parts --------------------------------------


def _resign(sim: MeetingSim, doc: dict, **changes: Any) -> dict:
    body = dict(doc["body"], **changes)
    chair = sim.staff[CHAIR]
    return add_chair_signature(sign_by_organization(body, sim.org), chair.key.key_id,
                               chair.key.sign(b"", chair_message(body)))


def test_a_signed_certificate_with_a_wrong_outcome_fails_the_recount(excom):
    record = excom.record()
    entry = record["items"][0]["votes"][0]
    outcome = dict(entry["certificate"]["body"]["outcome"], decision="not_adopted")
    entry["certificate"] = _resign(excom, entry["certificate"], outcome=outcome)
    report = verify_record(record)
    assert [(c.scope, c.check) for c in report.failures] == [("agenda 3, vote v1, certificate", "recount")]
    assert "the recount decides 'adopted', the certificate says 'not adopted'" in report.failures[0].detail
    assert "Agenda 3, vote v1 (round 1): 11 ballots" in report.to_text() and "FAILED (1 problem)" in report.to_text()


def test_signed_certificates_with_wrong_counts_or_roll_fail(excom):
    record = excom.record()
    entry = record["items"][0]["votes"][0]
    doc = entry["certificate"]
    for key, value in (("counts", dict(doc["body"]["counts"], yes=9)),
                       ("roll", {"present": doc["body"]["roll"]["present"][:-1], "total": 14}),
                       ("checkpoint", entry["checkpoints"][-2])):
        changed = copy.deepcopy(record)
        changed["items"][0]["votes"][0]["certificate"] = _resign(excom, doc, **{key: value})
        report = verify_record(changed)
        assert [(c.scope, c.check) for c in report.failures] == [("agenda 3, vote v1, certificate", key)], key


def test_a_missing_checkpoint_or_a_signed_wrong_root_fails(excom):
    record = excom.record()
    entry = record["items"][0]["votes"][0]
    del entry["checkpoints"][5]
    report = verify_record(record)
    assert [(c.scope, c.check) for c in report.failures] == [("agenda 3, vote v1", "checkpoints")]
    record = excom.record()
    entry = record["items"][0]["votes"][0]
    cp = entry["checkpoints"][5]
    entry["checkpoints"][5] = Checkpoint(cp["origin"], 5, b"\x44" * 32).sign(excom.org).to_json()
    report = verify_record(record)
    assert [(c.scope, c.check) for c in report.failures] == [("agenda 3, vote v1, checkpoint 5", "root")]


def test_a_vote_listed_twice_fails(excom):
    record = excom.record()
    record["items"].append(copy.deepcopy(record["items"][0]))
    report = verify_record(record)
    assert any(c.check == "unique" for c in report.failures)


def test_bad_sections_and_shapes_fail(excom):
    record = excom.record()
    record["secret"] = {"trackers": []}
    assert [(c.scope, c.check) for c in verify_record(record).failures] == [("secret", "format")]
    assert not verify_record([]).ok and verify_record([]).failures[0].scope == "record"
    assert not verify_record({}).ok
    broken = excom.record()
    broken["items"][0]["votes"][0]["ballots"][0] = "not a ballot"
    report = verify_record(broken)
    assert any(c.scope == "agenda 3, vote v1, ballot 0" for c in report.failures)
    assert any(c.check == "log" for c in report.failures)


def test_trusted_rule_sets_must_match(excom, tmp_path):
    assert verify_record(excom.record(), rulesets_dir=RULESETS_DIR).ok
    text = (RULESETS_DIR / "wego-2017.toml").read_text(encoding="utf-8")
    (tmp_path / "wego-2017.toml").write_text(text.replace('motion_tie = "literal"', 'motion_tie = "casting_vote"'),
                                             encoding="utf-8")
    report = verify_record(excom.record(), rulesets_dir=tmp_path)
    votes = (("3", 1), ("4", 2), ("4", 3), ("5", 4), ("6", 5))
    assert sorted((c.scope, c.check) for c in report.failures) == sorted(
        [("rule set wego-2017", "trusted copy")] + [(f"agenda {n}, vote v{v}", "rule set") for n, v in votes]
        + [(f"agenda {n}, vote v{v}, certificate", "recount") for n, v in votes])


def test_prefix_roots_are_the_roots_of_each_prefix():
    leaves = [bytes([i]) * 32 for i in range(70)]
    roots = _prefix_roots(leaves, set(range(71)))
    assert all(roots[n] == root(leaves[:n]) for n in range(71))


def test_the_records_match_the_published_schema(excom, ga):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs/record.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for sim in (excom, ga):
        jsonschema.validate(sim.record(), schema)


def test_the_schema_is_json_and_names_every_part():
    schema = json.loads((ROOT / "docs/record.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"v", "type", "meeting", "organization", "rule_sets", "registry", "items",
                                       "written_consent", "secret"}


# --- the fast ballot reader agrees with the reference parser ------------------------------------

_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "\x00", "\x1f", "\x7f", "\u2028", "é", "\U0001f600", "\\", '"', "/", "\ud800", "a\nb", "\ufeff"])
_choices = _texts | st.lists(_texts, max_size=3) | st.dictionaries(_texts, _texts, max_size=3) | \
    st.integers() | st.floats(allow_nan=False) | st.none() | st.booleans()


_valid_choices = _texts | st.lists(_texts, max_size=3) | st.dictionaries(_texts, _texts, max_size=3)


def _outcome(parse, data: bytes):
    try:
        return ("ok", parse(data))
    except (NotCanonical, InvalidBallot) as exc:
        return ("refused", type(exc).__name__, str(exc))


@settings(max_examples=400, deadline=None)
@given(choice=_choices, member=st.from_regex(r"m[0-9]{1,3}", fullmatch=True) | _texts,
       nonce=st.from_regex(r"[A-Za-z0-9_-]{16,20}", fullmatch=True) | _texts, round_=st.integers(-2, 2**54) | st.floats(allow_nan=False),
       extra=st.booleans())
def test_read_ballot_agrees_with_parse_ballot(choice, member, nonce, round_, extra):
    obj = {"v": 1, "vote": "v1", "round": round_, "vote_sha256": "a" * 64, "member": member or "m1",
           "delegate": "d1", "key": "k_" + "a" * 26, "choice": choice, "nonce": nonce or "n" * 16}
    if extra:
        obj["x"] = 1
    try:
        canonical = rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, UnicodeError, ValueError):
        canonical = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for data in (canonical, canonical.replace(b":", b": ", 1), canonical.replace(b"a", b"\\u0061", 1),
                 canonical + b"\n", canonical.replace(b'"v":1', b'"v":1.0')):
        assert _outcome(read_ballot, data) == _outcome(parse_ballot, data), data


@settings(max_examples=300, deadline=None)
@given(choice=_valid_choices, round_=st.integers(1, 2**53 + 2))
def test_read_ballot_agrees_on_valid_ballots_with_any_strings(choice, round_):
    obj = {"v": 1, "vote": "v1", "round": round_, "vote_sha256": "a" * 64, "member": "m1", "delegate": "d1",
           "key": "k_" + "a" * 26, "choice": choice, "nonce": "n" * 16}
    try:
        data = rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, UnicodeError, ValueError):
        return
    assert _outcome(read_ballot, data) == _outcome(parse_ballot, data)
    if round_ < 2**53:
        assert _outcome(read_ballot, data)[0] == "ok"


def test_read_ballot_reads_every_ballot_of_the_records_as_parse_ballot_does(excom, ga):
    for sim in (excom, ga):
        for item in sim.record()["items"]:
            for vote in item["votes"]:
                for b in vote["ballots"]:
                    data = b["ballot"].encode("utf-8")
                    assert read_ballot(data) == parse_ballot(data)
