"""The statute engine: every kind of WeGO vote decided from a rule set, with cited reasons.

Each tally takes plain values (member ids, ballots, a RuleSet) and returns an Outcome, a frozen
value whose explanation trail cites the article behind every step and shows the arithmetic.
Thresholds come from the rule set only; comparisons are on integers (count * d >= base * n).
Ties are outcomes that name the tied options and the statute's way out; nothing is random.

    python -m ballots.tally CASE.json      prints the outcome as JSON (docs/tally-format.md)

Exit status: 0 with the outcome on standard output, 2 for a bad case (the reason on stderr).
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import chain
from operator import not_
from pathlib import Path
from typing import Any

from ballots.rules import (
    BODY_NAMES,
    NOTICE_KINDS,
    Fallback,
    RuleSet,
    RuleSetError,
    Threshold,
    concurrence_required,
    load_rule_set,
    quorum_required,
)

__all__ = [
    "ABSTAIN", "CONSENT", "NO", "OBJECT", "YES",
    "CaseError", "Decision", "NoticeCheck", "Outcome", "QuorumFigures", "Roll", "Round", "Step",
    "check_notice", "concurrence_required", "main", "months_before", "quorum_required",
    "tally_case", "tally_dissolve_regional_office", "tally_dissolve_regional_office_in_writing",
    "tally_excom_election", "tally_host_city", "tally_motion", "tally_president",
    "tally_regional_office_bid", "tally_special_session", "tally_special_session_in_writing",
    "tally_written_consent",
]

YES, NO, ABSTAIN = "yes", "no", "abstain"
CONSENT, OBJECT = "consent", "object"
MOTION_CHOICES = frozenset({YES, NO, ABSTAIN})
CONSENT_CHOICES = frozenset({CONSENT, OBJECT, ABSTAIN})

DECISION_KINDS = (
    "motion", "special-session", "dissolve-regional-office", "regional-office-bid",
    "written-consent", "host-city", "excom-election", "president",
)


class CaseError(ValueError):
    """A case or ballot the tally refuses; the message names the member (if any) and the reason."""

    def __init__(self, message: str, member: str | None = None) -> None:
        super().__init__(message)
        self.member = member


class Decision(StrEnum):
    """What an outcome decides; the app maps each to a sentence for the projector."""

    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    ELECTED = "elected"
    WINNER = "winner"
    NEXT_ROUND = "next_round"
    AWAITING_CASTING_VOTE = "awaiting_casting_vote"
    NO_DECISION = "no_decision"
    NO_QUORUM = "no_quorum"
    PENDING = "pending"


@dataclass(frozen=True)
class Step:
    """One step of an explanation trail: the article applied and the arithmetic in words."""

    article: str
    text: str

    def to_json(self) -> dict[str, str]:
        """The step as plain JSON values."""
        return {"article": self.article, "text": self.text}


@dataclass(frozen=True)
class QuorumFigures:
    """Attendance against the quorum of Art. 16.1, as published with the result."""

    present: int
    total: int
    required: int
    met: bool

    def to_json(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        return {"present": self.present, "total": self.total, "required": self.required, "met": self.met}


@dataclass(frozen=True)
class Round:
    """One round of a multi-round ballot: its options, counts and what it decided."""

    number: int
    options: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]
    abstain: int
    not_voted: int
    repeat: bool
    result: str
    eliminated: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    elected: tuple[str, ...] = ()
    casting_vote: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The round as plain JSON values (counts keyed by option)."""
        return {
            "number": self.number,
            "options": list(self.options),
            "counts": dict(sorted(self.counts)),
            "abstain": self.abstain,
            "not_voted": self.not_voted,
            "repeat": self.repeat,
            "result": self.result,
            "eliminated": list(self.eliminated),
            "tied": list(self.tied),
            "elected": list(self.elected),
            "casting_vote": self.casting_vote,
        }


