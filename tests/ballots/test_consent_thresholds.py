"""Written consent (Art. 16.3, STATUTE_RULES.md §3, §4, I-5) through the recount the app and the
verifier run: the thresholds of all EXCOM members under both rule sets, for committees of 13, 14,
20 and 21 members, on both sides of each boundary; unanimity for dissolving a regional office in
writing under wego-2014; the moment and the index of adoption. The expected numbers are computed
here from the statute's fractions, independently of the rule-set files, and written out once."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from ballots.recount import CONSENT_RULES, RecountError, counts_summary, tally_votes
from ballots.rules import load_rule_set
from ballots.tally import (
    Decision,
    tally_dissolve_regional_office_in_writing,
    tally_special_session_in_writing,
    tally_written_consent,
)

SIZES = (13, 14, 20, 21)
SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = "2026-03-16T09:00:00.000000Z"


def at_least(fraction: Fraction, n: int) -> int:
    """The smallest count c with c / n >= fraction ("two thirds or more")."""
    return math.ceil(fraction * n)


def more_than(fraction: Fraction, n: int) -> int:
    """The smallest count c with c / n > fraction ("more than one half")."""
    return math.floor(fraction * n) + 1


# The statute's fractions (STATUTE_RULES.md §3, §4), not the rule-set files.
EXPECTED = {
    ("written-consent", "wego-2014"): lambda n: at_least(Fraction(2, 3), n),
    ("written-consent", "wego-2017"): lambda n: at_least(Fraction(1, 2), n),
    ("dissolve-regional-office-in-writing", "wego-2014"): lambda n: n,  # unanimous written consent
    ("dissolve-regional-office-in-writing", "wego-2017"): lambda n: at_least(Fraction(1, 2), n),  # ordinary (§4)
    ("special-session-in-writing", "wego-2014"): lambda n: n,  # unanimous approval of all members
    ("special-session-in-writing", "wego-2017"): lambda n: more_than(Fraction(1, 2), n),  # simple majority
}
# The same, written out by hand for the four committees (a check on the check).
TABLE = {
    ("written-consent", "wego-2014"): (9, 10, 14, 14),
    ("written-consent", "wego-2017"): (7, 7, 10, 11),
    ("dissolve-regional-office-in-writing", "wego-2014"): (13, 14, 20, 21),
    ("dissolve-regional-office-in-writing", "wego-2017"): (7, 7, 10, 11),
    ("special-session-in-writing", "wego-2014"): (13, 14, 20, 21),
    ("special-session-in-writing", "wego-2017"): (7, 8, 11, 11),
}
CASES = [(rule, rs, n) for (rule, rs) in EXPECTED for n in SIZES]


def members(n: int) -> list[str]:
    return [f"m{i}" for i in range(1, n + 1)]


def definition(rule: str, rule_set: str, n: int) -> dict[str, Any]:
    """A written-consent vote definition as the app writes it (voting/services/consent.py)."""
    ids = members(n)
    return {"v": 1, "vote": "v1", "origin": "wego-voting/vote/v1",
            "meeting": {"key": "consent-1", "title": "Written consent: test", "body": "excom"},
            "agenda_item": {"number": "1", "title": "test", "decision": "written-consent"}, "round": 1,
            "kind": "written-consent", "question": "test", "text": "Resolved.", "text_sha256": "0" * 64,
            "attachments": [], "deadline": DEADLINE, "rule": rule, "options": [], "seats": None, "rule_set": rule_set,
            "roll": {"members": [{"id": m, "name": m} for m in ids], "present": ids, "total": n, "quorum_required": 0},
            "registry": {"seq": 0, "head": "0" * 64}, "opened_at": "2026-03-02T09:00:00.000000Z", "secret": False}


def stamp(i: int) -> str:
    return (SENT + timedelta(hours=i + 1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def answers(n: int, consents: int, *, objections_first: int = 0) -> tuple[dict[str, str], dict[str, str]]:
    """choices and times in log order: some objections, then `consents` consents, the rest object."""
    ids = members(n)
    order = ["object"] * objections_first + ["consent"] * consents
    order += ["object"] * (n - len(order))
    choices = {m: c for m, c in zip(ids, order, strict=True)}
    return choices, {m: stamp(i) for i, m in enumerate(ids)}


def recount(rule: str, rule_set: str, n: int, choices: dict[str, str], times: dict[str, str], *,
            deadline_passed: bool = True) -> Any:
    return tally_votes([definition(rule, rule_set, n)], [choices], answered_at=[times], deadline_passed=deadline_passed)


def test_the_table_is_the_statute():
    for key, needed in TABLE.items():
        assert tuple(EXPECTED[key](n) for n in SIZES) == needed, key


@pytest.mark.parametrize(("rule", "rule_set", "n"), CASES)
def test_threshold_of_all_members_both_sides_of_the_boundary(rule: str, rule_set: str, n: int) -> None:
    need = EXPECTED[(rule, rule_set)](n)
    # Exactly enough consents, after two objections: adopted at the need-th consent (I-5).
    first = min(2, n - need)
    choices, times = answers(n, need, objections_first=first)
    outcome = recount(rule, rule_set, n, choices, times)
    assert outcome.decision == Decision.ADOPTED and outcome.required == need
    adopting = first + need  # 1-based position in time order of the answer that reached the threshold
    assert outcome.adopted_at == stamp(adopting - 1)
    assert f"(answer {adopting} in time order)" in outcome.explanation[-1].text
    # Answers after adoption are late, never counted (the app closes the vote at adoption).
    assert outcome.counts_map["consent"] == need and outcome.counts_map["late"] == n - adopting
    # One consent short: not adopted at the deadline, pending before it.
    choices, times = answers(n, need - 1)
    assert recount(rule, rule_set, n, choices, times).decision == Decision.NOT_ADOPTED
    assert recount(rule, rule_set, n, choices, times, deadline_passed=False).decision == Decision.PENDING


@pytest.mark.parametrize(("rule", "rule_set", "n"), CASES)
def test_the_recount_is_the_tally_of_the_rule(rule: str, rule_set: str, n: int) -> None:
    """The recount's mapping of a definition onto a case gives what the tally of the rule gives."""
    rs = load_rule_set(rule_set)
    tally = {"written-consent": tally_written_consent,
             "dissolve-regional-office-in-writing": tally_dissolve_regional_office_in_writing,
             "special-session-in-writing": tally_special_session_in_writing}[rule]
    for consents in (EXPECTED[(rule, rule_set)](n) - 1, EXPECTED[(rule, rule_set)](n)):
        choices, times = answers(n, consents)
        listed = [{"member": m, "answer": c, "at": times[m]} for m, c in choices.items()]
        direct = tally(rs, members(n), listed, deadline_passed=True, deadline=DEADLINE)
        assert recount(rule, rule_set, n, choices, times) == direct
        assert CONSENT_RULES[rule] == direct.kind


