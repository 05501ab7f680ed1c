"""Every rejection reason: a bad ballot or case raises CaseError naming the member and why."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ballots.tally import CaseError, load_case, tally_case

EXCOM = [f"c{i:02d}" for i in range(10)]


def motion(**changes: Any) -> dict[str, Any]:
    case = {"rule_set": "wego-2017", "decision": "motion", "body": "excom", "members": EXCOM,
            "present": EXCOM[:8], "non_voting_members": ["assoc1"],
            "ballots": {m: "yes" for m in EXCOM[:5]}}
    case.update(changes)
    return case


def host(**changes: Any) -> dict[str, Any]:
    case = {"rule_set": "wego-2017", "decision": "host-city", "body": "excom", "members": EXCOM,
            "present": EXCOM, "options": ["sejong", "hanoi", "kigali"],
            "ballots": [{"c00": "sejong", "c01": "hanoi"}]}
    case.update(changes)
    return case


def election(**changes: Any) -> dict[str, Any]:
    case = {"rule_set": "wego-2017", "decision": "excom-election", "members": EXCOM, "present": EXCOM,
            "candidates": ["a", "b", "c"], "seats": 2, "ballots": {"c00": ["a", "b"]}}
    case.update(changes)
    return case


def approval(**changes: Any) -> dict[str, Any]:
    return election(**{"seats": 3, "ballots": {"c00": {"a": "yes", "b": "no"}}, **changes})


def with_ballot(case: dict[str, Any], member: str, value: Any) -> dict[str, Any]:
    case = copy.deepcopy(case)
    if isinstance(case["ballots"], list):
        case["ballots"][-1][member] = value
    else:
        case["ballots"][member] = value
    return case


# (case, the member named or None, a fragment of the message)
REJECTIONS = {
    # who may vote
    "non-voting member": (with_ballot(motion(), "assoc1", "yes"), "assoc1", "non-voting member"),
    "not a member": (with_ballot(motion(), "zz", "yes"), "zz", "not a voting member of the Executive Committee"),
    "not present": (with_ballot(motion(), "c09", "yes"), "c09", "was not present when the vote opened"),
    "host city ballot from absent member": (host(present=EXCOM[:5], ballots=[{"c07": "sejong"}]), "c07",
                                            "was not present"),
    "election ballot from non-member": (election(ballots={"xx": ["a"]}), "xx", "not a voting member"),
    # single-choice ballots
    "two choices on a motion": (with_ballot(motion(), "c05", ["yes", "no"]), "c05",
                                "marked 2 choices ('yes', 'no') on a single-choice ballot"),
    "a one-choice list": (with_ballot(motion(), "c05", ["yes"]), "c05", "one choice written as text"),
    "unknown motion choice": (with_ballot(motion(), "c05", "maybe"), "c05", "'maybe', which is not an option"),
    "a number for a choice": (with_ballot(motion(), "c05", 1), "c05", "is not a choice"),
    "a map for a choice": (with_ballot(motion(), "c05", {"yes": 1}), "c05", "is not a choice"),
    "two bids on one ballot": (with_ballot(host(), "c02", ["sejong", "hanoi"]), "c02", "marked 2 choices"),
    "unknown bid": (with_ballot(host(), "c02", "paris"), "c02", "'paris', which is not an option"),
    # block vote and approval ballots
    "more names than seats": (election(ballots={"c03": ["a", "b", "c"]}), "c03",
                              "named 3 candidates but may name at most 2"),
    "a name twice": (election(ballots={"c03": ["a", "a"]}), "c03", "named 'a' twice"),
    "unknown candidate": (election(ballots={"c03": ["z"]}), "c03", "'z', who is not a candidate"),
    "block ballot not a list": (election(ballots={"c03": "a"}), "c03", "must be a list of candidate ids"),
    "approval ballot not a map": (approval(ballots={"c03": ["a"]}), "c03", "must map each candidate"),
    "approval of unknown candidate": (approval(ballots={"c03": {"z": "yes"}}), "c03", "'z', who is not a candidate"),
    "approval with a bad choice": (approval(ballots={"c03": {"a": "maybe"}}), "c03", "each candidate is yes, no"),
    # rolls
    "present but not a member": (motion(present=["c00", "zz"]), "zz", "listed as present but is not a voting"),
    "member listed twice": (motion(members=EXCOM + ["c00"]), "c00", "lists 'c00' twice"),
    "present listed twice": (motion(present=["c00", "c00"]), "c00", "lists 'c00' twice"),
    "voting and non-voting": (motion(non_voting_members=["c01"]), "c01", "both as a voting and as a non-voting"),
    "empty roll": (motion(members=[], present=[], ballots={}), None, "roll is empty"),
    "ids must be texts": (motion(members=[1, 2]), None, "must be a list of ids"),
    # casting votes
    "casting vote under wego-2014": (motion(rule_set="wego-2014", casting_vote="yes"), None,
                                     "has no casting vote at the Executive Committee"),
    "casting vote at the GA": (host(body="ga", casting_vote="sejong"), None,
                               "has no casting vote at the General Assembly"),
    "casting vote with no tie": (motion(casting_vote="yes"), None, "the vote is not tied"),
    "casting vote on a special session": (motion(decision="special-session", casting_vote="yes"), None,
                                          "no tie for a casting vote to break"),
    "casting vote in an election": (election(casting_vote="a"), None, "no casting vote at the General Assembly"),
    "casting vote for a round not held": (host(casting_vote={"3": "sejong"}), None, "round 3, which was not held"),
    "casting vote keyed oddly": (host(casting_vote={"first": "sejong"}), None, "keyed by round number"),
    "casting vote on an untied round": (host(casting_vote="sejong"), None, "that round is not tied"),
    # the case itself
    "unknown field": (motion(ballot={}), None, "unknown field 'ballot'"),
    "no rule set": (motion(rule_set=""), None, "needs 'rule_set'"),
    "unknown rule set": (motion(rule_set="wego-1999"), None, "no rule set 'wego-1999'"),
    "rule set by path": (motion(rule_set="../ballots/rulesets/wego-2017.toml"), None,
                         "rule_set must be an id such as"),
    "unknown decision": (motion(decision="referendum"), None, "decision must be one of"),
    "unknown body": (motion(body="council"), None, "unknown body 'council'"),
    "no present": ({k: v for k, v in motion().items() if k != "present"}, None, "needs 'present'"),
    "wrong body for a fixed decision": (motion(decision="special-session", body="ga"), None,
                                        "decided by the Executive Committee"),
    "host city at the GA under wego-2014": (host(rule_set="wego-2014", body="ga"), None,
                                            "selected by the Executive Committee"),
    "ballots and answers": (motion(decision="written-consent", answers={}), None, "not both"),
    "written consent without answers": (motion(decision="written-consent"), None, "needs 'answers'"),
    "deadline at a meeting": (motion(deadline_passed=True), None, "applies to answers in writing only"),
    "motion ballots as rounds": (motion(ballots=[{}]), None, "ballots as a map"),
    "duplicate options": (host(options=["a", "a"], ballots=[]), None, "list 'a' twice"),
    "abstain as an option": (host(options=["abstain", "a"], ballots=[]), None, "reserved for abstentions"),
    "rounds after a decision": (host(ballots=[{m: "sejong" for m in EXCOM}] * 2), None, "already decided"),
    "president options": ({"rule_set": "wego-2017", "decision": "president", "members": EXCOM, "present": EXCOM,
                           "options": ["seoul"]}, None, "lists 'candidates', not 'options'"),
    "sole candidate with rounds": ({"rule_set": "wego-2017", "decision": "president", "members": EXCOM,
                                    "present": EXCOM, "candidates": ["seoul"], "ballots": [{}]}, None,
                                   "elected by motion"),
    "bad seats": (election(seats=25), None, "seats must be a whole number from 1 to 20"),
    "bad region cap": (election(region_cap=0, regions={"a": "x", "b": "x", "c": "y"}), None,
                       "region_cap must be a whole number"),
    "a candidate without region": (election(region_cap=1, regions={"a": "x", "b": "x"}), "c", "has no region"),
    "regions name a stranger": (election(regions={"a": "x", "b": "x", "c": "y", "d": "z"}), None,
                                "'d', who is not a candidate"),
}


@pytest.mark.parametrize("reason", list(REJECTIONS))
def test_rejection(reason):
    case, member, fragment = REJECTIONS[reason]
    with pytest.raises(CaseError) as err:
        tally_case(case)
    assert fragment in str(err.value)
    assert err.value.member == member
    assert isinstance(err.value, ValueError)


def test_written_answers_refuse_a_present_list_and_casting_votes():
    case = {"rule_set": "wego-2017", "decision": "written-consent", "members": EXCOM, "answers": {},
            "deadline_passed": False}
    tally_case(case)
    with pytest.raises(CaseError, match="leave out 'present'"):
        tally_case({**case, "present": EXCOM})
    with pytest.raises(CaseError, match="at a meeting, not to answers in writing"):
        tally_case({**case, "casting_vote": "yes"})
    with pytest.raises(CaseError, match="decided at a meeting"):
        tally_case({**case, "decision": "host-city"})


def test_duplicate_ballot_keys_in_json_are_refused_not_dropped():
    text = '{"rule_set": "wego-2017", "ballots": {"c01": "yes", "c01": "no"}}'
    with pytest.raises(CaseError, match="'c01' appears twice") as err:
        load_case(text)
    assert err.value.member == "c01"


def test_invalid_json_is_a_case_error():
    with pytest.raises(CaseError, match="not valid JSON"):
        load_case("{")


def test_a_case_must_be_an_object():
    with pytest.raises(CaseError, match="must be a JSON object"):
        tally_case(["motion"])  # type: ignore[arg-type]
