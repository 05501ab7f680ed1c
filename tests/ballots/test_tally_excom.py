"""EXCOM elections at the GA: approval, block vote, run-offs, per-region cap (Art. 12.1, 12.4)."""

from __future__ import annotations

import pytest

from ballots.tally import CaseError, Decision, tally_excom_election


def ids(n: int) -> list[str]:
    return [f"m{i:02d}" for i in range(n)]


GA = ids(10)


def block(**votes: int) -> dict[str, list[str]]:
    """Block ballots giving candidate x exactly votes[x], spread so no member names more than needed.

    Each candidate's votes go to the members with the fewest names so far, which keeps every
    ballot within ceil(total votes / members) names.
    """
    ballots: dict[str, list[str]] = {m: [] for m in GA}
    for candidate, n in votes.items():
        for member in sorted(GA, key=lambda m: (len(ballots[m]), m))[:n]:
            ballots[member].append(candidate)
    return ballots


def test_approval_when_candidates_do_not_exceed_seats(r17):
    ballots = {m: {"a": "yes", "b": "yes" if i < 5 else "no", "c": "yes" if i < 4 else "abstain"}
               for i, m in enumerate(GA)}
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c"], 3, [ballots])
    assert outcome.decision == Decision.ELECTED
    assert outcome.winners == ("a", "b")
    assert outcome.unfilled == 1
    assert outcome.counts_map == {"a": 10, "b": 5, "c": 4}
    assert "candidates ≤ seats" in outcome.explanation[2].text


def test_approval_ballot_may_leave_candidates_out(r17):
    ballots = {m: ({"a": "yes"} if i < 5 else {}) for i, m in enumerate(GA)}
    outcome = tally_excom_election(r17, GA, GA, ["a", "b"], 2, [ballots])
    assert outcome.winners == ("a",)


def test_block_vote_top_seats_with_threshold(r14):
    outcome = tally_excom_election(r14, GA, GA, ["a", "b", "c", "d"], 2, [block(a=8, b=6, c=5, d=1)])
    assert outcome.decision == Decision.ELECTED
    assert outcome.winners == ("a", "b")
    assert outcome.unfilled == 0
    assert outcome.rounds[0].result == "elected"


def test_block_vote_leaves_seats_unfilled_below_threshold(r17):
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c", "d"], 3, [block(a=8, b=4, c=3, d=1)])
    assert outcome.winners == ("a",)
    assert outcome.unfilled == 2
    assert "2 left unfilled" in outcome.explanation[-1].text


def test_tie_for_last_seat_needs_a_runoff(r17):
    first = block(a=7, b=5, c=5, d=1)
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c", "d"], 2, [first])
    assert outcome.decision == Decision.NEXT_ROUND
    assert outcome.winners == ("a",)
    assert outcome.remaining == ("b", "c") and outcome.tied == ("b", "c")
    assert outcome.runoff_places == 1
    runoff = {"m00": ["c"], "m01": ["c"], "m02": ["b"]}
    done = tally_excom_election(r17, GA, GA, ["a", "b", "c", "d"], 2, [first, runoff])
    assert done.decision == Decision.ELECTED
    assert done.winners == ("a", "c")
    assert [r.result for r in done.rounds] == ["tie", "elected"]
    assert done.counts_map == {"b": 1, "c": 2}


def test_runoff_tied_again_leaves_the_seat_unfilled(r17):
    first = block(a=7, b=5, c=5)
    runoff = {"m00": ["c"], "m01": ["b"]}
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first, runoff])
    assert outcome.decision == Decision.ELECTED
    assert outcome.winners == ("a",)
    assert outcome.unfilled == 1
    assert outcome.tied == ("b", "c")
    assert "tied again" in outcome.explanation[-1].text
    with pytest.raises(CaseError, match="no further run-off"):
        tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first, runoff, runoff])


def test_runoff_ballot_is_limited_to_the_tied_and_the_places(r17):
    first = block(a=7, b=5, c=5)
    with pytest.raises(CaseError, match="'a', who is not a candidate in this round"):
        tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first, {"m00": ["a"]}])
    with pytest.raises(CaseError, match="at most 1"):
        tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first, {"m00": ["b", "c"]}])


