"""STATUTE_RULES.md §6: every worked example, under both rule sets."""

from __future__ import annotations

import pytest

from ballots.rules import load_rule_set
from ballots.tally import (
    CaseError,
    Decision,
    tally_dissolve_regional_office,
    tally_host_city,
    tally_motion,
    tally_special_session,
    tally_written_consent,
)


def ids(n: int, prefix: str = "m") -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def votes(present: list[str], yes: int, no: int = 0, abstain: int = 0) -> dict[str, str]:
    """The first `yes` members present vote yes, then `no` vote no, then `abstain` abstain."""
    choices = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    assert len(choices) <= len(present)
    return dict(zip(present, choices, strict=False))


# Example 1 and 2: EXCOM of 13, 4 present, 2 yes, 1 no, 1 abstain.
@pytest.mark.parametrize(("rule_set_id", "decision", "quorum_required"), [
    ("wego-2017", Decision.ADOPTED, 4),      # 4 * 4 = 16 >= 13; then 2 * 2 = 4 >= 4
    ("wego-2014", Decision.NOT_ADOPTED, 5),  # 4 * 3 = 12 < 13: no quorum
])
def test_example_1_and_2_excom_of_13(rule_set_id, decision, quorum_required):
    rs = load_rule_set(rule_set_id)
    members = ids(13)
    outcome = tally_motion(rs, "excom", members, members[:4], votes(members[:4], 2, 1, 1))
    assert outcome.decision == decision
    assert outcome.quorum.to_json() == {"present": 4, "total": 13, "required": quorum_required,
                                        "met": rule_set_id == "wego-2017"}
    assert outcome.counts_map == {"yes": 2, "no": 1, "abstain": 1, "not_voted": 0}
    texts = [step.text for step in outcome.explanation]
    if rule_set_id == "wego-2014":
        assert "4 × 3 = 12 < 13" in texts[1]
        assert texts[-1] == "Not adopted: no quorum (Art. 16.1), whatever the votes."
    else:
        assert "4 × 4 = 16 ≥ 13" in texts[1]
        assert "2 × 2 = 4 ≥ 4" in texts[-1] and "adopted" in texts[-1]


# Example 3: GA with 120 full members and 3 associate members.
@pytest.mark.parametrize(("rule_set_id", "enough"), [("wego-2017", 30), ("wego-2014", 40)])
def test_example_3_ga_quorum_counts_full_members_only(rule_set_id, enough):
    rs = load_rule_set(rule_set_id)
    full = ids(120, "city")
    associates = ids(3, "assoc")
    for present, met in ((enough, True), (enough - 1, False)):
        ballots = votes(full[:present], present)
        outcome = tally_motion(rs, "ga", full, full[:present], ballots, non_voting_members=associates)
        assert outcome.quorum.met is met
        assert outcome.quorum.total == 120
        assert outcome.decision == (Decision.ADOPTED if met else Decision.NOT_ADOPTED)


def test_example_3_with_all_members_interpretation(variant):
    # I-1 as a parameter: counting the 3 associates raises the base to 123, so 30 is short.
    rs = variant("wego-2017", "all-members", {'ga_quorum_base = "full_members"': 'ga_quorum_base = "all_members"'})
    full, associates = ids(120, "city"), ids(3, "assoc")
    short = tally_motion(rs, "ga", full, full[:30], votes(full[:30], 30), non_voting_members=associates)
    assert short.quorum.to_json() == {"present": 30, "total": 123, "required": 31, "met": False}
    enough = tally_motion(rs, "ga", full, full[:31], votes(full[:31], 31), non_voting_members=associates)
    assert enough.quorum.met and enough.decision == Decision.ADOPTED


# Example 4: EXCOM of 14; a 5-5 tie is adopted with 10 present, not with 11 (one abstains).
@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
def test_example_4_ties_on_motions_literal(rule_set_id):
    rs = load_rule_set(rule_set_id)
    members = ids(14)
    even = tally_motion(rs, "excom", members, members[:10], votes(members[:10], 5, 5))
    assert even.decision == Decision.ADOPTED
    assert "5 × 2 = 10 ≥ 10" in even.explanation[-1].text
    odd = tally_motion(rs, "excom", members, members[:11], votes(members[:11], 5, 5, 1))
    assert odd.decision == Decision.NOT_ADOPTED
    assert "5 × 2 = 10 < 11" in odd.explanation[-1].text


def test_example_4_under_casting_vote_interpretation(variant):
    # I-3 as a parameter: under motion_tie = casting_vote a 5-5 tie at the EXCOM awaits the SG.
    rs = variant("wego-2017", "casting", {'motion_tie = "literal"': 'motion_tie = "casting_vote"'})
    members = ids(14)
    ballots = votes(members[:11], 5, 5, 1)
    waiting = tally_motion(rs, "excom", members, members[:11], ballots)
    assert waiting.decision == Decision.AWAITING_CASTING_VOTE
    assert waiting.tied == ("yes", "no")
    assert tally_motion(rs, "excom", members, members[:11], ballots, casting_vote="yes").decision == Decision.ADOPTED
    assert tally_motion(rs, "excom", members, members[:11], ballots,
                        casting_vote="no").decision == Decision.NOT_ADOPTED
    # At the GA there is no casting vote (Art. 12.7), so the literal rule still decides.
    assert tally_motion(rs, "ga", members, members[:11], ballots).decision == Decision.NOT_ADOPTED


