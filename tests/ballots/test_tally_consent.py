"""Written consent (Art. 16.3): the moment of adoption, late answers and the deadline (I-5)."""

from __future__ import annotations

import pytest

from ballots.tally import (
    CaseError,
    Decision,
    tally_dissolve_regional_office_in_writing,
    tally_special_session_in_writing,
    tally_written_consent,
)

EXCOM = [f"c{i:02d}" for i in range(14)]


def timed(*answers: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"member": m, "answer": a, "at": at} for m, a, at in answers]


def at(minute: int) -> str:
    return f"2017-06-20T10:{minute:02d}:00+09:00"


def test_adopted_at_the_answer_that_reaches_the_threshold(r17):
    # wego-2017 needs 7 of 14; the 7th consent (at 10:08) adopts; later answers are late.
    answers = timed(*[(EXCOM[i], "consent", at(i + 2)) for i in range(7)],
                    (EXCOM[7], "object", at(1)), (EXCOM[8], "consent", at(30)))
    outcome = tally_written_consent(r17, EXCOM, answers, deadline_passed=False)
    assert outcome.decision == Decision.ADOPTED
    assert outcome.adopted_at == at(8)
    assert outcome.late == ("c08",)
    assert outcome.counts_map == {"consent": 7, "object": 1, "abstain": 0, "late": 1, "not_answered": 5}
    assert "by the consent of 'c06' (answer 8 in time order)" in outcome.explanation[-1].text


def test_answer_order_in_the_list_does_not_matter(r17):
    answers = timed(*[(EXCOM[i], "consent", at(20 - i)) for i in range(9)])
    forward = tally_written_consent(r17, EXCOM, answers, deadline_passed=False)
    backward = tally_written_consent(r17, EXCOM, list(reversed(answers)), deadline_passed=False)
    assert forward == backward
    assert forward.adopted_at == at(18)   # the 7th earliest answer: 10:12, 10:13, ... 10:18


def test_answers_after_the_deadline_are_late(r14):
    answers = timed(*[(EXCOM[i], "consent", at(i)) for i in range(10)])
    outcome = tally_written_consent(r14, EXCOM, answers, deadline_passed=True, deadline=at(8))
    assert outcome.decision == Decision.NOT_ADOPTED
    assert outcome.late == ("c09",)
    assert outcome.counts_map["consent"] == 9
    on_time = tally_written_consent(r14, EXCOM, answers, deadline_passed=True, deadline=at(9))
    assert on_time.decision == Decision.ADOPTED and on_time.adopted_at == at(9)


def test_pending_until_the_deadline_and_unreachable_noted(r14):
    few = tally_written_consent(r14, EXCOM, {"c00": "consent"}, deadline_passed=False)
    assert few.decision == Decision.PENDING
    assert few.required == 10
    hopeless = tally_written_consent(r14, EXCOM, {m: "object" for m in EXCOM[:5]}, deadline_passed=False)
    assert hopeless.decision == Decision.PENDING
    assert "cannot be reached" in hopeless.explanation[-1].text


def test_untimed_answers_adopt_without_a_moment(r17):
    outcome = tally_written_consent(r17, EXCOM, {m: "consent" for m in EXCOM[:7]}, deadline_passed=False)
    assert outcome.decision == Decision.ADOPTED and outcome.adopted_at is None
    assert "moment of adoption is not determined" in outcome.explanation[-1].text


def test_consent_decided_at_deadline_interpretation(variant):
    rs = variant("wego-2017", "at-deadline",
                 {'consent_adopted_at = "threshold_reached"': 'consent_adopted_at = "deadline"'})
    answers = timed(*[(EXCOM[i], "consent", at(i)) for i in range(9)])
    open_ = tally_written_consent(rs, EXCOM, answers, deadline_passed=False)
    assert open_.decision == Decision.PENDING and open_.late == ()
    closed = tally_written_consent(rs, EXCOM, answers, deadline_passed=True, deadline=at(50))
    assert closed.decision == Decision.ADOPTED and closed.adopted_at == at(50)
    assert closed.counts_map["consent"] == 9   # every answer before the deadline counts


def test_dissolving_in_writing_is_unanimous_under_wego_2014(r14, r17):
    all_but_one = {m: "consent" for m in EXCOM[:13]} | {EXCOM[13]: "abstain"}
    assert tally_dissolve_regional_office_in_writing(r14, EXCOM, all_but_one,
                                                     deadline_passed=True).decision == Decision.NOT_ADOPTED
    everyone = {m: "consent" for m in EXCOM}
    assert tally_dissolve_regional_office_in_writing(r14, EXCOM, everyone,
                                                     deadline_passed=True).decision == Decision.ADOPTED
    # wego-2017: ordinary written consent, half or more.
    half = {m: "consent" for m in EXCOM[:7]}
    outcome = tally_dissolve_regional_office_in_writing(r17, EXCOM, half, deadline_passed=True)
    assert outcome.decision == Decision.ADOPTED
    assert outcome.explanation[0].article == "Art. 13.6(b), 16.3"


def test_special_session_in_writing(r17):
    answers = {m: "consent" for m in EXCOM[:8]}
    assert tally_special_session_in_writing(r17, EXCOM, answers, deadline_passed=True).decision == Decision.ADOPTED
    answers = {m: "consent" for m in EXCOM[:7]}
    assert tally_special_session_in_writing(r17, EXCOM, answers,
                                            deadline_passed=True).decision == Decision.NOT_ADOPTED


@pytest.mark.parametrize(("answers", "message"), [
    (timed(("c00", "consent", at(1)), ("c00", "object", at(2))), "'c00' answered twice"),
    ({"zz": "consent"}, "'zz' is not a voting member of the Executive Committee"),
    ({"c00": "yes"}, "an answer is consent, object or abstain"),
    (timed(("c00", "consent", "yesterday")), "is not an ISO 8601 timestamp"),
    (timed(("c00", "consent", "2017-06-20T10:00:00")), "has no time zone"),
    ([{"member": "c00", "answer": "consent"}], "exactly member, answer and at"),
    ("consent", "answers must be a map"),
])
def test_bad_answers_are_refused(r17, answers, message):
    with pytest.raises(CaseError, match=message):
        tally_written_consent(r17, EXCOM, answers, deadline_passed=False)


def test_deadline_passed_must_be_a_flag(r17):
    with pytest.raises(CaseError, match="deadline_passed must be true or false"):
        tally_written_consent(r17, EXCOM, {}, deadline_passed="yes")
