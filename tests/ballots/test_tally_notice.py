"""Notice periods for candidacies and bids (Art. 10.4, 11.5, 12.4) in calendar months."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ballots.rules import load_rule_set
from ballots.tally import CaseError, check_notice, months_before


@pytest.mark.parametrize(("meeting", "months", "latest"), [
    (date(2017, 6, 27), 1, date(2017, 5, 27)),    # the 2017 meeting: same day-of-month
    (date(2017, 6, 27), 2, date(2017, 4, 27)),
    (date(2017, 3, 31), 1, date(2017, 2, 28)),    # clamped to the end of a short month
    (date(2016, 3, 31), 1, date(2016, 2, 29)),    # leap year
    (date(2017, 3, 29), 1, date(2017, 2, 28)),
    (date(2017, 7, 31), 1, date(2017, 6, 30)),
    (date(2017, 1, 15), 1, date(2016, 12, 15)),   # across the year boundary
    (date(2017, 2, 28), 2, date(2016, 12, 28)),
    (date(2017, 5, 31), 2, date(2017, 3, 31)),
    (date(2017, 6, 1), 12, date(2016, 6, 1)),
])
def test_months_before(meeting, months, latest):
    assert months_before(meeting, months) == latest


# (rule set, kind, months, the meeting the rule counts back from)
RULES = [
    ("wego-2014", "excom_candidacy", 1, "the General Assembly"),
    ("wego-2017", "excom_candidacy", 2, "the General Assembly"),
    ("wego-2014", "president_candidacy", 1, "the General Assembly where the election will be held"),
    ("wego-2017", "president_candidacy", 2, "the General Assembly where the election will be held"),
    ("wego-2014", "host_city_bid", 1, "the General Assembly preceding the next General Assembly"),
    ("wego-2017", "host_city_bid", 1, "the Executive Committee meeting preceding the next General Assembly"),
]


@pytest.mark.parametrize(("rule_set_id", "kind", "months", "before"), RULES)
def test_notice_both_sides_of_the_deadline(rule_set_id, kind, months, before):
    rs = load_rule_set(rule_set_id)
    assert rs.notice_months(kind) == months
    meeting = date(2017, 6, 27)
    latest = date(2017, 6 - months, 27)
    on_time = check_notice(rs, kind, latest, meeting)
    assert on_time.ok and on_time.latest_notice_date == latest
    assert on_time.message.startswith("In time")
    late = check_notice(rs, kind, latest + timedelta(days=1), meeting)
    assert not late.ok
    assert late.message.startswith("Refused")
    assert rs.deadline(kind).text in late.message          # the rule is quoted
    assert before in late.message and rs.deadline(kind).article in late.message
    assert late.to_json()["latest_notice_date"] == latest.isoformat()


def test_notice_accepts_iso_text_and_datetimes(r17):
    check = check_notice(r17, "host_city_bid", "2017-05-27", datetime(2017, 6, 27, 9, tzinfo=UTC))
    assert check.ok and check.meeting_date == date(2017, 6, 27)


@pytest.mark.parametrize(("kind", "notice", "fragment"), [
    ("vice_president", "2017-01-01", "unknown notice kind"),
    ("excom_candidacy", "27/05/2017", "must be a date"),
    ("excom_candidacy", 20170527, "must be a date"),
])
def test_notice_refuses_bad_input(r17, kind, notice, fragment):
    with pytest.raises(CaseError, match=fragment):
        check_notice(r17, kind, notice, "2017-06-27")
