"""Exhaustive ballots driven round by round (host city, president) and plurality bids (regional office)."""

from __future__ import annotations

import pytest

from ballots.tally import (
    CaseError,
    Decision,
    tally_host_city,
    tally_president,
    tally_regional_office_bid,
)


def ids(n: int) -> list[str]:
    return [f"m{i:02d}" for i in range(n)]


def ballot(present: list[str], **counts: int) -> dict[str, str]:
    """Give each option its count of votes, in order; everyone left abstains."""
    choices = [option for option, n in counts.items() for _ in range(n)]
    assert len(choices) <= len(present)
    return {m: (choices[i] if i < len(choices) else "abstain") for i, m in enumerate(present)}


MEMBERS = ids(20)


def test_no_rounds_yet_asks_for_round_one(r17):
    outcome = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c"])
    assert outcome.decision == Decision.NEXT_ROUND
    assert outcome.remaining == ("a", "b", "c")
    assert outcome.repeat_round is False
    assert outcome.explanation[-1].text == "Next: round 1 with a, b and c."


def test_lowest_is_eliminated_then_winner(r17):
    round1 = ballot(MEMBERS, a=9, b=7, c=4)
    first = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c"], [round1])
    assert first.decision == Decision.NEXT_ROUND
    assert first.remaining == ("a", "b")
    assert first.rounds[0].eliminated == ("c",)
    round2 = ballot(MEMBERS, a=11, b=9)
    second = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c"], [round1, round2])
    assert second.decision == Decision.WINNER and second.winners == ("a",)
    assert [r.result for r in second.rounds] == ["eliminated", "winner"]
    assert second.counts_map == {"a": 11, "b": 9}
    assert second.confirmation is None  # wego-2017: the GA selects, no confirmation


def test_first_round_winner_needs_half_and_more_than_every_other(r17):
    outcome = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b"], [ballot(MEMBERS, a=10, b=9)])
    assert outcome.winners == ("a",)
    assert "10 × 2 = 20 ≥ 20" in outcome.explanation[-2].text


def test_wego_2014_winner_goes_to_ga_for_confirmation(r14):
    outcome = tally_host_city(r14, "excom", MEMBERS, MEMBERS, ["a", "b"], [ballot(MEMBERS, a=12, b=8)])
    assert outcome.decision == Decision.WINNER
    assert outcome.confirmation == "ga"
    assert "confirmation by ordinary motion" in outcome.explanation[-1].text


def test_a_vote_for_an_eliminated_bid_is_refused(r17):
    round1 = ballot(MEMBERS, a=9, b=7, c=4)
    round2 = ballot(MEMBERS, a=10, b=9, c=1)
    with pytest.raises(CaseError, match="'c', which was eliminated in round 1") as err:
        tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c"], [round1, round2])
    assert err.value.member == "m19"


def test_tie_for_elimination_at_ga_gets_a_repeat_round(r17):
    round1 = ballot(MEMBERS, a=8, b=6, c=3, d=3)
    first = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c", "d"], [round1])
    assert first.decision == Decision.NEXT_ROUND
    assert first.repeat_round is True
    assert first.remaining == ("a", "b", "c", "d")
    assert first.rounds[0].tied == ("c", "d")
    # The repeat round separates them; the ballot goes on without another repeat.
    repeat = ballot(MEMBERS, a=8, b=6, c=4, d=2)
    second = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b", "c", "d"], [round1, repeat])
    assert second.decision == Decision.NEXT_ROUND and second.repeat_round is False
    assert second.remaining == ("a", "b", "c")
    assert second.rounds[1].repeat is True


def test_tie_for_elimination_twice_is_no_decision_with_fallback(r14):
    round1 = ballot(MEMBERS, a=8, b=6, c=3, d=3)
    outcome = tally_host_city(r14, "excom", MEMBERS, MEMBERS, ["a", "b", "c", "d"], [round1, round1])
    assert outcome.decision == Decision.NO_DECISION
    assert outcome.fallback.article == "Art. 12.11"
    assert outcome.explanation[-1].article == "Art. 12.11"
    assert outcome.explanation[-1].text.startswith("No decision: In a General Assembly year")