@dataclass(frozen=True)
class Outcome:
    """The result of a tally as a value: decision, figures, rounds and the cited explanation."""

    rule_set: str
    kind: str
    body: str
    decision: Decision
    explanation: tuple[Step, ...]
    quorum: QuorumFigures | None = None
    counts: tuple[tuple[str, int], ...] = ()
    required: int | None = None
    winners: tuple[str, ...] = ()
    remaining: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    repeat_round: bool = False
    runoff_places: int | None = None
    rounds: tuple[Round, ...] = ()
    fallback: Fallback | None = None
    confirmation: str | None = None
    seats: int | None = None
    unfilled: int | None = None
    seats_per_region: tuple[tuple[str, int], ...] = ()
    adopted_at: str | None = None
    late: tuple[str, ...] = ()

    @property
    def counts_map(self) -> dict[str, int]:
        """The counts of the last round tallied, keyed by choice or option."""
        return dict(self.counts)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values with a fixed set of keys; maps sorted, lists in their meaningful order."""
        return {
            "rule_set": self.rule_set,
            "kind": self.kind,
            "body": self.body,
            "decision": str(self.decision),
            "quorum": self.quorum.to_json() if self.quorum else None,
            "counts": dict(sorted(self.counts)),
            "required": self.required,
            "winners": list(self.winners),
            "remaining": list(self.remaining),
            "tied": list(self.tied),
            "repeat_round": self.repeat_round,
            "runoff_places": self.runoff_places,
            "rounds": [r.to_json() for r in self.rounds],
            "fallback": self.fallback.to_json() if self.fallback else None,
            "confirmation": self.confirmation,
            "seats": self.seats,
            "unfilled": self.unfilled,
            "seats_per_region": dict(sorted(self.seats_per_region)),
            "adopted_at": self.adopted_at,
            "late": list(self.late),
            "explanation": [s.to_json() for s in self.explanation],
        }


# --- the roll: who may vote ---------------------------------------------------------------------


def _check_body(body: str) -> None:
    if body not in BODY_NAMES:
        raise CaseError(f"unknown body {body!r}: use 'ga' (General Assembly) or 'excom' (Executive Committee)")


def _as_set(values: Iterable[str], what: str) -> frozenset[str]:
    """Member ids as a frozenset; a frozenset passes through so a large roll is not copied."""
    if isinstance(values, frozenset):
        return values
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise CaseError(f"{what} must be a list of member ids")
    listed = values if isinstance(values, (Sequence, set)) else list(values)
    result = frozenset(listed)
    if len(result) != len(listed):
        seen: set[str] = set()
        for value in listed:
            if value in seen:
                raise CaseError(f"{what} lists {value!r} twice; each member appears once", member=value)
            seen.add(value)
    return result


@dataclass(frozen=True)
class Roll:
    """The voting members of a body and those present, checked once when the vote opens (I-2).

    `present=None` means every member is present. A tally accepts a Roll in place of `members`
    (with `present` left as None), so a roll frozen at opening is validated once however many
    rounds or re-counts follow.
    """

    body: str
    members: frozenset[str]
    present: frozenset[str]
    non_voting: frozenset[str] = frozenset()

    def __init__(self, body: str, members: Iterable[str], present: Iterable[str] | None = None,
                 non_voting: Iterable[str] = ()) -> None:
        _check_body(body)
        name = BODY_NAMES[body]
        members_set = _as_set(members, f"the {name} roll")
        if not members_set:
            raise CaseError(f"the {name} roll is empty: a vote needs at least one voting member")
        present_set = members_set if present is None else _as_set(present, "the roll of members present")
        if present_set is not members_set and not present_set <= members_set:
            stray = min(present_set - members_set)
            raise CaseError(f"{stray!r} is listed as present but is not a voting member of the {name}",
                            member=stray)
        non_voting_set = _as_set(non_voting, "the list of non-voting members")
        both = members_set & non_voting_set
        if both:
            odd = min(both)
            raise CaseError(f"{odd!r} is listed both as a voting and as a non-voting member", member=odd)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "members", members_set)
        object.__setattr__(self, "present", present_set)
        object.__setattr__(self, "non_voting", non_voting_set)


def _roll(body: str, members: Iterable[str] | Roll, present: Iterable[str] | None,
          non_voting: Iterable[str] = ()) -> Roll:
    if isinstance(members, Roll):
        if members.body != body:
            raise CaseError(f"the roll is the {BODY_NAMES[members.body]}'s, but this vote is the "
                            f"{BODY_NAMES.get(body, body)}'s")
        if present is not None or non_voting:
            raise CaseError("with a Roll, leave present and non_voting_members out: the roll already has them")
        return members
    return Roll(body, members, present, non_voting)


def _refuse_voter(rs: RuleSet, roll: Roll, member: str, allowed: AbstractSet[str], what: str) -> CaseError:
    name = BODY_NAMES[roll.body]
    if member in roll.non_voting:
        kinds = ", ".join(rs.members.non_voting_categories)
        return CaseError(
            f"{member!r} is a non-voting member ({kinds}): it may attend and speak but never votes "
            f"({rs.members.article}); its {what} is refused", member=member)
    if member not in roll.members:
        return CaseError(f"{member!r} is not a voting member of the {name}: its {what} is refused", member=member)
    if member not in allowed:
        return CaseError(
            f"{member!r} was not present when the vote opened (the roll of members present is frozen "
            f"at opening, I-2): its {what} is refused", member=member)
    return CaseError(f"{member!r} may not vote here: its {what} is refused", member=member)


def _check_voters(rs: RuleSet, roll: Roll, voters: AbstractSet[str], allowed: AbstractSet[str],
                  what: str = "ballot") -> None:
    """Refuse ballots from anyone outside `allowed`; a set comparison keeps this fast."""
    if voters <= allowed:
        return
    stray = min(m for m in voters if m not in allowed)
    raise _refuse_voter(rs, roll, stray, allowed, what)


def _single_choice_error(member: str, value: Any, allowed: Iterable[str],
                         eliminated: Mapping[str, int] | None = None) -> CaseError:
    if isinstance(value, (list, tuple, set, frozenset)):
        if len(value) >= 2:
            shown = ", ".join(repr(v) for v in value)
            return CaseError(f"{member!r} marked {len(value)} choices ({shown}) on a single-choice ballot: "
                             "the ballot is refused", member=member)
        return CaseError(f"{member!r}'s ballot must be one choice written as text, not a list", member=member)
    if not isinstance(value, str):
        return CaseError(f"{member!r}'s ballot {value!r} is not a choice: write one option as text", member=member)
    if eliminated and value in eliminated:
        return CaseError(f"{member!r} voted for {value!r}, which was eliminated in round {eliminated[value]}: "
                         "the ballot is refused", member=member)
    options = ", ".join(repr(a) for a in sorted(allowed))
    return CaseError(f"{member!r} voted {value!r}, which is not an option on this ballot (options: {options})",
                     member=member)


def _count_single(ballots: Mapping[str, Any], allowed: AbstractSet[str],
                  eliminated: Mapping[str, int] | None = None) -> Counter[str]:
    """Count single-choice ballots with one C-level pass; look for the culprit only on failure."""
    try:
        counts = Counter(ballots.values())
        if counts.keys() <= allowed:
            return counts
    except TypeError:  # an unhashable value: a list or map where one choice belongs
        pass
    for member in sorted(ballots):
        value = ballots[member]
        if not isinstance(value, str) or value not in allowed:
            raise _single_choice_error(member, value, allowed, eliminated)
    raise CaseError("a ballot could not be counted")


def _quorum_total(rs: RuleSet, roll: Roll) -> int:
    """The quorum base: full members, or all members under I-1 'all_members' at the GA."""
    if roll.body == "ga" and rs.ga_quorum_base == "all_members":
        return len(roll.members) + len(roll.non_voting)
    return len(roll.members)


def _roll_step(rs: RuleSet, roll: Roll) -> Step:
    name = BODY_NAMES[roll.body]
    article = rs.members.article if roll.body == "ga" else rs.excom.article
    text = (f"Roll: {len(roll.members)} voting members of the {name}; {len(roll.present)} present when "
            "the vote opened (I-2: the roll of members present is frozen at opening).")
    if roll.non_voting:
        counted = roll.body == "ga" and rs.ga_quorum_base == "all_members"
        text += (f" {len(roll.non_voting)} non-voting members ({', '.join(rs.members.non_voting_categories)}) "
                 "attend without a vote" +
                 ("; they count toward the quorum base (I-1: all members)." if counted
                  else "; they are not counted in any base (I-1: full members)."))
    return Step(article, text)


def _quorum(threshold: Threshold, present: int, total: int) -> tuple[QuorumFigures, Step]:
    met = threshold.met(present, total)
    required = threshold.required(total)
    text = (f"Quorum: {present} of {total} members present; attendance of {threshold.words} of {total} "
            f"is required, i.e. at least {required} ({threshold.arithmetic(present, total)}): "
            f"{'quorum met' if met else 'no quorum'}.")
    return QuorumFigures(present, total, required, met), Step(threshold.article, text)


def _check_casting_allowed(rs: RuleSet, body: str, casting_vote: object) -> None:
    if casting_vote is not None and not rs.casting_vote_allowed(body):
        raise CaseError(
            f"a casting vote was supplied, but under {rs.id} the {rs.casting_vote.holder} has no casting "
            f"vote at the {BODY_NAMES[body]} ({rs.casting_vote.article}: {rs.casting_vote.text})")


def _seats(n: int) -> str:
    return f"{n} seat" if n == 1 else f"{n} seats"


def _names(items: Iterable[str]) -> str:
    items = list(items)
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- yes/no decisions: motions and special majorities --------------------------------------------


def _yes_no(rs: RuleSet, kind: str, roll: Roll, ballots: Mapping[str, Any], *, quorum: Threshold | None,
            concurrence: Threshold, tie_rule: bool, casting_vote: str | None,
            intro: Sequence[Step] = ()) -> Outcome:
    """Decide a yes/no vote: quorum of the body, then the concurrence or approval threshold."""
    _check_casting_allowed(rs, roll.body, casting_vote)
    if not isinstance(ballots, Mapping):
        raise CaseError("ballots must be a map member → yes, no or abstain")
    _check_voters(rs, roll, ballots.keys(), roll.present)
    counts = _count_single(ballots, MOTION_CHOICES)
    yes, no, abstain = counts[YES], counts[NO], counts[ABSTAIN]
    present = len(roll.present)
    not_voted = present - len(ballots)
    figures = (("abstain", abstain), ("no", no), ("not_voted", not_voted), ("yes", yes))
    steps = [*intro, _roll_step(rs, roll)]
    quorum_figures = None
    if quorum is not None:
        quorum_figures, step = _quorum(quorum, present, _quorum_total(rs, roll))
        steps.append(step)
    steps.append(Step(concurrence.article,
                      f"Votes: {yes} yes, {no} no, {abstain} abstain, {not_voted} present but not voting."))
    base = present if concurrence.of == "present" else len(roll.members)
    required = concurrence.required(base)

    def done(decision: Decision, **extra: Any) -> Outcome:
        return Outcome(rule_set=rs.id, kind=kind, body=roll.body, decision=decision, explanation=tuple(steps),
                       quorum=quorum_figures, counts=figures, required=required, **extra)

    if quorum_figures is not None and not quorum_figures.met:
        if casting_vote is not None:
            raise CaseError("a casting vote was supplied, but there is no quorum, so there is no tie to break")
        article = quorum.article if quorum is not None else concurrence.article
        steps.append(Step(article, f"Not adopted: no quorum ({article}), whatever the votes."))
        return done(Decision.NOT_ADOPTED)

    tied = (tie_rule and rs.motion_tie == "casting_vote" and rs.casting_vote_allowed(roll.body)
            and yes == no and yes > 0)
    if tied:
        cv = rs.casting_vote
        steps.append(Step(f"{cv.article}, I-3",
                          f"Tie: {yes} yes and {no} no. Under motion_tie = casting_vote the "
                          f"{cv.holder}'s casting vote decides the motion ({cv.article})."))
        if casting_vote is None:
            steps.append(Step(cv.article, f"Awaiting the {cv.holder}'s casting vote: yes or no."))
            return done(Decision.AWAITING_CASTING_VOTE, tied=(YES, NO))
        if casting_vote not in (YES, NO):
            raise CaseError(f"the casting vote on a motion must be 'yes' or 'no', not {casting_vote!r}")
        adopted = casting_vote == YES
        steps.append(Step(cv.article, f"The {cv.holder} cast the deciding vote: {casting_vote} → "
                                      f"{'adopted' if adopted else 'not adopted'}."))
        return done(Decision.ADOPTED if adopted else Decision.NOT_ADOPTED)
    if casting_vote is not None:
        raise CaseError(f"a casting vote was supplied, but the vote is not tied under this rule set "
                        f"(motion_tie = {rs.motion_tie}): the {rs.casting_vote.holder} votes only to break "
                        f"a tie ({rs.casting_vote.article})")

    adopted = concurrence.met(yes, base)
    if concurrence.of == "present":
        text = (f"Concurrence: {yes} yes of {base} members present; {concurrence.words} of {base} is required, "
                f"i.e. at least {required} ({concurrence.arithmetic(yes, base)}): "
                f"{'adopted' if adopted else 'not adopted'}. Abstentions ({abstain}) and members present who "
                f"did not vote ({not_voted}) count against adoption, because the base is the members present.")
    else:
        text = (f"Approval: {yes} yes of all {base} members of the {BODY_NAMES[roll.body]}; "
                f"{concurrence.words} of {base} is required, i.e. at least {required} "
                f"({concurrence.arithmetic(yes, base)}): {'adopted' if adopted else 'not adopted'}. "
                "The base is all members, not those present.")
    steps.append(Step(concurrence.article, text))
    return done(Decision.ADOPTED if adopted else Decision.NOT_ADOPTED)


def tally_motion(rule_set: RuleSet, body: str, members: Iterable[str] | Roll, present: Iterable[str] | None,
                 ballots: Mapping[str, Any], *, casting_vote: str | None = None,
                 non_voting_members: Iterable[str] = ()) -> Outcome:
    """An ordinary motion: quorum of the body's total, concurrence of the members present (Art. 16.1)."""
    roll = _roll(body, members, present, non_voting_members)
    return _yes_no(rule_set, "motion", roll, ballots, quorum=rule_set.quorum(body),
                   concurrence=rule_set.motion, tie_rule=True, casting_vote=casting_vote)


