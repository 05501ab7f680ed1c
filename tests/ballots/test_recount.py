"""ballots.recount: vote definitions and ballots into a tally case; every STATUTE_RULES §6 example agrees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ballots.recount import (
    DECISION_OF_KIND,
    VOTE_KINDS,
    RecountError,
    ballot_rounds,
    build_case,
    choice_problem,
    counts_summary,
    rule_parameters,
    tally_votes,
)
from ballots.rules import load_rule_set
from ballots.tally import CaseError, Decision, tally_case
from tests.ballots.record_factory import roll_of, vote_definition

GENESIS = "0" * 64
# VoteKind in voting/models/votes.py; the core cannot import the app, so the list is repeated here.
APP_VOTE_KINDS = ("motion", "special-session", "dissolve-regional-office", "host-city", "president", "president-sole",
                  "regional-office-bid", "excom-approval", "excom-block", "written-consent")


def definition(kind: str, members: Sequence[str], present: Sequence[str], *, body: str = "excom",
               rule_set: str = "wego-2017", options: Sequence[str] = (), seats: int | None = None, number: int = 1,
               total: int | None = None, ref: str = "v1", rulesets_dir: Any = None,
               agenda: str = "4") -> dict[str, Any]:
    rs = load_rule_set(rule_set, rulesets_dir)
    meeting = {"key": "m-2025", "title": "Meeting", "body": body}
    item = {"number": agenda, "title": "Item", "decision": DECISION_OF_KIND[kind]}
    return vote_definition(ref, meeting, item, number, kind, "Question?", [(o, o.title()) for o in options], seats,
                           rs.id, roll_of(members, present, rs, body, total), (0, GENESIS), "2025-05-14T09:00:00.000000Z")


def ids(n: int, prefix: str = "m") -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def votes(present: Sequence[str], yes: int, no: int = 0, abstain: int = 0) -> dict[str, str]:
    choices = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    return dict(zip(present, choices, strict=False))


def same(a: Any, b: Any) -> None:
    assert a.to_json() == b.to_json()


def test_every_app_vote_kind_maps_to_a_tally_decision():
    assert set(VOTE_KINDS) == set(APP_VOTE_KINDS) == set(DECISION_OF_KIND)
    assert DECISION_OF_KIND["president-sole"] == "president"
    assert DECISION_OF_KIND["excom-approval"] == DECISION_OF_KIND["excom-block"] == "excom-election"
    for kind in ("motion", "special-session", "dissolve-regional-office", "host-city", "president",
                 "regional-office-bid"):
        assert DECISION_OF_KIND[kind] == kind


# --- STATUTE_RULES.md §6, each worked example through the recount and straight through tally_case ----


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
def test_example_1_and_2(rule_set_id):
    members = ids(13)
    d = definition("motion", members, members[:4], rule_set=rule_set_id)
    ballots = votes(members[:4], 2, 1, 1)
    outcome = tally_votes([d], [ballots])
    same(outcome, tally_case({"rule_set": rule_set_id, "decision": "motion", "body": "excom", "members": members,
                              "present": members[:4], "ballots": ballots}))
    assert outcome.decision == (Decision.ADOPTED if rule_set_id == "wego-2017" else Decision.NOT_ADOPTED)


@pytest.mark.parametrize(("rule_set_id", "enough"), [("wego-2017", 30), ("wego-2014", 40)])
def test_example_3_ga_of_120_full_members(rule_set_id, enough):
    full = ids(120, "city")
    for present, met in ((enough, True), (enough - 1, False)):
        d = definition("motion", full, full[:present], body="ga", rule_set=rule_set_id)
        ballots = votes(full[:present], present)
        outcome = tally_votes([d], [ballots])
        same(outcome, tally_case({"rule_set": rule_set_id, "decision": "motion", "body": "ga", "members": full,
                                  "present": full[:present], "ballots": ballots}))
        # The three associates attend without a vote and, under I-1 full_members, count nowhere.
        with_associates = tally_case({"rule_set": rule_set_id, "decision": "motion", "body": "ga", "members": full,
                                      "present": full[:present], "ballots": ballots,
                                      "non_voting_members": ids(3, "assoc")})
        assert outcome.decision == with_associates.decision
        assert outcome.quorum == with_associates.quorum and outcome.quorum.met is met


def test_example_3_all_members_interpretation_counts_the_roll_total(variant, tmp_path):
    variant("wego-2017", "all-members", {'ga_quorum_base = "full_members"': 'ga_quorum_base = "all_members"'})
    full = ids(120, "city")
    # The roll lists the 120 voting members; its total counts the 3 associates too (as attendance.roll does).
    d = definition("motion", full, full[:30], body="ga", rule_set="all-members", total=123, rulesets_dir=tmp_path)
    assert d["roll"]["quorum_required"] == 31
    outcome = tally_votes([d], [votes(full[:30], 30)], rulesets_dir=tmp_path)
    same(outcome, tally_case({"rule_set": "all-members", "decision": "motion", "body": "ga", "members": full,
                              "present": full[:30], "ballots": votes(full[:30], 30),
                              "non_voting_members": ids(3, "assoc")}, rulesets_dir=tmp_path))
    assert outcome.quorum.to_json() == {"present": 30, "total": 123, "required": 31, "met": False}


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
def test_example_4_ties_on_motions(rule_set_id):
    members = ids(14)
    for present, ballots, decision in ((members[:10], votes(members[:10], 5, 5), Decision.ADOPTED),
                                       (members[:11], votes(members[:11], 5, 5, 1), Decision.NOT_ADOPTED)):
        outcome = tally_votes([definition("motion", members, present, rule_set=rule_set_id)], [ballots])
        same(outcome, tally_case({"rule_set": rule_set_id, "decision": "motion", "body": "excom",
                                  "members": members, "present": present, "ballots": ballots}))
        assert outcome.decision == decision


def test_example_4_casting_vote_interpretation(variant, tmp_path):
    variant("wego-2017", "casting", {'motion_tie = "literal"': 'motion_tie = "casting_vote"'})
    members = ids(14)
    d = definition("motion", members, members[:11], rule_set="casting", rulesets_dir=tmp_path)
    ballots = votes(members[:11], 5, 5, 1)
    assert tally_votes([d], [ballots], rulesets_dir=tmp_path).decision == Decision.AWAITING_CASTING_VOTE
    for cast, decision in (("yes", Decision.ADOPTED), ("no", Decision.NOT_ADOPTED)):
        outcome = tally_votes([d], [ballots], cast, rulesets_dir=tmp_path)
        same(outcome, tally_case({"rule_set": "casting", "decision": "motion", "body": "excom", "members": members,
                                  "present": members[:11], "ballots": ballots, "casting_vote": cast},
                                 rulesets_dir=tmp_path))
        assert outcome.decision == decision


def test_example_5_written_consent_is_not_a_meeting_vote():
    # Written consent is collected remotely (Art. 16.3): its vote names the rule that decides it and
    # the recount needs each answer's time (tests/ballots/test_consent_thresholds.py counts them).
    members = ids(14)
    d = definition("motion", members, members)
    d["kind"] = "written-consent"
    with pytest.raises(RecountError, match="rule None is not one of"):
        tally_votes([d], [{}])


@pytest.mark.parametrize(("rule_set_id", "needed"), [("wego-2014", 14), ("wego-2017", 8)])
def test_example_6_special_session(rule_set_id, needed):
    members = ids(14)
    for yes in (needed, needed - 1):
        ballots = votes(members, yes, 14 - yes)
        outcome = tally_votes([definition("special-session", members, members, rule_set=rule_set_id)], [ballots])
        same(outcome, tally_case({"rule_set": rule_set_id, "decision": "special-session", "body": "excom",
                                  "members": members, "present": members, "ballots": ballots}))
        assert outcome.required == needed


def test_example_7_tie_at_excom_goes_to_casting_vote():
    members = ids(14)
    present = members[:12]
    ballots = {m: ("sejong" if i < 6 else "hanoi") for i, m in enumerate(present)}
    d = definition("host-city", members, present, options=["sejong", "hanoi"])
    waiting = tally_votes([d], [ballots])
    assert waiting.decision == Decision.AWAITING_CASTING_VOTE
    decided = tally_votes([d], [ballots], "hanoi")
    same(decided, tally_case({"rule_set": "wego-2017", "decision": "host-city", "body": "excom", "members": members,
                              "present": present, "options": ["sejong", "hanoi"], "ballots": [ballots],
                              "casting_vote": "hanoi"}))
    assert decided.winners == ("hanoi",)
    # A map keyed by the definitions' round numbers says the same.
    same(tally_votes([d], [ballots], {1: "hanoi"}), decided)


def test_example_7_tie_at_the_ga_repeat_round_then_no_decision():
    members = ids(14)
    present = members[:12]
    ballots = {m: ("sejong" if i < 6 else "hanoi") for i, m in enumerate(present)}
    r1 = definition("host-city", members, present, body="ga", options=["sejong", "hanoi"], ref="v1")
    r2 = definition("host-city", members, present, body="ga", options=["sejong", "hanoi"], ref="v2", number=2)
    first = tally_votes([r1], [ballots])
    assert first.decision == Decision.NEXT_ROUND and first.repeat_round
    second = tally_votes([r1, r2], [ballots, ballots])
    same(second, tally_case({"rule_set": "wego-2017", "decision": "host-city", "body": "ga", "members": members,
                             "present": present, "options": ["sejong", "hanoi"], "ballots": [ballots, ballots]}))
    assert second.decision == Decision.NO_DECISION and second.fallback.article == "Art. 12.11"
    with pytest.raises(CaseError, match="no casting vote at the General Assembly"):
        tally_votes([r1], [ballots], "sejong")


def test_example_8_dissolve_regional_office():
    members = ids(15)
    present = members[:5]
    for rule_set_id, yes, decision in (("wego-2014", 4, Decision.ADOPTED), ("wego-2014", 3, Decision.NOT_ADOPTED),
                                       ("wego-2017", 3, Decision.ADOPTED)):
        ballots = votes(present, yes, 5 - yes)
        d = definition("dissolve-regional-office", members, present, rule_set=rule_set_id)
        outcome = tally_votes([d], [ballots])
        same(outcome, tally_case({"rule_set": rule_set_id, "decision": "dissolve-regional-office", "body": "excom",
                                  "members": members, "present": present, "ballots": ballots}))
        assert outcome.decision == decision


# --- kinds, conventions and refusals ---------------------------------------------------------------


def test_president_sole_is_one_option_and_yes_no_ballots():
    members = ids(20)
    d = definition("president-sole", members, members[:16], body="ga", options=["seoul"])
    ballots = votes(members[:16], 12, 2, 1)
    assert build_case([d], [ballots])["candidates"] == ["seoul"]
    outcome = tally_votes([d], [ballots])
    assert outcome.decision == Decision.ELECTED and outcome.winners == ("seoul",)
    same(outcome, tally_case({"rule_set": "wego-2017", "decision": "president", "candidates": ["seoul"],
                              "members": members, "present": members[:16], "ballots": ballots}))
    empty = definition("president-sole", members, members[:16], body="ga")
    with pytest.raises(RecountError, match="exactly one option"):
        tally_votes([empty], [ballots])


def test_excom_block_vote_with_a_runoff():
    members = ids(20)
    present = members[:16]
    candidates = ["kazan", "makati", "jakarta", "chengdu"]
    first = definition("excom-block", members, present, body="ga", options=candidates, seats=3, ref="v1")
    ballots = {m: ["kazan", "makati", "jakarta" if i % 2 else "chengdu"] for i, m in enumerate(present)}
    outcome = tally_votes([first], [ballots])
    assert outcome.decision == Decision.NEXT_ROUND and set(outcome.remaining) == {"jakarta", "chengdu"}
    assert outcome.runoff_places == 1
    runoff = definition("excom-block", members, present, body="ga", options=["jakarta", "chengdu"], seats=1,
                        ref="v2", number=2)
    second = [{m: ["jakarta"] for m in present[:9]} | {m: ["chengdu"] for m in present[9:]}]
    done = tally_votes([first, runoff], [ballots, *second])
    assert done.winners == ("kazan", "makati", "jakarta")
    same(done, tally_case({"rule_set": "wego-2017", "decision": "excom-election", "members": members,
                           "present": present, "candidates": candidates, "seats": 3,
                           "ballots": [ballots, *second]}))
    assert ballot_rounds([first, runoff], 1) == [0, 1] and ballot_rounds([first, runoff], 0) == [0]
    # A run-off must be for the tied candidates and the places they tie for.
    wrong = dict(runoff, options=[{"id": "jakarta", "label": "J"}, {"id": "kazan", "label": "K"}])
    with pytest.raises(RecountError, match="left"):
        tally_votes([first, wrong], [ballots, *second])
    with pytest.raises(RecountError, match="places"):
        tally_votes([first, dict(runoff, seats=2)], [ballots, *second])


def test_excom_approval_ballots_are_maps():
    members = ids(20)
    present = members[:16]
    d = definition("excom-approval", members, present, body="ga", options=["almaty", "tbilisi"], seats=2)
    ballots = {m: {"almaty": "yes" if i < 9 else "no", "tbilisi": "yes"} for i, m in enumerate(present)}
    outcome = tally_votes([d], [ballots])
    assert set(outcome.winners) == {"almaty", "tbilisi"}
    assert counts_summary(d, ballots) == {"almaty": {"yes": 9, "no": 7, "abstain": 0},
                                          "tbilisi": {"yes": 16, "no": 0, "abstain": 0}, "abstain": 0,
                                          "not_voted": 0}
    assert choice_problem(d, {"almaty": "yes"}) is not None
    assert choice_problem(d, {"almaty": "yes", "tbilisi": "abstain"}) is None


def test_later_rounds_must_repeat_the_roll():
    members = ids(14)
    r1 = definition("host-city", members, members[:12], options=["a", "b", "c"])
    r2 = definition("host-city", members, members[:13], options=["a", "b"], number=2, ref="v2")
    with pytest.raises(RecountError, match="frozen when the ballot opens"):
        tally_votes([r1, r2], [{}, {}])


def test_rounds_must_be_numbered_in_turn_and_of_one_kind():
    members = ids(14)
    r1 = definition("host-city", members, members[:12], options=["a", "b", "c"])
    with pytest.raises(RecountError, match="numbered"):
        tally_votes([r1, definition("host-city", members, members[:12], options=["a", "b"], number=3)], [{}, {}])
    with pytest.raises(RecountError, match="round 1 of this ballot"):
        tally_votes([r1, definition("president", members, members[:12], options=["a", "b"], number=2)], [{}, {}])
    with pytest.raises(RecountError, match="decided in one vote"):
        m = definition("motion", members, members[:12])
        tally_votes([m, m], [{}, {}])


def test_motion_votes_on_one_item_stand_alone():
    members = ids(14)
    defs = [definition("motion", members, members, number=n, ref=f"v{n}") for n in (1, 2)]
    assert ballot_rounds(defs, 1) == [1]


# --- show of hands ------------------------------------------------------------------------------


@pytest.mark.parametrize(("yes", "no", "abstain"), [(9, 2, 1), (6, 6, 0), (2, 1, 1), (0, 0, 0)])
def test_show_of_hands_gives_the_outcome_of_the_same_ballots(yes, no, abstain):
    members = ids(14)
    present = members[:12]
    d = definition("motion", members, present)
    by_hand = tally_votes([d], [{}], show_of_hands=[{"yes": yes, "no": no, "abstain": abstain}])
    signed = tally_votes([d], [votes(present[::-1], yes, no, abstain)])
    assert by_hand.explanation[0].text.startswith("Counted by a show of hands")
    assert by_hand.to_json() | {"explanation": None} == signed.to_json() | {"explanation": None}
    assert by_hand.explanation[1:] == signed.explanation
    summary = counts_summary(d, {}, {"yes": yes, "no": no, "abstain": abstain})
    assert summary == {"yes": yes, "no": no, "abstain": abstain, "not_voted": 12 - yes - no - abstain}
    assert summary == counts_summary(d, votes(present, yes, no, abstain))


def test_show_of_hands_for_one_option_rounds_and_its_refusals():
    members = ids(14)
    d = definition("host-city", members, members[:12], options=["sejong", "hanoi"])
    outcome = tally_votes([d], [{}], show_of_hands=[{"sejong": 7, "hanoi": 4, "abstain": 1}])
    assert outcome.winners == ("sejong",)
    with pytest.raises(RecountError, match="only 12 members were present"):
        tally_votes([d], [{}], show_of_hands=[{"sejong": 9, "hanoi": 4}])
    with pytest.raises(RecountError, match="not a choice"):
        tally_votes([d], [{}], show_of_hands=[{"taipei": 1}])
    with pytest.raises(RecountError, match="counted one way"):
        tally_votes([d], [{"m00": "sejong"}], show_of_hands=[{"sejong": 1}])
    with pytest.raises(RecountError, match="whole number"):
        tally_votes([d], [{}], show_of_hands=[{"sejong": True}])
    election = definition("excom-block", members, members, body="ga", options=["a", "b", "c"], seats=2)
    with pytest.raises(RecountError, match="signed ballots"):
        tally_votes([election], [{}], show_of_hands=[{"a": 3}])


# --- counts, choices, parameters ----------------------------------------------------------------


def test_counts_summary_per_kind():
    members = ids(6)
    motion = definition("motion", members, members[:5])
    assert counts_summary(motion, votes(members[:5], 2, 1, 1)) == {"yes": 2, "no": 1, "abstain": 1, "not_voted": 1}
    bids = definition("host-city", members, members[:5], options=["b", "a"])
    assert list(counts_summary(bids, {"m00": "a", "m01": "abstain"})) == ["b", "a", "abstain", "not_voted"]
    block = definition("excom-block", members, members, body="ga", options=["a", "b", "c"], seats=2)
    assert counts_summary(block, {"m00": ["a", "b"], "m01": [], "m02": ["a"]}) == \
        {"a": 2, "b": 1, "c": 0, "abstain": 1, "not_voted": 3}


def test_choice_problem_mirrors_the_server():
    members = ids(4)
    assert choice_problem(definition("motion", members, members), "maybe")
    assert choice_problem(definition("motion", members, members), "yes") is None
    bids = definition("host-city", members, members, options=["a", "b"])
    assert choice_problem(bids, "c") and choice_problem(bids, "abstain") is None
    block = definition("excom-block", members, members, body="ga", options=["a", "b", "c"], seats=2)
    assert choice_problem(block, ["a", "b", "c"]) and choice_problem(block, ["a", "a"]) and choice_problem(block, "a")
    assert choice_problem(block, []) is None


def test_rule_parameters_state_the_thresholds_applied(r14, r17):
    assert rule_parameters(r17, "motion", "excom")["concurrence"]["fraction"] == "1/2"
    assert rule_parameters(r17, "motion", "excom")["quorum"]["fraction"] == "1/4"
    assert rule_parameters(r14, "special-session", "excom")["approval"]["fraction"] == "1/1"
    assert rule_parameters(r17, "special-session", "excom")["approval"]["fraction"] == ">1/2"
    assert rule_parameters(r14, "dissolve-regional-office", "excom")["concurrence"]["fraction"] == "2/3"
    assert rule_parameters(r17, "host-city", "excom")["casting_vote"]["allowed"] is True
    assert rule_parameters(r17, "host-city", "ga")["casting_vote"]["allowed"] is False
    assert rule_parameters(r17, "excom-block", "ga")["threshold"]["fraction"] == "1/2"
    for kind in VOTE_KINDS:
        if kind != "written-consent":
            assert "16.1" in rule_parameters(r17, kind, "ga")["quorum"]["article"]
    written = rule_parameters(r14, "written-consent", "excom")  # no quorum applies (Art. 16.3)
    assert "quorum" not in written and written["written_consent"]["fraction"] == "2/3"
    assert written["dissolve_regional_office_in_writing"]["fraction"] == "1/1"
    with pytest.raises(RecountError):
        rule_parameters(r17, "written-consent-by-fax", "excom")
