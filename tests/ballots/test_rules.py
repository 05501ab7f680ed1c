"""Rule sets as data: the shipped files, the loader's refusals and a third organization's file."""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.rules import (
    RULESETS_DIR,
    RuleSet,
    RuleSetError,
    Threshold,
    available_rule_sets,
    concurrence_required,
    fraction_words,
    load_rule_set,
    load_rule_set_file,
    quorum_required,
)
from ballots.tally import Decision, tally_host_city, tally_motion, tally_written_consent


def ids(n: int) -> list[str]:
    return [f"m{i:02d}" for i in range(n)]


def text_of(rule_set_id: str) -> str:
    return (RULESETS_DIR / f"{rule_set_id}.toml").read_text(encoding="utf-8")


# --- the shipped rule sets -------------------------------------------------------------------------


def test_both_rule_sets_ship_with_the_package():
    assert {"wego-2014", "wego-2017"} <= set(available_rule_sets())


@pytest.mark.parametrize(("field", "expected_2014", "expected_2017"), [
    (lambda r: r.quorum("ga").fraction, Fraction(1, 3), Fraction(1, 4)),
    (lambda r: r.quorum("excom").fraction, Fraction(1, 3), Fraction(1, 4)),
    (lambda r: (r.motion.fraction, r.motion.strict, r.motion.of), (Fraction(1, 2), False, "present"),
     (Fraction(1, 2), False, "present")),
    (lambda r: r.written_consent.consent.fraction, Fraction(2, 3), Fraction(1, 2)),
    (lambda r: (r.special_session.approval.fraction, r.special_session.approval.strict,
                r.special_session.approval.of), (Fraction(1), False, "all_members"),
     (Fraction(1, 2), True, "all_members")),
    (lambda r: (r.dissolve_regional_office.quorum.fraction, r.dissolve_regional_office.concurrence.fraction,
                r.dissolve_regional_office.in_writing.fraction),
     (Fraction(1, 3), Fraction(2, 3), Fraction(1)), (Fraction(1, 4), Fraction(1, 2), Fraction(1, 2))),
    (lambda r: r.dissolve_regional_office.is_ordinary_motion, False, True),
    (lambda r: r.casting_vote.bodies, frozenset(), frozenset({"excom"})),
    (lambda r: (r.casting_vote_allowed("ga"), r.casting_vote_allowed("excom")), (False, False), (False, True)),
    (lambda r: (r.host_city.selected_by, r.host_city.confirmed_by), (("excom",), "ga"), (("ga", "excom"), "none")),
    (lambda r: r.host_city_fallback.president_city_hosts, "general_assembly", "next_excom_meeting"),
    (lambda r: r.host_city_fallback.article, "Art. 12.11", "Art. 12.11"),
    (lambda r: (r.excom.seats, r.excom.executive_vp_extra_seat), (20, False), (20, True)),
    (lambda r: r.max_voting_representatives, 2, 2),
    (lambda r: (r.notice_months("excom_candidacy"), r.notice_months("president_candidacy"),
                r.notice_months("host_city_bid")), (1, 1, 1), (2, 2, 1)),
    (lambda r: (r.ga_quorum_base, r.motion_tie), ("full_members", "literal"), ("full_members", "literal")),
    (lambda r: "corporate" in r.members.non_voting_categories, False, True),
    (lambda r: r.members.voting_categories, ("full",), ("full",)),
])
def test_shipped_values(field, expected_2014, expected_2017):
    assert field(load_rule_set("wego-2014")) == expected_2014
    assert field(load_rule_set("wego-2017")) == expected_2017


def thresholds(rs: RuleSet) -> list[Threshold]:
    found = []
    for f in dataclasses.fields(rs):
        value = getattr(rs, f.name)
        if isinstance(value, Threshold):
            found.append(value)
        elif dataclasses.is_dataclass(value):
            found.extend(v for v in (getattr(value, g.name) for g in dataclasses.fields(value))
                         if isinstance(v, Threshold))
    return found


@pytest.mark.parametrize("rule_set_id", ["wego-2014", "wego-2017"])
def test_every_rule_cites_an_article(rule_set_id):
    rs = load_rule_set(rule_set_id)
    found = thresholds(rs)
    assert len(found) == 11
    assert all(t.article.startswith("Art. ") for t in found)
    tables = [getattr(rs, f.name) for f in dataclasses.fields(rs)]
    for table in tables:
        if dataclasses.is_dataclass(table):
            assert table.article, table
    assert all(d.article.startswith("Art. ") for d in rs.deadlines.values())