def tally_dissolve_regional_office(rule_set: RuleSet, members: Iterable[str] | Roll, present: Iterable[str] | None,
                                   ballots: Mapping[str, Any], *, casting_vote: str | None = None,
                                   non_voting_members: Iterable[str] = ()) -> Outcome:
    """Dissolving a regional office at an EXCOM meeting (Art. 13.6(b))."""
    d = rule_set.dissolve_regional_office
    roll = _roll("excom", members, present, non_voting_members)
    intro = Step(d.article, "Dissolution of a regional office at a meeting: "
                 + ("an ordinary motion applies." if d.is_ordinary_motion else
                    f"attendance of {d.quorum.words} of the EXCOM and concurrence of {d.concurrence.words} "
                    "of the members present."))
    return _yes_no(rule_set, "dissolve-regional-office", roll, ballots, quorum=d.quorum,
                   concurrence=d.concurrence, tie_rule=d.is_ordinary_motion, casting_vote=casting_vote,
                   intro=(intro,))


def tally_special_session(rule_set: RuleSet, members: Iterable[str] | Roll, present: Iterable[str] | None,
                          ballots: Mapping[str, Any], *, non_voting_members: Iterable[str] = ()) -> Outcome:
    """Approving a special session of the GA at an EXCOM meeting; the base is all members (Art. 10.8)."""
    s = rule_set.special_session
    roll = _roll(s.body, members, present, non_voting_members)
    intro = Step(s.article, f"Special session of the General Assembly: approval of {s.approval.words} of "
                            f"the members of the {BODY_NAMES[s.body]} is required.")
    return _yes_no(rule_set, "special-session", roll, ballots, quorum=rule_set.quorum(s.body),
                   concurrence=s.approval, tie_rule=False, casting_vote=None, intro=(intro,))


# --- written consent (Art. 16.3) -----------------------------------------------------------------


def _timestamp(value: Any, what: str, member: str | None = None) -> datetime:
    if not isinstance(value, str):
        raise CaseError(f"{what} must be an ISO 8601 timestamp such as 2017-06-27T10:32:00+09:00", member=member)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CaseError(f"{what} {value!r} is not an ISO 8601 timestamp", member=member) from None
    if moment.tzinfo is None:
        raise CaseError(f"{what} {value!r} has no time zone; add one (e.g. +09:00 or Z)", member=member)
    return moment


def _answers(roll: Roll, rs: RuleSet, answers: Any) -> tuple[list[tuple[str, str, datetime | None, str | None]],
                                                            bool]:
    """Normalize answers to (member, answer, moment, text) in time order; says whether they are timed."""
    if isinstance(answers, Mapping):
        items = [(m, a, None, None) for m, a in answers.items()]
        timed = False
    elif isinstance(answers, Sequence) and not isinstance(answers, (str, bytes)):
        items = []
        for i, entry in enumerate(answers, 1):
            if not isinstance(entry, Mapping) or set(entry) != {"member", "answer", "at"}:
                raise CaseError(f"answer {i} must be an object with exactly member, answer and at")
            member = entry["member"]
            items.append((member, entry["answer"], _timestamp(entry["at"], f"answer {i} ({member!r}) at", member),
                          entry["at"]))
        timed = True
    else:
        raise CaseError("answers must be a map member → answer, or a list of {member, answer, at}")
    seen: set[str] = set()
    for member, answer, _, _ in items:
        if not isinstance(member, str):
            raise CaseError(f"answer from {member!r}: a member id must be text")
        if member in seen:
            raise CaseError(f"{member!r} answered twice: each member answers once and a signed answer is final "
                            f"({rs.written_consent.article})", member=member)
        seen.add(member)
        if member not in roll.members:
            raise _refuse_voter(rs, roll, member, roll.members, "answer")
        if answer not in CONSENT_CHOICES:
            raise CaseError(f"{member!r} answered {answer!r}: an answer is consent, object or abstain", member=member)
    if timed:
        items.sort(key=lambda item: (item[2], item[0]))
    return items, timed


def _written(rs: RuleSet, kind: str, members: Iterable[str], answers: Any, *, threshold: Threshold,
             deadline_passed: bool, deadline: str | None, non_voting_members: Iterable[str],
             intro: Sequence[Step]) -> Outcome:
    """Count written answers against a threshold of all members; find the moment of adoption (I-5)."""
    body = rs.written_consent.body
    roll = _roll(body, members, None, non_voting_members)
    if not isinstance(deadline_passed, bool):
        raise CaseError("deadline_passed must be true or false")
    cutoff = _timestamp(deadline, "the deadline") if deadline is not None else None
    items, timed = _answers(roll, rs, answers)
    total = len(roll.members)
    required = threshold.required(total)
    at_threshold = rs.interpretations.consent_adopted_at == "threshold_reached"
    name = BODY_NAMES[body]
    steps = [*intro, Step(rs.written_consent.article,
                          f"Written consent of the {name}: {total} members; {threshold.words} of all {total} "
                          f"must consent, i.e. at least {required}. No quorum applies; the base is all members, "
                          "not those who answered.")]
    tally = Counter[str]()
    late: list[str] = []
    adopted_at: str | None = None
    adopting: tuple[int, str] | None = None
    for position, (member, answer, moment, text) in enumerate(items, 1):
        if cutoff is not None and moment is not None and moment > cutoff:
            late.append(member)
            continue
        if adopting is not None and at_threshold:
            late.append(member)
            continue
        tally[answer] += 1
        if adopting is None and threshold.met(tally[CONSENT], total):
            adopting = (position, member)
            adopted_at = text
    consents = tally[CONSENT]
    answered = len(items)
    figures = (("abstain", tally[ABSTAIN]), ("consent", consents), ("late", len(late)),
               ("not_answered", total - answered), ("object", tally[OBJECT]))
    steps.append(Step(rs.written_consent.article,
                      f"Answers counted: {consents} consent, {tally[OBJECT]} object, {tally[ABSTAIN]} abstain; "
                      f"{len(late)} late, {total - answered} not answered."))
    reached = threshold.met(consents, total)
    arithmetic = threshold.arithmetic(consents, total)

    def done(decision: Decision, at: str | None = None) -> Outcome:
        return Outcome(rule_set=rs.id, kind=kind, body=body, decision=decision, explanation=tuple(steps),
                       counts=figures, required=required, adopted_at=at, late=tuple(late))

    if at_threshold and reached:
        if timed and adopting is not None:
            steps.append(Step(f"{rs.written_consent.article}, I-5",
                              f"Adopted at {adopted_at}, by the consent of {adopting[1]!r} (answer {adopting[0]} "
                              f"in time order): {consents} of {total} ({arithmetic}). Answers after that moment "
                              "are recorded as late and not counted."))
            return done(Decision.ADOPTED, adopted_at)
        steps.append(Step(f"{rs.written_consent.article}, I-5",
                          f"Adopted: {consents} consents of {total} ({arithmetic}). The answers carry no "
                          "timestamps, so the moment of adoption is not determined."))
        return done(Decision.ADOPTED)
    if deadline_passed:
        if reached:  # consent_adopted_at = "deadline": decided when the deadline passes
            steps.append(Step(f"{rs.written_consent.article}, I-5",
                              f"Adopted at the deadline: {consents} consents of {total} ({arithmetic})."))
            return done(Decision.ADOPTED, deadline)
        steps.append(Step(f"{rs.written_consent.article}, I-5",
                          f"Not adopted: the deadline passed with {consents} consents of {total} ({arithmetic}); "
                          f"{required} were required."))
        return done(Decision.NOT_ADOPTED)
    outstanding = total - answered
    text = (f"Pending: {consents} consents of the {required} required ({arithmetic}); "
            f"{outstanding} members have not answered.")
    if not reached and consents + outstanding < required:
        text += (f" Even if every one of them consents the threshold cannot be reached "
                 f"({consents} + {outstanding} < {required}); it will be not adopted at the deadline.")
    elif reached:
        text += " The threshold is reached; under consent_adopted_at = deadline it is decided when the deadline passes."
    steps.append(Step(f"{rs.written_consent.article}, I-5", text))
    return done(Decision.PENDING)