@pytest.mark.parametrize("n", SIZES)
def test_unanimity_dissolving_a_regional_office_in_writing_under_wego_2014(n: int) -> None:
    rule = "dissolve-regional-office-in-writing"
    ids = members(n)
    all_but_one = {m: "consent" for m in ids[:-1]}
    times = {m: stamp(i) for i, m in enumerate(ids)}
    for last in ("abstain", "object"):
        outcome = recount(rule, "wego-2014", n, {**all_but_one, ids[-1]: last}, times)
        assert outcome.decision == Decision.NOT_ADOPTED, last
    assert recount(rule, "wego-2014", n, all_but_one, times).decision == Decision.NOT_ADOPTED  # one never answered
    outcome = recount(rule, "wego-2014", n, {m: "consent" for m in ids}, times)
    assert outcome.decision == Decision.ADOPTED and outcome.adopted_at == stamp(n - 1)
    assert outcome.explanation[0].article == "Art. 13.6(b)"
    # Under wego-2017 dissolving in writing is ordinary written consent: half of all members.
    half = at_least(Fraction(1, 2), n)
    assert recount(rule, "wego-2017", n, {m: "consent" for m in ids[:half]}, times).decision == Decision.ADOPTED


def test_abstentions_and_silence_count_against_adoption() -> None:
    """The base is all members, not those who answered (§4): 13 members, wego-2017, 6 consents of 6 answers."""
    choices = {m: "consent" for m in members(13)[:6]}
    times = {m: stamp(i) for i, m in enumerate(members(13))}
    assert recount("written-consent", "wego-2017", 13, choices, times).decision == Decision.NOT_ADOPTED
    choices["m7"] = "abstain"
    assert recount("written-consent", "wego-2017", 13, choices, times).decision == Decision.NOT_ADOPTED
    assert counts_summary(definition("written-consent", "wego-2017", 13), choices) == \
        {"consent": 6, "object": 0, "abstain": 1, "not_answered": 6}


def test_a_written_vote_needs_its_rule_its_roll_of_all_members_and_each_answer_time() -> None:
    d = definition("written-consent", "wego-2014", 13)
    choices, times = answers(13, 9)
    with pytest.raises(RecountError, match="time each was received"):
        tally_votes([d], [choices])
    with pytest.raises(RecountError, match="no time of receipt"):
        tally_votes([d], [choices], answered_at=[{"m1": stamp(0)}])
    bad = {**d, "rule": "by-fax"}
    with pytest.raises(RecountError, match="rule 'by-fax' is not one of"):
        tally_votes([bad], [choices], answered_at=[times])
    bad = {**d, "roll": {**d["roll"], "present": members(13)[:7]}}
    with pytest.raises(RecountError, match="every member as present"):
        tally_votes([bad], [choices], answered_at=[times])
    with pytest.raises(RecountError, match="never by a show of hands"):
        tally_votes([d], [{}], show_of_hands=[{"consent": 9}], answered_at=[times])