def test_region_cap_skips_a_candidate_whose_region_is_full(r17):
    regions = {"a": "Asia", "b": "Asia", "c": "Africa", "d": "Europe"}
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c", "d"], 2, [block(a=8, b=7, c=5, d=0)],
                                   regions=regions, region_cap=1)
    assert outcome.winners == ("a", "c")
    assert dict(outcome.seats_per_region) == {"Africa": 1, "Asia": 1, "Europe": 0}
    assert any("b (7) is skipped: region Asia already has 1 seat (cap)" in s.text for s in outcome.explanation)


def test_region_cap_tie_inside_a_region_goes_to_runoff(r17):
    regions = {"a": "Asia", "b": "Asia", "c": "Africa"}
    first = block(a=7, b=7, c=6)
    outcome = tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first], regions=regions, region_cap=1)
    assert outcome.decision == Decision.NEXT_ROUND
    assert outcome.tied == ("a", "b") and outcome.runoff_places == 1
    done = tally_excom_election(r17, GA, GA, ["a", "b", "c"], 2, [first, {"m00": ["b"]}], regions=regions,
                                region_cap=1)
    assert done.winners == ("b", "c")
    assert dict(done.seats_per_region) == {"Africa": 1, "Asia": 1}


def test_region_cap_from_the_rule_set(variant):
    rs = variant("wego-2017", "capped", {"runoff_rounds = 1": "runoff_rounds = 1\nregion_cap = 1"})
    assert rs.excom_election.region_cap == 1
    regions = {"a": "Asia", "b": "Asia", "c": "Africa"}
    outcome = tally_excom_election(rs, GA, GA, ["a", "b", "c"], 2, [block(a=8, b=7, c=5)], regions=regions)
    assert outcome.winners == ("a", "c")
    with pytest.raises(CaseError, match="needs regions"):
        tally_excom_election(rs, GA, GA, ["a", "b", "c"], 2, [block(a=8, b=7, c=5)])


def test_seats_per_region_reported_without_a_cap(r14):
    regions = {"a": "Asia", "b": "Asia", "c": "Africa"}
    outcome = tally_excom_election(r14, GA, GA, ["a", "b", "c"], 2, [block(a=8, b=7, c=5)], regions=regions)
    assert outcome.winners == ("a", "b")
    assert outcome.to_json()["seats_per_region"] == {"Africa": 0, "Asia": 2}


def test_no_runoff_allowed_leaves_tie_unfilled(variant):
    rs = variant("wego-2017", "no-runoff", {"runoff_rounds = 1": "runoff_rounds = 0"})
    outcome = tally_excom_election(rs, GA, GA, ["a", "b", "c"], 2, [block(a=7, b=5, c=5)])
    assert outcome.decision == Decision.ELECTED and outcome.unfilled == 1 and outcome.tied == ("b", "c")
    assert "No run-off is allowed" in outcome.explanation[-1].text


def test_no_candidates_no_quorum_and_no_rounds(r17):
    assert tally_excom_election(r17, GA, GA, [], 2).decision == Decision.NO_DECISION
    thin = tally_excom_election(r17, GA, GA[:2], ["a"], 2, [{"m00": {"a": "yes"}}])
    assert thin.decision == Decision.NO_QUORUM
    waiting = tally_excom_election(r17, GA, GA, ["a", "b"], 1)
    assert waiting.decision == Decision.NEXT_ROUND and waiting.remaining == ("a", "b")


@pytest.mark.parametrize("seats", [0, 21, True, "2"])
def test_seats_must_fit_the_excom(r17, seats):
    with pytest.raises(CaseError, match="seats must be a whole number from 1 to 20"):
        tally_excom_election(r17, GA, GA, ["a"], seats, [])


def test_wego_2017_executive_vp_may_be_a_21st_member(r14, r17):
    assert r17.excom.max_members == 21 and r17.excom.executive_vp_extra_seat
    assert r14.excom.max_members == 20 and not r14.excom.executive_vp_extra_seat