def tally_written_consent(rule_set: RuleSet, members: Iterable[str], answers: Any, *, deadline_passed: bool,
                          deadline: str | None = None, non_voting_members: Iterable[str] = ()) -> Outcome:
    """A resolution by written consent of the EXCOM, adopted at the moment the threshold is reached (Art. 16.3)."""
    return _written(rule_set, "written-consent", members, answers, threshold=rule_set.written_consent.consent,
                    deadline_passed=deadline_passed, deadline=deadline, non_voting_members=non_voting_members,
                    intro=())


def tally_dissolve_regional_office_in_writing(rule_set: RuleSet, members: Iterable[str], answers: Any, *,
                                              deadline_passed: bool, deadline: str | None = None,
                                              non_voting_members: Iterable[str] = ()) -> Outcome:
    """Dissolving a regional office by written consent: unanimous under wego-2014 (Art. 13.6(b))."""
    t = rule_set.dissolve_regional_office.in_writing
    intro = Step(t.article, f"Dissolution of a regional office in writing: written consent of {t.words} of the "
                            "EXCOM members is required.")
    return _written(rule_set, "dissolve-regional-office", members, answers, threshold=t,
                    deadline_passed=deadline_passed, deadline=deadline, non_voting_members=non_voting_members,
                    intro=(intro,))


def tally_special_session_in_writing(rule_set: RuleSet, members: Iterable[str], answers: Any, *,
                                     deadline_passed: bool, deadline: str | None = None,
                                     non_voting_members: Iterable[str] = ()) -> Outcome:
    """Approving a special GA session by the EXCOM members' written answers (Art. 10.8, 16.3)."""
    s = rule_set.special_session
    if s.approval.of != "all_members":
        raise CaseError(f"under {rule_set.id} a special session is approved by the members present at a "
                        f"meeting ({s.article}); it cannot be approved in writing")
    intro = Step(s.article, f"Special session of the General Assembly, approved in writing: {s.approval.words} "
                            f"of the members of the {BODY_NAMES[s.body]} must consent.")
    return _written(rule_set, "special-session", members, answers, threshold=s.approval,
                    deadline_passed=deadline_passed, deadline=deadline, non_voting_members=non_voting_members,
                    intro=(intro,))


# --- choosing among options: exhaustive ballot and plurality ------------------------------------


def _options(options: Any, what: str) -> tuple[str, ...]:
    if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Iterable):
        raise CaseError(f"the {what} must be a list of ids")
    listed = tuple(options)
    if (set(map(type, listed)) <= {str} and all(listed) and ABSTAIN not in listed
            and len(set(listed)) == len(listed)):
        return listed
    seen: set[str] = set()
    for option in listed:
        if not isinstance(option, str) or not option:
            raise CaseError(f"the {what} must be non-empty texts; {option!r} is not")
        if option == ABSTAIN:
            raise CaseError(f"{ABSTAIN!r} is reserved for abstentions and cannot be one of the {what}")
        if option in seen:
            raise CaseError(f"the {what} list {option!r} twice")
        seen.add(option)
    return listed


def _rounds(rounds: Any) -> list[Mapping[str, Any]]:
    if rounds is None:
        return []
    if isinstance(rounds, Mapping):
        return [rounds]
    if isinstance(rounds, (str, bytes)) or not isinstance(rounds, Sequence):
        raise CaseError("ballots must be a map member → choice, or a list of rounds, each such a map")
    for i, entry in enumerate(rounds, 1):
        if not isinstance(entry, Mapping):
            raise CaseError(f"round {i} of the ballots must be a map member → choice")
    return list(rounds)


def _casting_votes(casting: Any, rounds: int) -> dict[int, str]:
    """A casting vote per round: text means the latest round; a map is keyed by round number."""
    if casting is None:
        return {}
    if isinstance(casting, str):
        if rounds == 0:
            raise CaseError("a casting vote was supplied, but no round has been held yet")
        return {rounds: casting}
    if isinstance(casting, Mapping):
        result: dict[int, str] = {}
        for key, value in casting.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise CaseError(f"casting_vote is keyed by round number; {key!r} is not one") from None
            if not 1 <= number <= rounds:
                raise CaseError(f"a casting vote was supplied for round {number}, which was not held")
            if not isinstance(value, str):
                raise CaseError(f"the casting vote for round {number} must name one option")
            result[number] = value
        return result
    raise CaseError("casting_vote must name an option, or map round numbers to options")


@dataclass(frozen=True)
class _Ballot:
    """How an exhaustive or plurality ballot is run: threshold, tie rule, fall-back and wording."""

    kind: str
    article: str
    win: Threshold | None
    repeat_rounds: int
    fallback: Fallback
    winner: Decision
    noun: str
    confirmation: str | None = None
    closing: Step | None = None