def test_ordinary_references_cite_both_articles(r17):
    d = r17.dissolve_regional_office
    assert (d.quorum.article, d.concurrence.article, d.in_writing.article) == (
        "Art. 13.6(b), 16.1", "Art. 13.6(b), 16.1", "Art. 13.6(b), 16.3")


def test_the_sha256_identifies_the_file(r14, r17):
    assert r14.sha256 != r17.sha256 and len(r17.sha256) == 64


def test_load_by_name_path_or_directory(tmp_path):
    by_name = load_rule_set("wego-2017")
    assert load_rule_set(RULESETS_DIR / "wego-2017.toml") == by_name
    assert load_rule_set(str(RULESETS_DIR / "wego-2017.toml")) == by_name
    (tmp_path / "wego-2017.toml").write_text(text_of("wego-2017"), encoding="utf-8")
    assert load_rule_set("wego-2017", tmp_path).quorum("ga") == by_name.quorum("ga")
    with pytest.raises(RuleSetError, match="no rule set 'wego-2099'.*available: wego-2014, wego-2017"):
        load_rule_set("wego-2099")


def test_an_edited_file_is_read_again(tmp_path):
    path = tmp_path / "edited.toml"
    path.write_text(text_of("wego-2017").replace('id = "wego-2017"', 'id = "edited"'), encoding="utf-8")
    assert load_rule_set(path).quorum("ga").fraction == Fraction(1, 4)
    path.write_text(path.read_text(encoding="utf-8").replace('ga = "1/4"', 'ga = "1/5"'), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_rule_set(path).quorum("ga").fraction == Fraction(1, 5)


def test_helpers(r14, r17):
    assert quorum_required(r14, "ga", 120) == 40
    assert quorum_required(r17, "ga", 120) == 30
    assert quorum_required(r17, "excom", 13) == 4
    assert quorum_required(r17, "excom", 0) == 0
    assert concurrence_required(r17, 11) == 6
    with pytest.raises(ValueError, match="negative"):
        quorum_required(r17, "ga", -1)
    with pytest.raises(ValueError, match="unknown body"):
        quorum_required(r17, "board", 3)
    with pytest.raises(ValueError, match="unknown notice kind"):
        r17.deadline("vice_president")


@pytest.mark.parametrize(("value", "words"), [
    (Fraction(1, 2), "one half"), (Fraction(1, 3), "one third"), (Fraction(2, 3), "two thirds"),
    (Fraction(1, 4), "one fourth"), (Fraction(3, 4), "three fourths"), (Fraction(1), "all"),
    (Fraction(7, 12), "7/12"),
])
def test_fraction_words(value, words):
    assert fraction_words(value) == words


def test_threshold_words_and_arithmetic():
    strict = Threshold(Fraction(1, 2), True, "all_members", "Art. 10.8")
    assert strict.words == "more than one half"
    assert strict.arithmetic(8, 14) == "8 × 2 = 16 > 14"
    assert strict.arithmetic(7, 14) == "7 × 2 = 14 not > 14"
    everyone = Threshold(Fraction(1), False, "all_members", "Art. 10.8")
    assert everyone.words == "all" and everyone.arithmetic(13, 14) == "13 < 14"


@given(num=st.integers(1, 12), den=st.integers(1, 12), strict=st.booleans(), base=st.integers(0, 500))
def test_required_is_the_smallest_count_that_meets(num, den, strict, base):
    if num > den or (strict and num == den):
        return
    t = Threshold(Fraction(num, den), strict, "present", "Art. X")
    k = t.required(base)
    assert t.met(k, base)
    assert k == 0 or not t.met(k - 1, base)


# --- refusals ---------------------------------------------------------------------------------------


def write_variant(tmp_path: Path, replacements: dict[str, str], name: str = "broken") -> Path:
    text = text_of("wego-2017").replace('id = "wego-2017"', f'id = "{name}"')
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("replacements", "message"), [
    ({'ga = "1/4"': 'ga = "1/4"\ngaa = "1/4"'},
     r"^broken\.toml: \[quorum\] gaa: unknown key \(known keys here: article, excom, ga\)"),
    ({'title = "': 'colour = "blue"\ntitle = "'}, r"^broken\.toml: colour: unknown key"),
    ({"[deadlines.host_city_bid]": "[deadlines.vice_president]\narticle = \"Art. 11.4\"\nmonths = 1\n"
      "before = \"x\"\ntext = \"x\"\n\n[deadlines.host_city_bid]"},
     r"^broken\.toml: \[deadlines\.vice_president\]: unknown notice kind"),
    ({'[quorum]\narticle = "Art. 16.1"\n': "[quorum]\n"},
     r"^broken\.toml: \[quorum\] has no article: every rule must cite the article it implements"),
    ({'[deadlines.excom_candidacy]\narticle = "Art. 12.4"\n': "[deadlines.excom_candidacy]\n"},
     r"^broken\.toml: \[deadlines\.excom_candidacy\] has no article"),
    ({'[motion]\narticle = "Art. 16.1"': '[motion]\narticle = ""'},
     r"^broken\.toml: \[motion\] article must be a non-empty text"),
    ({'excom = "1/4"\n': ""}, r"^broken\.toml: \[quorum\] excom: is missing"),
    ({'ga = "1/4"': 'ga = "ordinary"'}, r"^broken\.toml: \[quorum\] ga is 'ordinary', not a fraction"),
    ({'motion_tie = "literal"': 'motion_tie = "coin_toss"'},
     r"^broken\.toml: \[interpretations\] motion_tie is 'coin_toss'; allowed: 'literal', 'casting_vote'"),
    ({'bodies = ["excom"]': 'bodies = ["board"]'}, r"\[casting_vote\] bodies may only name the bodies"),
    ({"months = 2": "months = 0"}, r"\[deadlines\.excom_candidacy\] months must be a whole number of at least 1"),
    ({"seats = 20": "seats = true"}, r"\[excom\] seats must be a whole number"),
    ({"executive_vp_extra_seat = true": 'executive_vp_extra_seat = "yes"'}, r"must be true or false"),
    ({'id = "broken"': 'id = "other"'}, r"^broken\.toml: id is 'other' but the file is named broken\.toml"),
    ({"[president]": "[president\n"}, r"^broken\.toml: is not valid TOML"),
])
def test_refusals_name_the_file_and_key(tmp_path, replacements, message):
    path = write_variant(tmp_path, replacements)
    with pytest.raises(RuleSetError, match=message):
        load_rule_set(path)


