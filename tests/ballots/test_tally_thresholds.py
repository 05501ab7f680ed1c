"""Both sides of every threshold, for bodies of 1 to 40 members, under both rule sets.

The expected boundary is computed here by search from the statute's fraction (the smallest k
with k * d >= n * n_num, or > for "more than"), not with the engine's formula, so a wrong
fraction in a rule-set file or a wrong rounding in the engine fails here.
"""

from __future__ import annotations

import pytest

from ballots.rules import load_rule_set, quorum_required
from ballots.tally import (
    Decision,
    tally_dissolve_regional_office,
    tally_dissolve_regional_office_in_writing,
    tally_excom_election,
    tally_host_city,
    tally_motion,
    tally_special_session,
    tally_written_consent,
)

SIZES = range(1, 41)

# The statute's fractions, read from the handbook (STATUTE_RULES.md §2-§5), not from the files.
QUORUM = {"wego-2014": (1, 3), "wego-2017": (1, 4)}
CONSENT = {"wego-2014": (2, 3), "wego-2017": (1, 2)}
SPECIAL = {"wego-2014": ((1, 1), False), "wego-2017": ((1, 2), True)}  # (fraction, strictly more)
DISSOLVE_2014 = {"quorum": (1, 3), "concurrence": (2, 3)}


def smallest(n: int, fraction: tuple[int, int], strict: bool = False) -> int:
    """The smallest k in 0..n with k/n reaching the fraction, found by search."""
    num, den = fraction
    for k in range(n + 1):
        if (k * den > n * num) if strict else (k * den >= n * num):
            return k
    raise AssertionError("no count reaches the threshold")


def ids(n: int) -> list[str]:
    return [f"m{i:02d}" for i in range(n)]


def both_sides(k: int) -> list[tuple[int, bool]]:
    """The boundary count (reaches) and one below it (does not), where one below exists."""
    return [(k, True)] + ([(k - 1, False)] if k > 0 else [])


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("body", ["ga", "excom"])
@pytest.mark.parametrize("n", SIZES)
def test_quorum_both_sides(rule_set_id, body, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, QUORUM[rule_set_id])
    assert quorum_required(rs, body, n) == k
    members = ids(n)
    for present, met in both_sides(k):
        # Everyone present votes yes, so only attendance can stop the motion.
        ballots = {m: "yes" for m in members[:present]}
        outcome = tally_motion(rs, body, members, members[:present], ballots)
        assert outcome.quorum.met is met, (present, n)
        assert outcome.quorum.required == k
        assert outcome.decision == (Decision.ADOPTED if met else Decision.NOT_ADOPTED)


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_concurrence_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, (1, 2))
    members = ids(n)
    for yes, adopted in both_sides(k):
        # The rest abstain: abstentions count against adoption (the base is members present).
        ballots = {m: ("yes" if i < yes else "abstain") for i, m in enumerate(members)}
        outcome = tally_motion(rs, "excom", members, members, ballots)
        assert outcome.required == k
        assert outcome.decision == (Decision.ADOPTED if adopted else Decision.NOT_ADOPTED), (yes, n)


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_written_consent_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, CONSENT[rule_set_id])
    members = ids(n)
    for consents, adopted in both_sides(k):
        answers = {m: ("consent" if i < consents else "object") for i, m in enumerate(members)}
        outcome = tally_written_consent(rs, members, answers, deadline_passed=True)
        assert outcome.required == k
        assert outcome.decision == (Decision.ADOPTED if adopted else Decision.NOT_ADOPTED), (consents, n)


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_special_session_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    fraction, strict = SPECIAL[rule_set_id]
    k = smallest(n, fraction, strict)
    members = ids(n)
    for yes, adopted in both_sides(k):
        ballots = {m: ("yes" if i < yes else "no") for i, m in enumerate(members)}
        outcome = tally_special_session(rs, members, members, ballots)
        assert outcome.required == k
        assert outcome.decision == (Decision.ADOPTED if adopted else Decision.NOT_ADOPTED), (yes, n)


@pytest.mark.parametrize("n", SIZES)
def test_dissolve_regional_office_2014_both_sides(n):
    rs = load_rule_set("wego-2014")
    members = ids(n)
    q = smallest(n, DISSOLVE_2014["quorum"])
    for present, met in both_sides(q):
        outcome = tally_dissolve_regional_office(rs, members, members[:present],
                                                 {m: "yes" for m in members[:present]})
        assert outcome.quorum.met is met
    k = smallest(n, DISSOLVE_2014["concurrence"])
    for yes, adopted in both_sides(k):
        ballots = {m: ("yes" if i < yes else "no") for i, m in enumerate(members)}
        outcome = tally_dissolve_regional_office(rs, members, members, ballots)
        assert outcome.decision == (Decision.ADOPTED if adopted else Decision.NOT_ADOPTED), (yes, n)


@pytest.mark.parametrize("n", SIZES)
def test_dissolve_regional_office_in_writing_2014_is_unanimous(n):
    rs = load_rule_set("wego-2014")
    members = ids(n)
    for consents, adopted in both_sides(n):
        answers = {m: ("consent" if i < consents else "object") for i, m in enumerate(members)}
        outcome = tally_dissolve_regional_office_in_writing(rs, members, answers, deadline_passed=True)
        assert outcome.decision == (Decision.ADOPTED if adopted else Decision.NOT_ADOPTED)


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_host_city_win_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, (1, 2))
    members = ids(n)
    for votes, wins in both_sides(k):
        # One bid gets `votes`, the other none, the rest abstain: only the half threshold decides.
        ballots = {m: ("a" if i < votes else "abstain") for i, m in enumerate(members)}
        outcome = tally_host_city(rs, "excom", members, members, ["a", "b"], [ballots])
        if wins:
            assert outcome.decision == Decision.WINNER and outcome.winners == ("a",), (votes, n)
        else:
            assert outcome.decision != Decision.WINNER, (votes, n)
            assert outcome.rounds[0].result in ("eliminated", "tie")


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_excom_block_vote_threshold_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, (1, 2))
    members = ids(n)
    for votes, elected in both_sides(k):
        ballots = {m: (["a"] if i < votes else []) for i, m in enumerate(members)}
        outcome = tally_excom_election(rs, members, members, ["a", "b"], 1, [ballots])
        assert outcome.winners == (("a",) if elected else ()), (votes, n)
        assert outcome.required == k


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
@pytest.mark.parametrize("n", SIZES)
def test_excom_approval_threshold_both_sides(rule_set_id, n):
    rs = load_rule_set(rule_set_id)
    k = smallest(n, (1, 2))
    members = ids(n)
    for yes, elected in both_sides(k):
        ballots = {m: {"a": "yes" if i < yes else "no"} for i, m in enumerate(members)}
        outcome = tally_excom_election(rs, members, members, ["a"], 1, [ballots])
        assert outcome.winners == (("a",) if elected else ()), (yes, n)