def _exhaustive(rs: RuleSet, spec: _Ballot, roll: Roll, options: tuple[str, ...], rounds: list[Mapping[str, Any]],
                casting_votes: dict[int, str], intro: Sequence[Step]) -> Outcome:
    """Run the rounds held so far: a winner, a next round, a tie awaiting a casting vote, or no decision."""
    casting_allowed = rs.casting_vote_allowed(roll.body)
    _check_casting_allowed(rs, roll.body, casting_votes or None)
    for ballots in rounds:
        _check_voters(rs, roll, ballots.keys(), roll.present)
    present = len(roll.present)
    steps = [*intro, _roll_step(rs, roll)]
    figures, step = _quorum(rs.quorum(roll.body), present, _quorum_total(rs, roll))
    steps.append(step)
    required = spec.win.required(present) if spec.win is not None else None
    held: list[Round] = []

    def done(decision: Decision, **extra: Any) -> Outcome:
        last = held[-1].counts if held else ()
        return Outcome(rule_set=rs.id, kind=spec.kind, body=roll.body, decision=decision,
                       explanation=tuple(steps), quorum=figures, counts=last, required=required,
                       rounds=tuple(held), **extra)

    def no_decision(reason: str) -> Outcome:
        steps.append(Step(spec.article, reason))
        steps.append(Step(spec.fallback.article, f"No decision: {spec.fallback.text}"))
        return done(Decision.NO_DECISION, fallback=spec.fallback)

    if not options:
        if rounds:
            raise CaseError(f"ballots were supplied but there is no admissible {spec.noun}")
        return no_decision(f"There is no admissible {spec.noun}.")
    if not figures.met:
        if casting_votes:
            raise CaseError("a casting vote was supplied, but there is no quorum, so there is no tie to break")
        steps.append(Step(rs.quorum(roll.body).article,
                          "No quorum: the vote cannot decide; hold it when enough members are present."))
        return done(Decision.NO_QUORUM, remaining=options)
    if spec.win is not None:
        steps.append(Step(spec.article,
                          f"Method (I-6): each round every member present votes for one {spec.noun} or abstains. "
                          f"A {spec.noun} with {spec.win.words} of the {present} members present, i.e. at least "
                          f"{required}, and more votes than every other wins; otherwise the {spec.noun} with the "
                          "fewest votes is eliminated and a new round is held."))
    else:
        steps.append(Step(spec.article, f"Method (I-4): the {spec.noun} receiving the largest number of votes is "
                                        "decided."))

    remaining = options
    eliminated_in: dict[str, int] = {}
    repeats_in_row = 0
    next_is_repeat = False
    for number, ballots in enumerate(rounds, 1):
        is_repeat = next_is_repeat
        next_is_repeat = False
        counted = _count_single(ballots, frozenset(remaining) | {ABSTAIN}, eliminated_in)
        abstain = counted.pop(ABSTAIN, 0)
        counts = {option: counted.get(option, 0) for option in remaining}
        not_voted = present - len(ballots)
        top = max(counts.values())
        leaders = tuple(o for o in remaining if counts[o] == top)
        label = f"Round {number}{' (repeat round)' if is_repeat else ''}"
        shown = ", ".join(f"{o} {counts[o]}" for o in remaining)
        steps.append(Step(spec.article, f"{label}: {shown}; {abstain} abstained, {not_voted} present but not "
                                        f"voting; {present} present."))
        reaches = (top > 0) if spec.win is None else spec.win.met(top, present)
        cast = casting_votes.pop(number, None)
        tie: tuple[str, ...] = ()
        result, eliminated, winner = "", (), None
        if reaches and len(leaders) == 1:
            winner = leaders[0]
            if spec.win is not None:
                steps.append(Step(spec.article, f"{winner} has {top} of {present} "
                                                f"({spec.win.arithmetic(top, present)}) and more votes than every "
                                                f"other {spec.noun}: {winner} wins."))
            else:
                steps.append(Step(spec.article, f"{winner} has the largest number of votes ({top}): {winner} wins."))
            result = "winner"
        elif reaches or spec.win is None:
            tie, result = leaders, "tie"
            why = (f"each has {top} of {present} ({spec.win.arithmetic(top, present)})" if spec.win is not None
                   else f"each has {top} votes" if top else "no votes were cast for any")
            steps.append(Step(spec.article, f"Tie for the win between {_names(tie)}: {why}."))
        elif len(remaining) == 1:
            steps.append(Step(spec.article, f"{remaining[0]}, the only {spec.noun} left, has {top} of {present} "
                                            f"({spec.win.arithmetic(top, present)}): short of {required}."))
            held.append(Round(number, remaining, tuple(counts.items()), abstain, not_voted, is_repeat, "no_decision"))
            if number < len(rounds):
                raise CaseError(f"round {number + 1} was supplied, but round {number} already ended the ballot")
            return no_decision(f"No {spec.noun} can be decided: the last {spec.noun} did not reach {required}.")
        else:
            low = min(counts.values())
            losers = tuple(o for o in remaining if counts[o] == low)
            short = f"no {spec.noun} has {spec.win.words} of {present} (at least {required}) and more than every other"
            if len(losers) == 1:
                eliminated, result = losers, "eliminated"
                steps.append(Step(spec.article, f"{short.capitalize()}: {losers[0]}, with the fewest votes "
                                                f"({low}), is eliminated."))
            else:
                tie, result = losers, "tie"
                steps.append(Step(spec.article, f"{short.capitalize()}; tie for elimination between "
                                                f"{_names(losers)}, each with the fewest votes ({low})."))
        if not tie and cast is not None:
            raise CaseError(f"a casting vote was supplied for round {number}, but that round is not tied: the "
                            f"{rs.casting_vote.holder} votes only to break a tie ({rs.casting_vote.article})")
        if tie and casting_allowed:
            cv = rs.casting_vote
            if cast is None:
                held.append(Round(number, remaining, tuple(counts.items()), abstain, not_voted, is_repeat, "tie",
                                  tied=tie))
                if number < len(rounds):
                    raise CaseError(f"round {number} ended in a tie between {_names(tie)} that only the "
                                    f"{cv.holder}'s casting vote can break ({cv.article}), but none was supplied "
                                    f"and round {number + 1} was")
                steps.append(Step(cv.article, f"The {cv.holder} breaks the tie by a casting vote ({cv.article}): "
                                              f"awaiting it, among {_names(tie)}."))
                return done(Decision.AWAITING_CASTING_VOTE, tied=tie, remaining=remaining)
            if cast not in tie:
                raise CaseError(f"the casting vote for {cast!r} in round {number} is not for one of the tied "
                                f"options ({_names(tie)})")
            if result == "tie" and reaches:
                winner, result = cast, "winner"
                steps.append(Step(cv.article, f"The {cv.holder} cast the deciding vote for {cast} "
                                              f"({cv.article}): {cast} wins."))
            else:
                eliminated, result = tuple(o for o in tie if o != cast), "eliminated"
                steps.append(Step(cv.article, f"The {cv.holder} cast the deciding vote for {cast} "
                                              f"({cv.article}): {_names(eliminated)} eliminated."))
            tie = ()
        held.append(Round(number, remaining, tuple(counts.items()), abstain, not_voted, is_repeat,
                          result if not tie else "tie", eliminated=eliminated, tied=tie, casting_vote=cast,
                          elected=(winner,) if winner else ()))
        if winner is not None:
            if number < len(rounds):
                raise CaseError(f"round {number + 1} was supplied, but round {number} already decided the ballot")
            if spec.closing is not None:
                steps.append(spec.closing)
            return done(spec.winner, winners=(winner,), confirmation=spec.confirmation)
        if tie:
            if repeats_in_row >= spec.repeat_rounds:
                if number < len(rounds):
                    raise CaseError(f"round {number + 1} was supplied, but round {number} ended the ballot with "
                                    "no decision")
                return no_decision(f"The tie between {_names(tie)} persists after {repeats_in_row} repeat "
                                   f"round{'s' if repeats_in_row != 1 else ''} and there is no casting vote at the "
                                   f"{BODY_NAMES[roll.body]} ({rs.casting_vote.article}).")
            repeats_in_row += 1
            next_is_repeat = True
            steps.append(Step(spec.article, f"No casting vote at the {BODY_NAMES[roll.body]} "
                                            f"({rs.casting_vote.article}): a repeat round is held with the same "
                                            f"{spec.noun}s (the rule set allows {spec.repeat_rounds} repeat "
                                            f"round{'s' if spec.repeat_rounds != 1 else ''} per tie); if the "
                                            "tie persists beyond that, there is no decision."))
            continue
        repeats_in_row = 0
        for option in eliminated:
            eliminated_in[option] = number
        remaining = tuple(o for o in remaining if o not in eliminated)
    label = "repeat round" if next_is_repeat else "round"
    steps.append(Step(spec.article, f"Next: {label} {len(rounds) + 1} with {_names(remaining)}."))
    return done(Decision.NEXT_ROUND, remaining=remaining, repeat_round=next_is_repeat)


def tally_host_city(rule_set: RuleSet, body: str, members: Iterable[str] | Roll, present: Iterable[str] | None,
                    options: Iterable[str], rounds: Any = (), *, casting_votes: Any = None,
                    non_voting_members: Iterable[str] = ()) -> Outcome:
    """The next GA's host city by exhaustive ballot, with Art. 12.11 when nothing is decided (Art. 10, 12)."""
    hc = rule_set.host_city
    _check_body(body)
    if body not in hc.selected_by:
        selectors = " or ".join(BODY_NAMES[b] for b in hc.selected_by)
        extra = (f"; the {BODY_NAMES[hc.confirmed_by]} confirms the decision by ordinary motion (tally that as a "
                 "motion)") if hc.confirmed_by == body else ""
        raise CaseError(f"under {rule_set.id} the host city is selected by the {selectors} ({hc.article}){extra}")
    roll = _roll(body, members, present, non_voting_members)
    held = _rounds(rounds)
    casting = _casting_votes(casting_votes, len(held))
    confirmation = hc.confirmed_by if hc.confirmed_by not in ("none", body) else None
    closing = (Step(hc.article, f"The decision goes to the {BODY_NAMES[confirmation]} for confirmation by "
                                "ordinary motion.") if confirmation else
               Step(hc.article, f"Selected by the {BODY_NAMES[body]}; no further confirmation is needed."))
    spec = _Ballot("host-city", hc.article, hc.win, hc.repeat_rounds, rule_set.host_city_fallback,
                   Decision.WINNER, "bid", confirmation, closing)
    intro = (Step(hc.criteria_article, "The criteria (" + "; ".join(hc.criteria) + ") are shown with the bids; "
                                       "they are judgement, not arithmetic."),)
    return _exhaustive(rule_set, spec, roll, _options(options, "bids"), held, casting, intro)


def tally_regional_office_bid(rule_set: RuleSet, members: Iterable[str] | Roll, present: Iterable[str] | None,
                              options: Iterable[str], rounds: Any = (), *, casting_votes: Any = None,
                              non_voting_members: Iterable[str] = ()) -> Outcome:
    """Competing bids for a regional office in one region: the largest number of votes (Art. 13.6(a), I-4)."""
    rob = rule_set.regional_office_bid
    roll = _roll(rob.body, members, present, non_voting_members)
    bids = _options(options, "bids")
    if len(bids) < 2:
        raise CaseError(f"competing bids need at least two cities ({rob.article}); a single bid is approved by "
                        "ordinary motion: tally it as a motion")
    held = _rounds(rounds)
    casting = _casting_votes(casting_votes, len(held))
    spec = _Ballot("regional-office-bid", rob.article, None, rob.repeat_rounds,
                   Fallback(rob.article, rob.no_decision), Decision.WINNER, "bid")
    return _exhaustive(rule_set, spec, roll, bids, held, casting, ())