def test_each_tie_gets_its_own_repeat(r17):
    # Round 1 ties and is repeated; later a fresh tie again gets one repeat round.
    options = ["a", "b", "c", "d"]
    rounds = [ballot(MEMBERS, a=8, b=6, c=3, d=3), ballot(MEMBERS, a=8, b=6, c=4, d=2),
              ballot(MEMBERS, a=9, b=5, c=5)]
    outcome = tally_host_city(r17, "ga", MEMBERS, MEMBERS, options, rounds)
    assert outcome.decision == Decision.NEXT_ROUND and outcome.repeat_round is True
    assert outcome.tied == () and outcome.rounds[-1].tied == ("b", "c")


def test_casting_vote_breaks_an_elimination_tie_at_excom(r17):
    round1 = ballot(MEMBERS, a=8, b=6, c=3, d=3)
    waiting = tally_host_city(r17, "excom", MEMBERS, MEMBERS, ["a", "b", "c", "d"], [round1])
    assert waiting.decision == Decision.AWAITING_CASTING_VOTE
    assert waiting.tied == ("c", "d")
    kept = tally_host_city(r17, "excom", MEMBERS, MEMBERS, ["a", "b", "c", "d"], [round1], casting_votes="d")
    assert kept.decision == Decision.NEXT_ROUND
    assert kept.remaining == ("a", "b", "d")
    assert kept.rounds[0].eliminated == ("c",)
    assert kept.rounds[0].casting_vote == "d"


def test_casting_votes_by_round_number(r17):
    options = ["a", "b", "c", "d"]
    round1 = ballot(MEMBERS, a=8, b=6, c=3, d=3)
    round2 = ballot(MEMBERS, a=10, b=10)
    outcome = tally_host_city(r17, "excom", MEMBERS, MEMBERS, options, [round1, round2],
                              casting_votes={"1": "c", "2": "b"})
    assert outcome.decision == Decision.WINNER and outcome.winners == ("b",)
    assert [r.casting_vote for r in outcome.rounds] == ["c", "b"]


def test_a_tie_without_its_casting_vote_cannot_be_followed_by_another_round(r17):
    round1 = ballot(MEMBERS, a=10, b=10)
    with pytest.raises(CaseError, match="only the Secretary General's casting vote can break"):
        tally_host_city(r17, "excom", MEMBERS, MEMBERS, ["a", "b"], [round1, round1])


def test_casting_vote_must_be_for_a_tied_option_in_a_tied_round(r17):
    tie = ballot(MEMBERS, a=10, b=10)
    with pytest.raises(CaseError, match="not for one of the tied options"):
        tally_host_city(r17, "excom", MEMBERS, MEMBERS, ["a", "b", "c"], [tie], casting_votes="c")
    clear = ballot(MEMBERS, a=11, b=9)
    with pytest.raises(CaseError, match="that round is not tied"):
        tally_host_city(r17, "excom", MEMBERS, MEMBERS, ["a", "b"], [clear], casting_votes="a")


def test_the_last_bid_short_of_half_is_no_decision(r17):
    rounds = [ballot(MEMBERS, a=6, b=5), ballot(MEMBERS, a=9)]
    outcome = tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b"], rounds)
    assert outcome.decision == Decision.NO_DECISION
    assert outcome.rounds[-1].result == "no_decision"
    assert outcome.fallback.article == "Art. 12.11"


def test_no_admissible_bid_goes_straight_to_fallback(r17):
    outcome = tally_host_city(r17, "ga", MEMBERS, MEMBERS, [])
    assert outcome.decision == Decision.NO_DECISION
    assert "no admissible bid" in outcome.explanation[-2].text
    assert outcome.fallback is not None


def test_no_quorum_means_no_decision_yet_not_the_fallback(r14):
    outcome = tally_host_city(r14, "excom", MEMBERS, MEMBERS[:6], ["a", "b"], [ballot(MEMBERS[:6], a=6)])
    assert outcome.decision == Decision.NO_QUORUM
    assert outcome.fallback is None
    assert outcome.quorum.to_json() == {"present": 6, "total": 20, "required": 7, "met": False}


def test_rounds_after_a_decision_are_refused(r17):
    win = ballot(MEMBERS, a=15, b=5)
    with pytest.raises(CaseError, match="already decided"):
        tally_host_city(r17, "ga", MEMBERS, MEMBERS, ["a", "b"], [win, win])