@pytest.mark.parametrize(("fraction", "problem"), [
    ("4/3", "more than the whole body is impossible"),
    ("0/0", "zero denominator"),
    ("abc", "not a fraction"),
    ("0/3", "must be more than 0"),
    (">1/1", "more than the whole body is impossible"),
    ("1/2.5", "not a fraction"),
    ("0.5", "not a fraction"),
    ("1 / 2", "not a fraction"),
    ("-1/2", "not a fraction"),
])
def test_impossible_fractions_are_refused(tmp_path, fraction, problem):
    path = write_variant(tmp_path, {'consent = "1/2"': f'consent = "{fraction}"'})
    with pytest.raises(RuleSetError, match=r"^broken\.toml: \[written_consent\] consent is") as err:
        load_rule_set(path)
    assert problem in str(err.value)


def test_a_float_is_not_a_fraction(tmp_path):
    path = write_variant(tmp_path, {'consent = "1/2"': "consent = 0.5"})
    with pytest.raises(RuleSetError, match=r"consent is 0\.5, not a fraction"):
        load_rule_set(path)


def test_a_missing_table_and_an_unreadable_file(tmp_path):
    text = text_of("wego-2017").replace('id = "wego-2017"', 'id = "short"')
    start = text.index("[president]")
    end = text.index("[deadlines.excom_candidacy]")
    path = tmp_path / "short.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RuleSetError, match=r"^short\.toml: \[president\] is missing"):
        load_rule_set(path)
    with pytest.raises(RuleSetError, match="cannot be read"):
        load_rule_set_file(tmp_path / "absent.toml")


# --- a third organization's rule set, written from scratch -----------------------------------------