def tally_president(rule_set: RuleSet, members: Iterable[str] | Roll, present: Iterable[str] | None,
                    candidates: Iterable[str], ballots: Any = (), *, casting_votes: Any = None,
                    non_voting_members: Iterable[str] = ()) -> Outcome:
    """The president city: a sole candidate by motion, several by exhaustive ballot (Art. 11.5, I-6)."""
    pr = rule_set.president
    roll = _roll(pr.body, members, present, non_voting_members)
    listed = _options(candidates, "candidates")
    fallback = Fallback(pr.article, pr.no_decision)
    if len(listed) == 1:
        _check_casting_allowed(rule_set, pr.body, casting_votes)
        if casting_votes is not None:
            raise CaseError("a casting vote was supplied, but a sole candidate is elected by motion, not tied")
        if not isinstance(ballots, Mapping):
            raise CaseError(f"a sole candidate ({listed[0]}) is elected by motion: ballots must be a map "
                            "member → yes, no or abstain")
        intro = Step(pr.article, f"Sole candidate {listed[0]}: elected by ordinary motion (yes, no or abstain).")
        vote = _yes_no(rule_set, "president", roll, ballots, quorum=rule_set.quorum(pr.body), concurrence=pr.win,
                       tie_rule=False, casting_vote=None, intro=(intro,))
        steps = list(vote.explanation)
        if vote.decision == Decision.ADOPTED:
            steps.append(Step(pr.article, f"{listed[0]} is elected President City."))
            return replace(vote, decision=Decision.ELECTED, winners=listed, explanation=tuple(steps))
        if vote.quorum is not None and not vote.quorum.met:
            return replace(vote, decision=Decision.NO_QUORUM, remaining=listed)
        steps.append(Step(fallback.article, f"No decision: {fallback.text}"))
        return replace(vote, decision=Decision.NO_DECISION, fallback=fallback, explanation=tuple(steps))
    held = _rounds(ballots)
    casting = _casting_votes(casting_votes, len(held))
    spec = _Ballot("president", pr.article, pr.win, pr.repeat_rounds, fallback, Decision.ELECTED, "candidate")
    return _exhaustive(rule_set, spec, roll, listed, held, casting, ())


# --- EXCOM elections (Art. 12.1, 12.4) -------------------------------------------------------------


def _approval_counts(rs: RuleSet, ballots: Mapping[str, Any], candidates: tuple[str, ...]) -> Counter[str]:
    allowed = frozenset(candidates)
    yes = Counter[str]()
    for member in sorted(ballots):
        ballot = ballots[member]
        if not isinstance(ballot, Mapping):
            raise CaseError(f"{member!r}'s approval ballot must map each candidate to yes, no or abstain",
                            member=member)
        for candidate, choice in ballot.items():
            if candidate not in allowed:
                raise CaseError(f"{member!r}'s ballot names {candidate!r}, who is not a candidate", member=member)
            if choice not in MOTION_CHOICES:
                raise CaseError(f"{member!r} marked {candidate!r} {choice!r}: each candidate is yes, no or "
                                "abstain", member=member)
            if choice == YES:
                yes[candidate] += 1
    return yes


def _block_counts(ballots: Mapping[str, Any], allowed: AbstractSet[str], limit: int) -> Counter[str]:
    """Count block-vote ballots in C-level passes; search member by member only when one is bad."""
    values = list(ballots.values())
    if set(map(type, values)) <= {list, tuple}:
        try:
            sizes = list(map(len, values))
            # A name written twice on one ballot makes its set shorter than the ballot.
            distinct = list(map(len, map(set, values)))
        except TypeError:  # an unhashable name: let the careful pass name the member
            sizes, distinct = [], [-1]
        if sizes == distinct and max(sizes, default=0) <= limit:
            votes = Counter(chain.from_iterable(values))
            if votes.keys() <= allowed:
                return votes
    return _block_counts_checked(ballots, allowed, limit)


def _block_counts_checked(ballots: Mapping[str, Any], allowed: AbstractSet[str], limit: int) -> Counter[str]:
    votes = Counter[str]()
    for member in sorted(ballots):
        names = ballots[member]
        if isinstance(names, (str, bytes, Mapping)) or not isinstance(names, Sequence):
            raise CaseError(f"{member!r}'s block-vote ballot must be a list of candidate ids", member=member)
        if len(names) > limit:
            raise CaseError(f"{member!r} named {len(names)} candidates but may name at most {limit}: "
                            "more names than seats, the ballot is refused", member=member)
        for name in names:
            if not isinstance(name, str) or name not in allowed:
                raise CaseError(f"{member!r} named {name!r}, who is not a candidate in this round", member=member)
        if len(set(names)) != len(names):
            twice = min(n for n in names if names.count(n) > 1)
            raise CaseError(f"{member!r} named {twice!r} twice on one ballot: the ballot is refused", member=member)
        votes.update(names)
    return votes


def _groups(counts: Mapping[str, int], order: Sequence[str]) -> list[tuple[int, list[str]]]:
    """Candidates grouped by equal votes, most votes first; within a group, ballot order."""
    groups: dict[int, list[str]] = {}
    for candidate in order:
        groups.setdefault(counts[candidate], []).append(candidate)
    return sorted(groups.items(), key=lambda item: -item[0])


def _fill(queue: list[tuple[int, list[str]]], elected: list[str], seats: int, cap: int | None,
          region_of: Mapping[str, str], taken: Counter[str], steps: list[Step],
          article: str) -> tuple[list[str], int]:
    """Seat candidates group by group (most votes first); stop at a group that does not fit.

    Returns the tied group and its position in the queue, or ([], len(queue)) when done. A group
    of equal votes is seated whole or not at all, so a tie is never broken by list order.
    """
    for position, (count, group) in enumerate(queue):
        if len(elected) == seats:
            return [], position
        open_group = []
        for candidate in group:
            if cap is not None and taken[region_of[candidate]] >= cap:
                steps.append(Step(article, f"{candidate} ({count}) is skipped: region "
                                           f"{region_of[candidate]} already has {_seats(cap)} (cap)."))
            else:
                open_group.append(candidate)
        if not open_group:
            continue
        need = Counter(region_of[c] for c in open_group) if cap is not None else Counter[str]()
        fits = len(open_group) <= seats - len(elected) and all(
            taken[r] + n <= cap for r, n in need.items())  # type: ignore[operator]
        if not fits:
            return open_group, position
        elected.extend(open_group)
        if region_of:
            taken.update(region_of[c] for c in open_group)
    return [], len(queue)