def test_criteria_are_shown_with_the_bids(r14, r17):
    for rs, phrase in ((r14, "Regional balance of past host cities"), (r17, "Regional balance of host cities")):
        outcome = tally_host_city(rs, "excom", MEMBERS, MEMBERS, ["a", "b"])
        assert outcome.explanation[0].article == "Art. 12.9"
        assert phrase in outcome.explanation[0].text


# --- president (Art. 11.5) ---------------------------------------------------------------------


def test_sole_president_candidate_by_motion(r17):
    elected = tally_president(r17, MEMBERS, MEMBERS, ["seoul"], ballot(MEMBERS, yes=10, no=5))
    assert elected.decision == Decision.ELECTED and elected.winners == ("seoul",)
    assert elected.kind == "president"
    rejected = tally_president(r17, MEMBERS, MEMBERS, ["seoul"], ballot(MEMBERS, yes=9, no=5))
    assert rejected.decision == Decision.NO_DECISION
    assert rejected.fallback.article == "Art. 11.5"
    thin = tally_president(r17, MEMBERS, MEMBERS[:4], ["seoul"], ballot(MEMBERS[:4], yes=4))
    assert thin.decision == Decision.NO_QUORUM


def test_several_president_candidates_by_exhaustive_ballot(r14):
    rounds = [ballot(MEMBERS, seoul=9, moscow=6, kigali=5), ballot(MEMBERS, seoul=12, moscow=8)]
    outcome = tally_president(r14, MEMBERS, MEMBERS, ["seoul", "moscow", "kigali"], rounds)
    assert outcome.decision == Decision.ELECTED and outcome.winners == ("seoul",)
    tie = [ballot(MEMBERS, seoul=10, moscow=10)] * 2
    undecided = tally_president(r14, MEMBERS, MEMBERS, ["seoul", "moscow"], tie)
    assert undecided.decision == Decision.NO_DECISION
    assert undecided.fallback.article == "Art. 11.5"


def test_president_is_elected_by_the_ga_and_has_no_casting_vote(r17):
    with pytest.raises(CaseError, match="no casting vote at the General Assembly"):
        tally_president(r17, MEMBERS, MEMBERS, ["seoul", "moscow"], [ballot(MEMBERS, seoul=10, moscow=10)],
                        casting_votes="seoul")


# --- competing regional-office bids (Art. 13.6(a), I-4) -------------------------------------------


def test_regional_office_bid_by_plurality(r14):
    outcome = tally_regional_office_bid(r14, MEMBERS, MEMBERS[:8], ["x", "y", "z"],
                                        ballot(MEMBERS[:8], x=3, y=2, z=1))
    assert outcome.decision == Decision.WINNER and outcome.winners == ("x",)
    assert "largest number of votes" in outcome.explanation[-1].text
    assert outcome.rounds[0].abstain == 2


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
def test_regional_office_bid_tie(rule_set_id):
    from ballots.rules import load_rule_set

    rs = load_rule_set(rule_set_id)
    tie = ballot(MEMBERS[:8], x=3, y=3, z=1)
    first = tally_regional_office_bid(rs, MEMBERS, MEMBERS[:8], ["x", "y", "z"], tie)
    if rule_set_id == "wego-2017":
        assert first.decision == Decision.AWAITING_CASTING_VOTE and first.tied == ("x", "y")
        decided = tally_regional_office_bid(rs, MEMBERS, MEMBERS[:8], ["x", "y", "z"], tie, casting_votes="y")
        assert decided.winners == ("y",)
    else:
        assert first.decision == Decision.NEXT_ROUND and first.repeat_round
        assert first.remaining == ("x", "y", "z")
        twice = tally_regional_office_bid(rs, MEMBERS, MEMBERS[:8], ["x", "y", "z"], [tie, tie])
        assert twice.decision == Decision.NO_DECISION
        assert twice.fallback.article == "Art. 13.6(a)"


def test_regional_office_bid_with_no_votes_at_all_is_a_tie_among_all(r14):
    outcome = tally_regional_office_bid(r14, MEMBERS, MEMBERS[:8], ["x", "y"], {})
    assert outcome.rounds[0].tied == ("x", "y")
    assert any("no votes were cast" in step.text for step in outcome.explanation)


def test_a_single_regional_office_bid_is_a_motion(r17):
    with pytest.raises(CaseError, match="a single bid is approved by ordinary motion"):
        tally_regional_office_bid(r17, MEMBERS, MEMBERS, ["x"], {})