ACME = '''
# A made-up city network: stricter quorum, two-thirds motions, casting votes in both bodies.
id = "acme-2030"
title = "Acme City Network Charter 2030"
source = "invented for the tests"

[members]
article = "Charter 3"
voting_categories = ["city"]
non_voting_categories = ["observer"]
max_voting_representatives = 1

[excom]
article = "Charter 7.1"
seats = 9
executive_vp_extra_seat = false

[quorum]
article = "Charter 9.1"
ga = ">1/2"
excom = "2/3"

[motion]
article = "Charter 9.2"
concurrence = "2/3"

[interpretations]
article = "Charter commentary"
ga_quorum_base = "all_members"
present_roll = "frozen_at_opening"
motion_tie = "casting_vote"
regional_office_bid = "plurality"
consent_adopted_at = "threshold_reached"
candidate_method = "exhaustive_ballot"

[casting_vote]
article = "Charter 9.4"
holder = "Chair"
bodies = ["ga", "excom"]
text = "The Chair breaks ties in every body."

[dissolve_regional_office]
article = "Charter 12"
quorum = "ordinary"
concurrence = "3/4"
in_writing = "1/1"

[special_session]
article = "Charter 8"
body = "excom"
approval = "2/3"
of = "all_members"

[written_consent]
article = "Charter 9.3"
body = "excom"
consent = "3/4"
of = "all_members"

[regional_office_bid]
article = "Charter 12"
body = "excom"
repeat_rounds = 0
no_decision = "The bids lapse."

[host_city]
article = "Charter 10"
selected_by = ["ga"]
confirmed_by = "none"
win = ">1/2"
repeat_rounds = 2

[host_city_criteria]
article = "Charter 10.2"
items = ["Transport"]

[host_city_fallback]
article = "Charter 10.3"
president_city_hosts = "general_assembly"
confirmation_needed = false
text = "The seat city hosts."

[excom_election]
article = "Charter 7.2"
body = "ga"
threshold = ">1/2"
runoff_rounds = 2

[president]
article = "Charter 6"
body = "ga"
win = ">1/2"
repeat_rounds = 1
no_decision = "The vice chair acts."

[deadlines.excom_candidacy]
article = "Charter 7.3"
months = 3
before = "the assembly"
text = "Three months."

[deadlines.president_candidacy]
article = "Charter 6.2"
months = 3
before = "the assembly"
text = "Three months."

[deadlines.host_city_bid]
article = "Charter 10.1"
months = 6
before = "the assembly"
text = "Six months."
'''


@pytest.fixture
def acme(tmp_path: Path) -> RuleSet:
    (tmp_path / "acme-2030.toml").write_text(ACME, encoding="utf-8")
    return load_rule_set("acme-2030", tmp_path)


def test_a_third_rule_set_works_by_adding_a_file(acme):
    members, observers = ids(9), ["obs1", "obs2", "obs3"]
    # Quorum over all 12 members (I-1 all_members): more than half means 7.
    assert quorum_required(acme, "ga", 12) == 7
    short = tally_motion(acme, "ga", members, members[:6], {m: "yes" for m in members[:6]},
                         non_voting_members=observers)
    assert short.decision == Decision.NOT_ADOPTED and short.quorum.required == 7
    # Two thirds of 9 present is 6; 5 is not enough.
    ballots = {m: ("yes" if i < 6 else "no") for i, m in enumerate(members)}
    assert tally_motion(acme, "ga", members, members, ballots).decision == Decision.ADOPTED
    ballots = {m: ("yes" if i < 5 else "no") for i, m in enumerate(members)}
    assert tally_motion(acme, "ga", members, members, ballots).decision == Decision.NOT_ADOPTED
    # A tie at the GA goes to the Chair's casting vote here.
    tie = {m: ("yes" if i < 4 else "no") for i, m in enumerate(members[:8])}
    waiting = tally_motion(acme, "ga", members, members[:8], tie)
    assert waiting.decision == Decision.AWAITING_CASTING_VOTE
    assert "Chair" in waiting.explanation[-1].text and waiting.explanation[-1].article == "Charter 9.4"
    assert tally_motion(acme, "ga", members, members[:8], tie, casting_vote="yes").decision == Decision.ADOPTED


def test_a_third_rule_set_host_city_and_consent(acme):
    members = ids(9)
    # More than half of 9 present is 5; a 4-4 split at the GA awaits the Chair.
    tie = {m: ("a" if i < 4 else "b") for i, m in enumerate(members[:8])}
    outcome = tally_host_city(acme, "ga", members, members, ["a", "b"], [tie])
    assert outcome.decision == Decision.AWAITING_CASTING_VOTE
    # Three fourths of 9 is 7 consents.
    answers = {m: "consent" for m in members[:7]}
    assert tally_written_consent(acme, members, answers, deadline_passed=True).decision == Decision.ADOPTED
    answers = {m: "consent" for m in members[:6]}
    assert tally_written_consent(acme, members, answers, deadline_passed=True).decision == Decision.NOT_ADOPTED
    assert all(s.article.startswith("Charter") for s in
               tally_written_consent(acme, members, answers, deadline_passed=True).explanation)