def tally_excom_election(rule_set: RuleSet, members: Iterable[str] | Roll, present: Iterable[str] | None,
                         candidates: Iterable[str], seats: int, rounds: Any = (), *,
                         regions: Mapping[str, str] | None = None, region_cap: int | None = None,
                         non_voting_members: Iterable[str] = ()) -> Outcome:
    """EXCOM members elected by the GA: approval or block vote, run-off for a tied last seat (Art. 12.4)."""
    ee = rule_set.excom_election
    roll = _roll(ee.body, members, present, non_voting_members)
    listed = _options(candidates, "candidates")
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= rule_set.excom.seats:
        raise CaseError(f"seats must be a whole number from 1 to {rule_set.excom.seats} "
                        f"({rule_set.excom.article}); got {seats!r}")
    cap = region_cap if region_cap is not None else ee.region_cap
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise CaseError(f"region_cap must be a whole number of at least 1; got {cap!r}")
    region_of: dict[str, str] = {}
    if regions is not None or cap is not None:
        if not isinstance(regions, Mapping):
            raise CaseError("a per-region cap needs regions: a map candidate → region")
        for candidate in listed:
            region = regions.get(candidate)
            if not isinstance(region, str) or not region:
                raise CaseError(f"candidate {candidate!r} has no region", member=candidate)
            region_of[candidate] = region
        extra = sorted(set(regions) - set(listed))
        if extra:
            raise CaseError(f"regions names {extra[0]!r}, who is not a candidate")
    held = _rounds(rounds)
    for ballots in held:
        _check_voters(rule_set, roll, ballots.keys(), roll.present)
    present_n = len(roll.present)
    threshold = ee.threshold
    required = threshold.required(present_n)
    approval = len(listed) <= seats
    steps = [_roll_step(rule_set, roll)]
    figures, step = _quorum(rule_set.quorum(roll.body), present_n, _quorum_total(rule_set, roll))
    steps.append(step)
    rounds_out: list[Round] = []

    def done(decision: Decision, elected: Sequence[str] = (), **extra: Any) -> Outcome:
        # Every candidate's region is listed, with 0 where none was elected, to show the balance.
        per_region = Counter({region: 0 for region in region_of.values()})
        if region_of:
            per_region.update(region_of[c] for c in elected)
        last = rounds_out[-1].counts if rounds_out else ()
        return Outcome(rule_set=rule_set.id, kind="excom-election", body=roll.body, decision=decision,
                       explanation=tuple(steps), quorum=figures, counts=last, required=required,
                       winners=tuple(elected), rounds=tuple(rounds_out), seats=seats,
                       seats_per_region=tuple(sorted(per_region.items())), **extra)

    if not listed:
        if held:
            raise CaseError("ballots were supplied but there are no candidates")
        steps.append(Step(ee.article, "There are no candidates: no seat can be filled."))
        return done(Decision.NO_DECISION, unfilled=seats)
    if not figures.met:
        steps.append(Step(rule_set.quorum(roll.body).article,
                          "No quorum: the election cannot decide; hold it when enough members are present."))
        return done(Decision.NO_QUORUM, remaining=listed)
    cap_text = f" At most {_seats(cap)} per region (per-region cap)." if cap is not None else ""
    if approval:
        steps.append(Step(ee.article, f"{len(listed)} candidates for {seats} seats (candidates ≤ seats): each "
                                      f"candidate is approved or not on one ballot; {threshold.words} of the "
                                      f"{present_n} members present, i.e. at least {required} yes, elects "
                                      f"(I-6).{cap_text}"))
    else:
        steps.append(Step(ee.article, f"{len(listed)} candidates for {seats} seats (candidates > seats): block "
                                      f"vote, each member names up to {seats}; the top {seats} with "
                                      f"{threshold.words} of the {present_n} members present, i.e. at least "
                                      f"{required} votes, are elected; a tie for the last seat goes to a run-off "
                                      f"among the tied (I-6).{cap_text}"))
    if not held:
        steps.append(Step(ee.article, f"Next: round 1 with {_names(listed)}."))
        return done(Decision.NEXT_ROUND, remaining=listed)

    first = held[0]
    votes = _approval_counts(rule_set, first, listed) if approval else _block_counts(first, set(listed), seats)
    counts = dict.fromkeys(listed, 0)
    counts.update(votes)  # votes holds candidates only: _block_counts and _approval_counts check that
    # `required` is the smallest count meeting the threshold (Threshold.required), so >= decides.
    eligible = [c for c in listed if counts[c] >= required]
    below = [c for c in listed if counts[c] < required]
    rounds_out.append(Round(1, listed, tuple(counts.items()), sum(map(not_, first.values())),
                            present_n - len(first), False, "counted"))
    shown = ", ".join(f"{c} {counts[c]}" for c in listed)
    steps.append(Step(ee.article, f"Round 1: {shown}; {present_n} present, {len(first)} ballots."))
    steps.append(Step(ee.article, f"Reach {threshold.words} of {present_n} (at least {required}): "
                                  f"{_names(eligible)}. Below it: {_names(below)}."))
    queue = _groups(counts, eligible)
    elected: list[str] = []
    taken = Counter[str]()
    number = 1
    runoffs_in_row = 0
    runoff_part = 0  # how many groups at the head of the queue come from the latest run-off
    while True:
        tie, position = _fill(queue, elected, seats, cap, region_of, taken, steps, ee.article)
        if not tie:
            break
        places = seats - len(elected)
        if cap is not None:
            need = Counter(region_of[c] for c in tie)
            places = min(places, sum(min(n, cap - taken[r]) for r, n in need.items()))
        tied_again = runoff_part > position
        runoffs_in_row = runoffs_in_row + 1 if tied_again else 0
        last = rounds_out[-1]
        rounds_out[-1] = replace(last, result="tie", tied=tuple(tie),
                                 elected=tuple(c for c in elected if c in last.options))
        steps.append(Step(ee.article, f"Tie for the last {'seat' if places == 1 else f'{places} seats'}: "
                                      f"{_names(tie)} have {queue[position][0]} votes each."))
        if number == len(held):
            if runoffs_in_row < ee.runoff_rounds:
                steps.append(Step(ee.article, f"Next: run-off round {number + 1} among {_names(tie)} for {places} "
                                              f"seat{'s' if places != 1 else ''}; each member names up to "
                                              f"{places}."))
                return done(Decision.NEXT_ROUND, elected, remaining=tuple(tie), tied=tuple(tie),
                            runoff_places=places)
            unfilled = seats - len(elected)
            why = "The run-off tied again and no further run-off is allowed" if tied_again else \
                "No run-off is allowed"
            steps.append(Step(ee.article, f"{why} (runoff_rounds = {ee.runoff_rounds}): {unfilled} "
                                          f"seat{'s' if unfilled != 1 else ''} left unfilled; tied: {_names(tie)}."))
            return done(Decision.ELECTED if elected else Decision.NO_DECISION, elected, tied=tuple(tie),
                        unfilled=unfilled)
        if runoffs_in_row >= ee.runoff_rounds:
            raise CaseError(f"round {number + 1} was supplied, but no further run-off is allowed "
                            f"(runoff_rounds = {ee.runoff_rounds})")
        number += 1
        ballots = held[number - 1]
        tie_order = tuple(tie)
        runoff_votes = _block_counts(ballots, set(tie_order), places)
        runoff_counts = {c: runoff_votes.get(c, 0) for c in tie_order}
        rounds_out.append(Round(number, tie_order, tuple(runoff_counts.items()),
                                sum(map(not_, ballots.values())), present_n - len(ballots), False,
                                "runoff"))
        shown = ", ".join(f"{c} {runoff_counts[c]}" for c in tie_order)
        steps.append(Step(ee.article, f"Run-off round {number} among {_names(tie_order)} for {places} "
                                      f"seat{'s' if places != 1 else ''}: {shown}."))
        runoff_groups = _groups(runoff_counts, tie_order)
        queue = runoff_groups + queue[position + 1:]
        runoff_part = len(runoff_groups)
    if number < len(held):
        raise CaseError(f"round {number + 1} was supplied, but the election was complete after round {number}")
    unfilled = seats - len(elected)
    seat_word = "seat" if seats == 1 else "seats"
    text = f"Elected: {_names(elected)} ({len(elected)} of {seats} {seat_word})"
    text += f"; {unfilled} left unfilled." if unfilled else "."
    if region_of:
        per = Counter({region: 0 for region in region_of.values()})
        per.update(region_of[c] for c in elected)
        text += " Seats per region (equitable geographical distribution, Art. 12.4): " + \
            ", ".join(f"{r} {n}" for r, n in sorted(per.items())) + "."
    steps.append(Step(ee.article, text))
    last = rounds_out[-1]
    rounds_out[-1] = replace(last, result="elected", elected=tuple(c for c in elected if c in last.options))
    return done(Decision.ELECTED if elected else Decision.NO_DECISION, elected, unfilled=unfilled)


# --- notice periods (Art. 10.4, 11.5, 12.4) ------------------------------------------------------


