"""Properties of the tally that must hold for any roll, ballots and rule set (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.rules import load_rule_set
from ballots.tally import (
    Decision,
    Outcome,
    tally_case,
    tally_dissolve_regional_office,
    tally_excom_election,
    tally_host_city,
    tally_motion,
    tally_president,
    tally_regional_office_bid,
    tally_special_session,
    tally_written_consent,
)

RULE_SETS = st.sampled_from(["wego-2014", "wego-2017"]).map(load_rule_set)
BODIES = st.sampled_from(["ga", "excom"])
SETTINGS = settings(max_examples=150, deadline=None)
DONE = {Decision.WINNER, Decision.ELECTED, Decision.NO_DECISION}


def ids(n: int) -> list[str]:
    return [f"m{i:02d}" for i in range(n)]


def cites_articles(outcome: Outcome) -> bool:
    """At least one step, every step with an article, and one citing the statute itself."""
    steps = outcome.explanation
    return bool(steps) and all(s.article and s.text for s in steps) and any(
        s.article.startswith("Art. ") for s in steps)


@st.composite
def yes_no_votes(draw, max_members: int = 40):
    """A roll, the members present and their ballots (some present members do not vote)."""
    n = draw(st.integers(1, max_members))
    members = ids(n)
    present = [m for m in members if draw(st.booleans())] or members[:1]
    ballots = {}
    for m in present:
        choice = draw(st.sampled_from(["yes", "no", "abstain", None]))
        if choice is not None:
            ballots[m] = choice
    return members, present, ballots


def more_yes(present: list[str], ballots: dict[str, str], data) -> dict[str, str] | None:
    """The same ballots with one present member who was not voting yes now voting yes."""
    others = [m for m in present if ballots.get(m) != "yes"]
    if not others:
        return None
    return {**ballots, data.draw(st.sampled_from(others)): "yes"}


YES_NO_TALLIES = [
    lambda rs, body, m, p, b: tally_motion(rs, body, m, p, b),
    lambda rs, body, m, p, b: tally_dissolve_regional_office(rs, m, p, b),
    lambda rs, body, m, p, b: tally_special_session(rs, m, p, b),
]


@SETTINGS
@given(rs=RULE_SETS, body=BODIES, case=yes_no_votes(), which=st.integers(0, 2), data=st.data())
def test_one_more_yes_never_turns_adopted_into_not_adopted(rs, body, case, which, data):
    members, present, ballots = case
    tally = YES_NO_TALLIES[which]
    before = tally(rs, body, members, present, ballots)
    assert cites_articles(before)
    after_ballots = more_yes(present, ballots, data)
    if after_ballots is None:
        return
    after = tally(rs, body, members, present, after_ballots)
    if before.decision == Decision.ADOPTED:
        assert after.decision == Decision.ADOPTED


@SETTINGS
@given(rs=RULE_SETS, n=st.integers(1, 40), data=st.data())
def test_one_more_consent_never_undoes_adoption(rs, n, data):
    members = ids(n)
    answers = {m: a for m in members
               if (a := data.draw(st.sampled_from(["consent", "object", "abstain", None]))) is not None}
    passed = data.draw(st.booleans())
    before = tally_written_consent(rs, members, answers, deadline_passed=passed)
    assert cites_articles(before)
    others = [m for m in members if answers.get(m) != "consent"]
    if not others:
        return
    after = tally_written_consent(rs, members, {**answers, data.draw(st.sampled_from(others)): "consent"},
                                  deadline_passed=passed)
    if before.decision == Decision.ADOPTED:
        assert after.decision == Decision.ADOPTED


def reordered(mapping: dict, data) -> dict:
    keys = data.draw(st.permutations(list(mapping)))
    return {k: mapping[k] for k in keys}


def same(a: Outcome, b: Outcome) -> bool:
    return a == b and json.dumps(a.to_json(), sort_keys=True) == json.dumps(b.to_json(), sort_keys=True)


@SETTINGS
@given(rs=RULE_SETS, body=BODIES, case=yes_no_votes(), data=st.data())
def test_motion_outcome_does_not_depend_on_ballot_order(rs, body, case, data):
    members, present, ballots = case
    first = tally_motion(rs, body, members, present, ballots)
    again = tally_motion(rs, body, list(reversed(members)), data.draw(st.permutations(present)),
                         reordered(ballots, data))
    assert same(first, again)


@st.composite
def single_choice_rounds(draw, options: list[str], present: list[str], rounds: int):
    return [{m: draw(st.sampled_from([*options, "abstain"])) for m in present
             if draw(st.integers(0, 9)) > 0} for _ in range(rounds)]


@SETTINGS
@given(rs=RULE_SETS, n=st.integers(1, 25), k=st.integers(1, 5), data=st.data())
def test_host_city_round_does_not_depend_on_ballot_order(rs, n, k, data):
    members = ids(n)
    options = [f"bid{i}" for i in range(k)]
    ballots = data.draw(single_choice_rounds(options, members, 1))
    body = rs.host_city.selected_by[0]
    first = tally_host_city(rs, body, members, members, options, ballots)
    again = tally_host_city(rs, body, members, members, options, [reordered(ballots[0], data)])
    assert same(first, again)
    assert cites_articles(first)


@SETTINGS
@given(rs=RULE_SETS, n=st.integers(1, 30), k=st.integers(1, 8), seats=st.integers(1, 5), data=st.data())
def test_block_vote_does_not_depend_on_ballot_order_and_respects_its_rules(rs, n, k, seats, data):
    members = ids(n)
    candidates = [f"c{i}" for i in range(k)]
    if k <= seats:
        ballots = {m: {c: data.draw(st.sampled_from(["yes", "no", "abstain"])) for c in candidates}
                   for m in members}
    else:
        ballots = {m: data.draw(st.lists(st.sampled_from(candidates), max_size=seats, unique=True))
                   for m in members}
    first = tally_excom_election(rs, members, members, candidates, seats, [ballots])
    again = tally_excom_election(rs, members, members, candidates, seats, [reordered(ballots, data)])
    assert same(first, again)
    assert cites_articles(first)
    assert len(first.winners) <= seats
    counts = dict(first.rounds[0].counts)
    for winner in first.winners:
        assert counts[winner] >= first.required      # round 1 is the only round here
    if first.decision == Decision.NEXT_ROUND:
        assert first.tied and first.runoff_places < len(first.tied)


@SETTINGS
@given(rs=RULE_SETS, n=st.integers(1, 20), data=st.data())
def test_written_consent_does_not_depend_on_answer_order(rs, n, data):
    members = ids(n)
    answers = [{"member": m, "answer": data.draw(st.sampled_from(["consent", "object", "abstain"])),
                "at": f"2017-06-20T10:{data.draw(st.integers(0, 5)):02d}:00+09:00"}
               for m in members if data.draw(st.booleans())]
    passed = data.draw(st.booleans())
    first = tally_written_consent(rs, members, answers, deadline_passed=passed)
    again = tally_written_consent(rs, members, data.draw(st.permutations(answers)), deadline_passed=passed)
    assert same(first, again)


@SETTINGS
@given(rs=RULE_SETS, n=st.integers(3, 25), k=st.integers(1, 6), kind=st.sampled_from(["host", "president", "bid"]),
       data=st.data())
def test_a_ballot_driven_by_the_chair_ends_within_its_bound(rs, n, k, kind, data):
    """Each round either ends the ballot, eliminates, or ties; a tie is broken by the casting vote
    or repeated at most `repeat_rounds` times. So there are at most k - 1 eliminating rounds, one
    final round (the last bid must still reach the threshold), and before each of those at most
    `repeat_rounds` tied rounds: k * (1 + repeat_rounds) rounds in all."""
    members = ids(n)
    options = [f"o{i}" for i in range(k)]
    if kind == "host":
        body = data.draw(st.sampled_from(rs.host_city.selected_by))
        repeats = rs.host_city.repeat_rounds

        def run(rounds, casting):
            return tally_host_city(rs, body, members, members, options, rounds, casting_votes=casting)
    elif kind == "president":
        if k == 1:
            return
        body, repeats = rs.president.body, rs.president.repeat_rounds

        def run(rounds, casting):
            return tally_president(rs, members, members, options, rounds, casting_votes=casting)
    else:
        if k == 1:
            return
        body, repeats = rs.regional_office_bid.body, rs.regional_office_bid.repeat_rounds

        def run(rounds, casting):
            return tally_regional_office_bid(rs, members, members, options, rounds, casting_votes=casting)

    rounds: list[dict[str, str]] = []
    casting: dict[str, str] = {}
    bound = k * (1 + repeats)
    outcome = run(rounds, casting or None)
    while outcome.decision not in DONE:
        assert cites_articles(outcome)
        if outcome.decision == Decision.AWAITING_CASTING_VOTE:
            assert rs.casting_vote_allowed(body)
            casting[str(len(rounds))] = data.draw(st.sampled_from(outcome.tied))
        else:
            assert outcome.decision == Decision.NEXT_ROUND
            rounds.append(data.draw(single_choice_rounds(list(outcome.remaining), members, 1))[0])
        assert len(rounds) <= bound
        outcome = run(rounds, casting or None)
    assert cites_articles(outcome)
    eliminating = [r for r in outcome.rounds if r.result == "eliminated"]
    assert len(eliminating) <= k - 1
    assert len(outcome.rounds) <= bound
    if outcome.decision == Decision.NO_DECISION:
        assert outcome.fallback is not None and outcome.fallback.text


@SETTINGS
@given(rs_id=st.sampled_from(["wego-2014", "wego-2017"]), case=yes_no_votes(20),
       kind=st.sampled_from(["motion", "special-session", "dissolve-regional-office"]), body=BODIES)
def test_every_case_outcome_cites_an_article_and_serializes_deterministically(rs_id, case, kind, body):
    members, present, ballots = case
    payload = {"rule_set": rs_id, "decision": kind, "members": members, "present": present, "ballots": ballots}
    if kind == "motion":
        payload["body"] = body
    outcome = tally_case(payload)
    assert cites_articles(outcome)
    as_json = outcome.to_json()
    assert json.loads(json.dumps(as_json)) == as_json
    assert set(as_json) >= {"decision", "quorum", "counts", "winners", "remaining", "tied", "explanation"}