# Example 5: written consent, EXCOM of 14: 10 (wego-2014) or 7 (wego-2017) consents needed.
@pytest.mark.parametrize(("rule_set_id", "needed"), [("wego-2014", 10), ("wego-2017", 7)])
def test_example_5_written_consent(rule_set_id, needed):
    rs = load_rule_set(rule_set_id)
    members = ids(14)
    for consents, decision in ((needed, Decision.ADOPTED), (needed - 1, Decision.NOT_ADOPTED)):
        answers = {m: ("consent" if i < consents else "object") for i, m in enumerate(members)}
        outcome = tally_written_consent(rs, members, answers, deadline_passed=True)
        assert outcome.decision == decision
        assert outcome.required == needed
    if rule_set_id == "wego-2014":
        nine = tally_written_consent(rs, members, {m: "consent" for m in members[:9]}, deadline_passed=True)
        assert "9 × 3 = 27 < 14 × 2 = 28" in nine.explanation[-1].text


# Example 6: a special session of the GA, EXCOM of 14: all 14 (wego-2014) or 8 (wego-2017).
@pytest.mark.parametrize(("rule_set_id", "needed"), [("wego-2014", 14), ("wego-2017", 8)])
def test_example_6_special_session(rule_set_id, needed):
    rs = load_rule_set(rule_set_id)
    members = ids(14)
    for yes, decision in ((needed, Decision.ADOPTED), (needed - 1, Decision.NOT_ADOPTED)):
        outcome = tally_special_session(rs, members, members, votes(members, yes, 14 - yes))
        assert outcome.decision == decision
        assert outcome.required == needed
    if rule_set_id == "wego-2017":
        seven = tally_special_session(rs, members, members, votes(members, 7, 7))
        assert "7 × 2 = 14 not > 14" in seven.explanation[-1].text


# Example 7: host city, EXCOM of 14, 12 present, Sejong 6, Ha Noi 6.
def test_example_7_tie_at_excom_goes_to_casting_vote(tied_host_city):
    waiting = tied_host_city()
    assert waiting.decision == Decision.AWAITING_CASTING_VOTE
    assert waiting.tied == ("sejong", "hanoi")
    decided = tied_host_city(casting_votes="hanoi")
    assert decided.decision == Decision.WINNER
    assert decided.winners == ("hanoi",)
    assert decided.rounds[0].casting_vote == "hanoi"
    assert any(step.article == "Art. 12.7" for step in decided.explanation)


def test_example_7_tie_at_ga_repeat_round_then_no_decision(tied_host_city):
    first = tied_host_city(body="ga")
    assert first.decision == Decision.NEXT_ROUND
    assert first.repeat_round is True
    assert first.remaining == ("sejong", "hanoi")
    second = tied_host_city(body="ga", rounds=2)
    assert second.decision == Decision.NO_DECISION
    assert second.fallback.article == "Art. 12.11"
    assert "President City shall host the Executive Committee meeting the following year" in second.fallback.text
    with pytest.raises(CaseError, match="no casting vote at the General Assembly"):
        tied_host_city(body="ga", casting_votes="sejong")


def test_example_7_under_wego_2014_no_casting_vote_and_its_own_fallback(r14):
    members = ids(14)
    present = members[:12]
    ballots = {m: ("sejong" if i < 6 else "hanoi") for i, m in enumerate(present)}
    outcome = tally_host_city(r14, "excom", members, present, ["sejong", "hanoi"], [ballots, ballots])
    assert outcome.decision == Decision.NO_DECISION
    assert outcome.fallback.text.endswith("the President City shall host the General Assembly.")
    with pytest.raises(CaseError, match="selected by the Executive Committee"):
        tally_host_city(r14, "ga", members, present, ["sejong", "hanoi"], [ballots])


# Example 8: dissolving a regional office, EXCOM of 15 under wego-2014.
def test_example_8_dissolve_regional_office(r14, r17):
    members = ids(15)
    present = members[:5]
    adopted = tally_dissolve_regional_office(r14, members, present, votes(present, 4, 1))
    assert adopted.decision == Decision.ADOPTED
    assert "5 × 3 = 15 ≥ 15" in adopted.explanation[2].text   # quorum: one third
    assert "4 × 3 = 12 ≥ 5 × 2 = 10" in adopted.explanation[-1].text
    rejected = tally_dissolve_regional_office(r14, members, present, votes(present, 3, 2))
    assert rejected.decision == Decision.NOT_ADOPTED
    assert "3 × 3 = 9 < 5 × 2 = 10" in rejected.explanation[-1].text
    # Under wego-2017 it is an ordinary motion: 3 of 5 present is one half or more.
    assert tally_dissolve_regional_office(r17, members, present, votes(present, 3, 2)).decision == Decision.ADOPTED
    assert tally_dissolve_regional_office(r17, members, present, votes(present, 2, 3)).decision == Decision.NOT_ADOPTED