def months_before(day: date, months: int) -> date:
    """The same day-of-month `months` calendar months earlier, clamped to that month's last day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class NoticeCheck:
    """Whether a candidacy or bid was notified in time, with the statute's rule quoted."""

    ok: bool
    kind: str
    notice_date: date
    meeting_date: date
    latest_notice_date: date
    months: int
    article: str
    rule: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The check as plain JSON values (dates as ISO 8601)."""
        return {
            "ok": self.ok, "kind": self.kind, "notice_date": self.notice_date.isoformat(),
            "meeting_date": self.meeting_date.isoformat(),
            "latest_notice_date": self.latest_notice_date.isoformat(), "months": self.months,
            "article": self.article, "rule": self.rule, "message": self.message,
        }


def _as_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CaseError(f"{what} must be a date such as 2017-06-27; got {value!r}")


_MONTH_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")


def check_notice(rule_set: RuleSet, kind: str, notice_date: date | str, meeting_date: date | str) -> NoticeCheck:
    """A candidacy or bid is in time iff notified on or before the meeting date minus N calendar months."""
    if kind not in NOTICE_KINDS:
        raise CaseError(f"unknown notice kind {kind!r}: use one of {', '.join(NOTICE_KINDS)}")
    rule = rule_set.deadline(kind)
    notice = _as_date(notice_date, "the notice date")
    meeting = _as_date(meeting_date, "the meeting date")
    latest = months_before(meeting, rule.months)
    ok = notice <= latest
    spelled = _MONTH_WORDS[rule.months] if rule.months < len(_MONTH_WORDS) else str(rule.months)
    period = f"{spelled} ({rule.months}) month{'s' if rule.months != 1 else ''}"
    if ok:
        message = (f"In time: notice of {notice.isoformat()} is on or before {latest.isoformat()}, {period} before "
                   f"{rule.before} on {meeting.isoformat()} ({rule.article}).")
    else:
        message = (f"Refused: notice was given on {notice.isoformat()}, but {rule.article} requires it on or "
                   f"before {latest.isoformat()}, {period} before {rule.before} on {meeting.isoformat()}: "
                   f"“{rule.text}”")
    return NoticeCheck(ok, kind, notice, meeting, latest, rule.months, rule.article, rule.text, message)


# --- cases: the JSON form used by the CLI and the web application --------------------------------

_RULE_SET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CASE_FIELDS = {
    "rule_set", "decision", "body", "members", "present", "non_voting_members", "ballots", "options",
    "candidates", "seats", "regions", "region_cap", "casting_vote", "answers", "deadline_passed", "deadline",
    "title", "note",
}


def _need(case: Mapping[str, Any], key: str, kind: str) -> Any:
    if key not in case:
        raise CaseError(f"a {kind} case needs {key!r}")
    return case[key]


def _ids(case: Mapping[str, Any], key: str, kind: str, *, required: bool = True) -> list[str]:
    if key not in case and not required:
        return []
    value = _need(case, key, kind)
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise CaseError(f"{key!r} must be a list of ids (texts)")
    return value


def _fixed_body(case: Mapping[str, Any], body: str, kind: str, article: str) -> None:
    given = case.get("body", body)
    if given != body:
        raise CaseError(f"a {kind} is decided by the {BODY_NAMES.get(body, body)} ({article}), not body {given!r}")


def tally_case(case: Mapping[str, Any], *, rulesets_dir: str | Path | None = None) -> Outcome:
    """Tally a case given as the JSON object of docs/tally-format.md; raise CaseError if it is bad."""
    if not isinstance(case, Mapping):
        raise CaseError("a case must be a JSON object")
    unknown = sorted(set(case) - _CASE_FIELDS)
    if unknown:
        raise CaseError(f"unknown field {unknown[0]!r} in the case (known: {', '.join(sorted(_CASE_FIELDS))})")
    name = case.get("rule_set")
    if not isinstance(name, str) or not name:
        raise CaseError("the case needs 'rule_set', e.g. \"wego-2017\"")
    # A case names a rule set by id only, never by path, so a case file cannot make the tally
    # read an arbitrary file; another directory of rule sets is chosen by the caller.
    if not _RULE_SET_ID.fullmatch(name) or name.endswith(".toml"):
        raise CaseError(f"rule_set must be an id such as \"wego-2017\", not {name!r}; for rule sets kept "
                        "elsewhere pass their directory (--rulesets DIR)")
    try:
        rs = load_rule_set(name, rulesets_dir)
    except RuleSetError as exc:
        raise CaseError(f"rule set {name!r}: {exc}") from None
    kind = case.get("decision")
    if kind not in DECISION_KINDS:
        raise CaseError(f"decision must be one of {', '.join(DECISION_KINDS)}; got {kind!r}")
    members = _ids(case, "members", kind)
    non_voting = _ids(case, "non_voting_members", kind, required=False)
    casting = case.get("casting_vote")
    written = "answers" in case
    if written and "ballots" in case:
        raise CaseError("a case has either ballots (a meeting) or answers (in writing), not both")
    if written:
        if kind not in ("written-consent", "dissolve-regional-office", "special-session"):
            raise CaseError(f"a {kind} is decided at a meeting: give ballots, not answers")
        if casting is not None:
            raise CaseError("a casting vote applies at a meeting, not to answers in writing")
        if "present" in case:
            raise CaseError("written answers have no roll of members present: leave out 'present'")
        _fixed_body(case, rs.written_consent.body, kind, rs.written_consent.article)
        deadline_passed = _need(case, "deadline_passed", kind)
        tally = {"written-consent": tally_written_consent,
                 "dissolve-regional-office": tally_dissolve_regional_office_in_writing,
                 "special-session": tally_special_session_in_writing}[kind]
        return tally(rs, members, case["answers"], deadline_passed=deadline_passed,
                     deadline=case.get("deadline"), non_voting_members=non_voting)
    if kind == "written-consent":
        raise CaseError("a written-consent case needs 'answers'")
    for key in ("deadline_passed", "deadline"):
        if key in case:
            raise CaseError(f"{key!r} applies to answers in writing only")
    present = _ids(case, "present", kind)
    ballots = case.get("ballots", {} if kind in ("motion", "special-session", "dissolve-regional-office") else [])
    if kind in ("motion", "special-session", "dissolve-regional-office") and not isinstance(ballots, Mapping):
        raise CaseError(f"a {kind} case needs ballots as a map member → yes, no or abstain")
    if kind == "motion":
        body = _need(case, "body", kind)
        _check_body(body)
        if casting is not None and not isinstance(casting, str):
            raise CaseError("the casting vote on a motion is 'yes' or 'no'")
        return tally_motion(rs, body, members, present, ballots, casting_vote=casting, non_voting_members=non_voting)
    if kind == "special-session":
        _fixed_body(case, rs.special_session.body, kind, rs.special_session.article)
        if casting is not None:
            raise CaseError(f"a special session needs {rs.special_session.approval.words} of all members: there is "
                            "no tie for a casting vote to break")
        return tally_special_session(rs, members, present, ballots, non_voting_members=non_voting)
    if kind == "dissolve-regional-office":
        _fixed_body(case, "excom", kind, rs.dissolve_regional_office.article)
        if casting is not None and not isinstance(casting, str):
            raise CaseError("the casting vote on a motion is 'yes' or 'no'")
        return tally_dissolve_regional_office(rs, members, present, ballots, casting_vote=casting,
                                              non_voting_members=non_voting)
    if kind == "regional-office-bid":
        _fixed_body(case, rs.regional_office_bid.body, kind, rs.regional_office_bid.article)
        return tally_regional_office_bid(rs, members, present, _need(case, "options", kind), ballots,
                                         casting_votes=casting, non_voting_members=non_voting)
    if kind == "host-city":
        body = _need(case, "body", kind)
        return tally_host_city(rs, body, members, present, _need(case, "options", kind), ballots,
                               casting_votes=casting, non_voting_members=non_voting)
    if kind == "president":
        _fixed_body(case, rs.president.body, kind, rs.president.article)
        if "options" in case:
            raise CaseError("a president case lists 'candidates', not 'options'")
        candidates = _need(case, "candidates", kind)
        if isinstance(candidates, list) and len(candidates) == 1 and "ballots" not in case:
            ballots = {}
        return tally_president(rs, members, present, candidates, ballots, casting_votes=casting,
                               non_voting_members=non_voting)
    _fixed_body(case, rs.excom_election.body, kind, rs.excom_election.article)
    if casting is not None:
        _check_casting_allowed(rs, rs.excom_election.body, casting)
        raise CaseError("an EXCOM election has no casting vote: a tie for the last seat goes to a run-off round")
    return tally_excom_election(rs, members, present, _need(case, "candidates", kind), _need(case, "seats", kind),
                                ballots, regions=case.get("regions"), region_cap=case.get("region_cap"),
                                non_voting_members=non_voting)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would keep the last of two equal keys; a ballot must never vanish silently.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CaseError(f"{key!r} appears twice in one JSON object of the case; each member votes once",
                            member=key)
        result[key] = value
    return result


def load_case(text: str) -> Mapping[str, Any]:
    """Parse a case's JSON text, refusing duplicate keys (a second ballot would hide the first)."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise CaseError(f"the case is not valid JSON: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ballots.tally CASE.json`: print the outcome as JSON; exit 2 for a bad case."""
    parser = argparse.ArgumentParser(prog="python -m ballots.tally",
                                     description="Tally one WeGO vote described by a case file "
                                                 "(docs/tally-format.md) and print the outcome as JSON.")
    parser.add_argument("case", help="the case file (JSON), or - to read standard input")
    parser.add_argument("--rulesets", metavar="DIR", help="a directory of rule-set files to use instead of "
                                                          "the package's ballots/rulesets/")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.case == "-" else Path(args.case).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"bad case: cannot read {args.case}: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = tally_case(load_case(text), rulesets_dir=args.rulesets)
    except (CaseError, RuleSetError) as exc:
        print(f"bad case: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(outcome.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
