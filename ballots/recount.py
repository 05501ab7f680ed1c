"""From vote definitions and their ballots to a tally case and an Outcome: the one recount that the
app (when the chair certifies) and the offline verifier (ballots.verify) both run.

A vote definition is the JSON the app freezes when a vote opens (voting/services/casting.py,
open_vote; docs/record-format.md "Vote definition"). One agenda item's ballot may take several
votes: the rounds of an exhaustive ballot (host city, president, regional office) or an EXCOM
election's run-off. Every rule comes from the rule set through ballots.tally.tally_case; this
module only maps the definitions onto a case (docs/record-format.md "Recount").

Conventions fixed here (the app follows them when it opens a vote):

* **president-sole**: the definition's "options" holds exactly one entry, the sole candidate
  ({"id", "label"}); ballots answer "yes", "no" or "abstain" (Art. 11.5: elected by motion).
* **Later rounds** repeat round 1's roll unchanged (I-2: the roll of members present is frozen
  when the ballot opens) and list as options exactly the options the earlier rounds left; an
  EXCOM run-off is a vote of kind "excom-block" whose options are the tied candidates and whose
  seats are the places the tie is for.
* **Quorum base** (I-1, "all_members" at the GA): the roll lists the voting members only, and
  "total" counts every member; the difference enters the tally as anonymous non-voting members.
* **Written consent** (kind "written-consent", Art. 16.3): one vote whose roll lists every EXCOM
  member as present (no quorum applies; "quorum_required" is 0) and whose "rule" says which
  threshold of all members decides ("written-consent", "dissolve-regional-office-in-writing",
  "special-session-in-writing"). Answers are "consent", "object" or "abstain"; the recount takes
  each answer's time (answered_at, the server's time of receipt, in log order) to find the moment
  of adoption (I-5). A recount runs on a closed vote: the answering is over, at adoption or at the
  deadline, unless deadline_passed=False asks for the tally so far.
* **Show of hands**: the chair's counts replace ballots for a round. The tally takes ballots per
  member, and an outcome never names a member, so the counts are laid onto the members present in
  a fixed order to run the unchanged rules; the explanation says that the round was counted by a
  show of hands, and no member's vote is recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ballots.rules import RuleSet
from ballots.tally import ABSTAIN, CONSENT, NO, OBJECT, YES, CaseError, Decision, Outcome, Step, tally_case

__all__ = [
    "CONSENT_RULES", "DECISION_OF_KIND", "ELECTION_KINDS", "MULTI_ROUND_KINDS", "ONE_OPTION_KINDS", "VOTE_KINDS",
    "WRITTEN_KINDS", "YES_NO_KINDS",
    "RecountError", "ballot_rounds", "build_case", "choice_problem", "counts_summary", "rule_parameters",
    "tally_votes",
]

YES_NO_KINDS = ("motion", "special-session", "dissolve-regional-office", "president-sole")
ONE_OPTION_KINDS = ("host-city", "president", "regional-office-bid")
ELECTION_KINDS = ("excom-approval", "excom-block")
WRITTEN_KINDS = ("written-consent",)
VOTE_KINDS = YES_NO_KINDS + ONE_OPTION_KINDS + ELECTION_KINDS + WRITTEN_KINDS
MULTI_ROUND_KINDS = ONE_OPTION_KINDS + ELECTION_KINDS

# The vote kinds of the app (VoteKind) onto the tally's decisions (docs/tally-format.md).
DECISION_OF_KIND = {
    "motion": "motion",
    "special-session": "special-session",
    "dissolve-regional-office": "dissolve-regional-office",
    "president-sole": "president",
    "host-city": "host-city",
    "president": "president",
    "regional-office-bid": "regional-office-bid",
    "excom-approval": "excom-election",
    "excom-block": "excom-election",
    "written-consent": "written-consent",
}
# A written-consent vote's "rule" onto the tally's decision (decided by answers in writing).
CONSENT_RULES = {
    "written-consent": "written-consent",
    "dissolve-regional-office-in-writing": "dissolve-regional-office",
    "special-session-in-writing": "special-session",
}

YES_NO_CHOICES = (YES, NO, ABSTAIN)
CONSENT_CHOICES = (CONSENT, OBJECT, ABSTAIN)
NOT_VOTED = "not_voted"
NOT_ANSWERED = "not_answered"
_NON_VOTING_PREFIX = "non-voting-member-"


class RecountError(CaseError):
    """Definitions, ballots or show-of-hands counts that do not form one tally; the message says why."""


# --- reading definitions ------------------------------------------------------------------------


def _kind(definition: Mapping[str, Any]) -> str:
    kind = definition.get("kind") if isinstance(definition, Mapping) else None
    if kind not in VOTE_KINDS:
        raise RecountError(f"the vote kind {kind!r} is not one of {', '.join(VOTE_KINDS)}")
    return str(kind)


def _option_ids(definition: Mapping[str, Any]) -> list[str]:
    options = definition.get("options")
    if not isinstance(options, list) or not all(isinstance(o, Mapping) and isinstance(o.get("id"), str)
                                                for o in options):
        raise RecountError(f"vote {definition.get('vote')!r}: 'options' must be a list of {{\"id\", \"label\"}} objects")
    return [o["id"] for o in options]


def _roll(definition: Mapping[str, Any]) -> tuple[list[str], list[str], int]:
    """(member ids, present ids, total) of a definition's frozen roll."""
    roll = definition.get("roll")
    if not isinstance(roll, Mapping):
        raise RecountError(f"vote {definition.get('vote')!r} has no roll")
    members = roll.get("members")
    present = roll.get("present")
    total = roll.get("total")
    if not isinstance(members, list) or not all(isinstance(m, Mapping) and isinstance(m.get("id"), str)
                                                for m in members):
        raise RecountError(f"vote {definition.get('vote')!r}: the roll's members must be {{\"id\", \"name\"}} objects")
    if not isinstance(present, list) or not all(isinstance(p, str) for p in present):
        raise RecountError(f"vote {definition.get('vote')!r}: the roll's present must be a list of member ids")
    if type(total) is not int or total < len(members):
        raise RecountError(f"vote {definition.get('vote')!r}: the roll's total must be a whole number of at least "
                           f"the {len(members)} voting members")
    return [m["id"] for m in members], list(present), total


def _body(definition: Mapping[str, Any]) -> str:
    meeting = definition.get("meeting")
    body = meeting.get("body") if isinstance(meeting, Mapping) else None
    if not isinstance(body, str):
        raise RecountError(f"vote {definition.get('vote')!r} names no deciding body (meeting.body)")
    return body


def ballot_rounds(definitions: Sequence[Mapping[str, Any]], index: int) -> list[int]:
    """Positions of one agenda item's votes that form the ballot ending at `index` (0-based, in round order).

    A yes/no vote stands alone; an exhaustive ballot takes every earlier vote of its kind back to
    the first; an EXCOM election takes its run-offs back to the round that opened it.
    """
    kind = _kind(definitions[index])
    if kind not in MULTI_ROUND_KINDS:
        return [index]
    start = index
    while start > 0:
        before = definitions[start - 1].get("kind") if isinstance(definitions[start - 1], Mapping) else None
        current = definitions[start].get("kind")
        if kind in ELECTION_KINDS:
            # A run-off is a block vote after another round of the election; an approval vote opens one.
            if current != "excom-block" or before not in ELECTION_KINDS:
                break
        elif before != kind:
            break
        start -= 1
    return list(range(start, index + 1))


def _check_rounds(definitions: Sequence[Mapping[str, Any]]) -> None:
    """The definitions must be the rounds of one ballot: same item, rule set, roll; numbered in turn."""
    if not isinstance(definitions, Sequence) or isinstance(definitions, (str, bytes)) or not definitions:
        raise RecountError("give the definitions of the ballot's rounds, in order (at least one)")
    for d in definitions:
        if not isinstance(d, Mapping):
            raise RecountError("each vote definition must be a JSON object")
    first = definitions[0]
    kind = _kind(first)
    if len(definitions) == 1:
        return
    if kind not in MULTI_ROUND_KINDS:
        raise RecountError(f"a {kind} vote is decided in one vote; {len(definitions)} definitions were given")
    members, present, total = _roll(first)
    for number, d in enumerate(definitions[1:], 2):
        ref = d.get("vote")
        later = _kind(d)
        if kind in ELECTION_KINDS:
            if later != "excom-block":
                raise RecountError(f"vote {ref!r}: a run-off of an EXCOM election is a block vote (excom-block), "
                                   f"not {later}")
        elif later != kind:
            raise RecountError(f"vote {ref!r} is a {later} vote, but round 1 of this ballot is a {kind} vote")
        for key in ("meeting", "agenda_item", "rule_set"):
            if d.get(key) != first.get(key):
                raise RecountError(f"vote {ref!r} (round {number}) has another {key} than round 1 ({first.get('vote')!r})")
        if type(d.get("round")) is not int or type(first.get("round")) is not int or \
                d["round"] != first["round"] + number - 1:
            raise RecountError(f"vote {ref!r} is numbered round {d.get('round')!r}; the rounds of a ballot are "
                               "numbered in turn")
        m, p, t = _roll(d)
        if m != members or sorted(p) != sorted(present) or t != total:
            raise RecountError(f"vote {ref!r} (round {number}) has another roll than round 1: the roll of members "
                               "present is frozen when the ballot opens (I-2), so every round repeats it")


# --- show of hands ------------------------------------------------------------------------------


def _show_keys(definition: Mapping[str, Any]) -> list[str]:
    kind = _kind(definition)
    if kind in YES_NO_KINDS:
        return list(YES_NO_CHOICES)
    if kind in ONE_OPTION_KINDS:
        return [*_option_ids(definition), ABSTAIN]
    if kind in WRITTEN_KINDS:
        raise RecountError(f"vote {definition.get('vote')!r}: written consent is given by signed answers, never by "
                           "a show of hands")
    raise RecountError(f"vote {definition.get('vote')!r}: an EXCOM election ({kind}) is held by signed ballots; "
                       "a show of hands is counted for yes/no votes and one-option rounds only")


def _check_show(definition: Mapping[str, Any], counts: Any) -> dict[str, int]:
    """The recorded counts, every key of the vote present (0 where none was given); refuse anything else."""
    ref = definition.get("vote")
    keys = _show_keys(definition)
    if not isinstance(counts, Mapping):
        raise RecountError(f"vote {ref!r}: the show-of-hands counts must map each choice to a number")
    unknown = sorted(set(counts) - set(keys))
    if unknown:
        raise RecountError(f"vote {ref!r}: the show-of-hands counts name {unknown[0]!r}, which is not a choice "
                           f"of this vote ({', '.join(keys)})")
    result = {}
    for key in keys:
        value = counts.get(key, 0)
        if type(value) is not int or value < 0:
            raise RecountError(f"vote {ref!r}: the show-of-hands count for {key!r} must be a whole number of at "
                               "least 0")
        result[key] = value
    _, present, _ = _roll(definition)
    if sum(result.values()) > len(present):
        raise RecountError(f"vote {ref!r}: the show of hands counts {sum(result.values())} votes, but only "
                           f"{len(present)} members were present")
    return result


def _synthesize(definition: Mapping[str, Any], counts: Any) -> dict[str, str]:
    """Lay show-of-hands counts onto the members present in sorted order, only to run the tally's rules."""
    checked = _check_show(definition, counts)
    _, present, _ = _roll(definition)
    members = iter(sorted(present))
    ballots: dict[str, str] = {}
    for choice, n in checked.items():
        for _ in range(n):
            ballots[next(members)] = choice
    return ballots


# --- the case -----------------------------------------------------------------------------------


def _choices(choices: Any, n: int) -> list[Mapping[str, Any]]:
    if not isinstance(choices, Sequence) or isinstance(choices, (str, bytes)) or len(choices) != n:
        raise RecountError(f"give one map member → choice per round: {n} expected")
    for i, c in enumerate(choices, 1):
        if not isinstance(c, Mapping):
            raise RecountError(f"the choices of round {i} must map member ids to their ballots' choices")
    return list(choices)


def _casting(casting_vote: Any, first_round: int) -> Any:
    """A casting vote as the case takes it: text for the last round, or a map keyed by round number.

    Round numbers are the definitions' own; the case counts the ballot's rounds from 1.
    """
    if casting_vote is None or isinstance(casting_vote, str):
        return casting_vote
    if isinstance(casting_vote, Mapping):
        result = {}
        for key, value in casting_vote.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise RecountError(f"a casting vote is keyed by round number; {key!r} is not one") from None
            result[str(number - first_round + 1)] = value
        return result
    raise RecountError("the casting vote must be the chosen option (text), or a map round → option")


def _written_case(definition: Mapping[str, Any], choices: Mapping[str, Any], times: Mapping[str, str] | None,
                  deadline_passed: bool) -> dict[str, Any]:
    """The case of a written-consent vote: all members, the answers in log order with their times."""
    ref = definition.get("vote")
    rule = definition.get("rule")
    if rule not in CONSENT_RULES:
        raise RecountError(f"vote {ref!r}: the rule {rule!r} is not one of {', '.join(CONSENT_RULES)}")
    members, present, total = _roll(definition)
    if sorted(present) != sorted(members) or total != len(members):
        raise RecountError(f"vote {ref!r}: written consent counts all members of the Executive Committee, so the "
                           "roll lists every member as present and the total is their number")
    if not isinstance(times, Mapping):
        raise RecountError(f"vote {ref!r}: written answers need the time each was received (answered_at)")
    answers = []
    for member, choice in choices.items():
        at = times.get(member)
        if not isinstance(at, str):
            raise RecountError(f"vote {ref!r}: no time of receipt is given for the answer of {member!r}")
        answers.append({"member": member, "answer": choice, "at": at})
    return {"rule_set": definition.get("rule_set"), "decision": CONSENT_RULES[rule], "body": _body(definition),
            "members": members, "answers": answers, "deadline_passed": deadline_passed,
            "deadline": definition.get("deadline")}


def build_case(definitions: Sequence[Mapping[str, Any]], choices: Sequence[Mapping[str, Any]],
               casting_vote: str | Mapping[int, str] | None = None,
               show_of_hands: Sequence[Mapping[str, int] | None] | None = None, *,
               answered_at: Sequence[Mapping[str, str] | None] | None = None,
               deadline_passed: bool = True) -> dict[str, Any]:
    """The tally case (docs/tally-format.md) of one ballot's rounds and their choices.

    choices[i] maps member ref → the ballot's choice in round i; show_of_hands[i], when not None,
    holds the chair's counts for round i instead (its choices must then be empty). casting_vote is
    the Secretary General's choice in the last round, or a map round number → choice.
    answered_at[0] (written consent only) maps member ref → the RFC 3339 time its answer was
    received; deadline_passed says the answering is over (the default for a closed vote).
    """
    _check_rounds(definitions)
    n = len(definitions)
    rounds = _choices(choices, n)
    if _kind(definitions[0]) in WRITTEN_KINDS:
        if show_of_hands is not None and any(s is not None for s in show_of_hands):
            _show_keys(definitions[0])
        if casting_vote is not None:
            raise RecountError("a casting vote applies at a meeting, not to answers in writing")
        times = answered_at[0] if answered_at else None
        return _written_case(definitions[0], rounds[0], times, deadline_passed)
    shows = [None] * n if show_of_hands is None else list(show_of_hands)
    if len(shows) != n:
        raise RecountError(f"give one show-of-hands entry (or None) per round: {n} expected")
    held: list[dict[str, Any]] = []
    for d, c, s in zip(definitions, rounds, shows, strict=True):
        if s is not None:
            if c:
                raise RecountError(f"vote {d.get('vote')!r} has both ballots and show-of-hands counts; a round is "
                                   "counted one way")
            held.append(_synthesize(d, s))
        else:
            held.append(dict(c))
    first = definitions[0]
    kind = _kind(first)
    members, present, total = _roll(first)
    case: dict[str, Any] = {
        "rule_set": first.get("rule_set"),
        "decision": DECISION_OF_KIND[kind],
        "body": _body(first),
        "members": members,
        "present": present,
    }
    if total > len(members):
        taken = set(members)
        extra = [f"{_NON_VOTING_PREFIX}{i}" for i in range(1, total - len(members) + 1)]
        if taken & set(extra):
            raise RecountError("a member id collides with the placeholder ids of non-voting members")
        case["non_voting_members"] = extra
    if kind in YES_NO_KINDS:
        case["ballots"] = held[0]
        if kind == "president-sole":
            ids = _option_ids(first)
            if len(ids) != 1:
                raise RecountError(f"vote {first.get('vote')!r}: a sole-candidate presidential vote lists exactly "
                                   f"one option, the candidate; it lists {len(ids)}")
            case["candidates"] = ids
    elif kind in ONE_OPTION_KINDS:
        key = "candidates" if kind == "president" else "options"
        case[key] = _option_ids(first)
        case["ballots"] = held
    else:
        case["candidates"] = _option_ids(first)
        case["seats"] = first.get("seats")
        case["ballots"] = held
        regions = {o["id"]: o["region"] for o in first["options"] if isinstance(o.get("region"), str)}
        if regions:
            case["regions"] = regions
    casting = _casting(casting_vote, first.get("round", 1) if type(first.get("round")) is int else 1)
    if casting is not None:
        case["casting_vote"] = casting
    return case


def _prefix_casting(casting_vote: Any, last_round: int) -> Any:
    """The casting votes of the rounds up to last_round (a text one belongs to the final round only)."""
    if casting_vote is None or isinstance(casting_vote, str):
        return None
    kept = {k: v for k, v in casting_vote.items() if int(k) <= last_round}
    return kept or None


def _check_later_rounds(definitions: Sequence[Mapping[str, Any]], choices: Sequence[Mapping[str, Any]],
                        casting_vote: Any, shows: Sequence[Any], rulesets_dir: str | Path | None) -> None:
    """Each later round must be the round the earlier ones called for: its options, and for a run-off its seats."""
    first_round = definitions[0]["round"]
    for k in range(1, len(definitions)):
        casting = _prefix_casting(casting_vote, first_round + k - 1)
        before = tally_case(build_case(definitions[:k], choices[:k], casting, shows[:k]), rulesets_dir=rulesets_dir)
        d = definitions[k]
        ref = d.get("vote")
        if before.decision != Decision.NEXT_ROUND:
            raise RecountError(f"vote {ref!r} (round {d.get('round')}) was held, but the rounds before it already "
                               f"ended the ballot ({before.decision})")
        options = _option_ids(d)
        if sorted(options) != sorted(before.remaining):
            raise RecountError(f"vote {ref!r} (round {d.get('round')}) lists {', '.join(options) or 'no options'}, "
                               f"but the rounds before it left {', '.join(before.remaining)}")
        if _kind(d) in ELECTION_KINDS and d.get("seats") != before.runoff_places:
            raise RecountError(f"vote {ref!r} is a run-off for {before.runoff_places} places, but its definition "
                               f"says {d.get('seats')!r} seats")


def tally_votes(definitions: Sequence[Mapping[str, Any]], choices: Sequence[Mapping[str, Any]],
                casting_vote: str | Mapping[int, str] | None = None,
                show_of_hands: Sequence[Mapping[str, int] | None] | None = None, *,
                rulesets_dir: str | Path | None = None,
                answered_at: Sequence[Mapping[str, str] | None] | None = None,
                deadline_passed: bool = True) -> Outcome:
    """The outcome of one agenda item's ballot: its rounds' definitions (in order) and the choices cast.

    Raises CaseError (a RecountError for the mapping itself) when the rounds do not form one ballot
    or a ballot breaks a rule. rulesets_dir: where the rule-set files are (default: ballots/rulesets).
    answered_at and deadline_passed: for a written-consent vote (see build_case).
    """
    case = build_case(definitions, choices, casting_vote, show_of_hands, answered_at=answered_at,
                      deadline_passed=deadline_passed)
    shows = [None] * len(definitions) if show_of_hands is None else list(show_of_hands)
    if len(definitions) > 1:
        _check_later_rounds(definitions, choices, casting_vote, shows, rulesets_dir)
    outcome = tally_case(case, rulesets_dir=rulesets_dir)
    counted = [d for d, s in zip(definitions, shows, strict=True) if s is not None]
    if counted and outcome.explanation:
        article = outcome.explanation[-1].article
        which = ", ".join(str(d.get("round")) for d in counted)
        text = (f"Counted by a show of hands (round{'s' if len(counted) > 1 else ''} {which}): the chair's recorded "
                "counts stand in for signed ballots and the rule set is applied to them unchanged; no member's "
                "vote is recorded.")
        outcome = replace(outcome, explanation=(Step(article, text), *outcome.explanation))
    return outcome


# --- choices and counts -------------------------------------------------------------------------


def choice_problem(definition: Mapping[str, Any], choice: Any) -> str | None:
    """Why a ballot's choice is not valid for the vote (as the server checks it when casting), or None."""
    kind = _kind(definition)
    ids = _option_ids(definition)
    if kind in WRITTEN_KINDS:
        if choice not in CONSENT_CHOICES:
            return f"the answer {choice!r} is not consent, object or abstain"
        return None
    if kind in YES_NO_KINDS:
        if choice not in YES_NO_CHOICES:
            return f"the choice {choice!r} is not yes, no or abstain"
        return None
    if kind in ONE_OPTION_KINDS:
        if not isinstance(choice, str) or (choice not in ids and choice != ABSTAIN):
            return f"the choice {choice!r} is not one of this round's options ({', '.join(ids)}) or abstain"
        return None
    if kind == "excom-block":
        if isinstance(choice, (str, bytes, Mapping)) or not isinstance(choice, Sequence):
            return "a block-vote choice must be a list of candidates"
        if any(c not in ids for c in choice):
            return f"the choice names a candidate not on this ballot ({', '.join(ids)})"
        if len(set(choice)) != len(choice):
            return "the choice names a candidate twice"
        seats = definition.get("seats")
        if type(seats) is int and len(choice) > seats:
            return f"the choice names {len(choice)} candidates for {seats} seats"
        return None
    if not isinstance(choice, Mapping) or set(choice) != set(ids) or \
            any(v not in YES_NO_CHOICES for v in choice.values()):
        return "an approval choice must answer yes, no or abstain for every candidate on the ballot"
    return None


def counts_summary(definition: Mapping[str, Any], choices: Mapping[str, Any],
                   show_of_hands: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Per-option counts of one vote, with "abstain" and "not_voted" (members present who did not vote).

    yes/no kinds: {"yes", "no", "abstain", "not_voted"}. Written consent: {"consent", "object",
    "abstain", "not_answered"} (every member is on the roll; not_answered counts those who did not
    answer in time). One-option rounds: each option id, then
    "abstain" and "not_voted". Block votes: votes per candidate; "abstain" counts empty ballots.
    Approval ballots: per candidate {"yes", "no", "abstain"}; "abstain" counts ballots that say
    neither yes nor no to anyone. A show of hands: the recorded counts, and "not_voted".
    """
    kind = _kind(definition)
    _, present, _ = _roll(definition)
    present_set = set(present)
    if show_of_hands is not None:
        if choices:
            raise RecountError(f"vote {definition.get('vote')!r} has both ballots and show-of-hands counts")
        counts: dict[str, Any] = dict(_check_show(definition, show_of_hands))
        counts[NOT_VOTED] = len(present) - sum(counts.values())
        return counts
    voted = [m for m in choices if m in present_set]
    not_voted = len(present_set) - len(voted)
    values = [choices[m] for m in voted]
    ids = _option_ids(definition)
    if kind in WRITTEN_KINDS:
        tally = Counter(v for v in values if isinstance(v, str))
        counts = {key: tally.get(key, 0) for key in CONSENT_CHOICES}
        counts[NOT_ANSWERED] = not_voted
        return counts
    if kind in YES_NO_KINDS or kind in ONE_OPTION_KINDS:
        keys = list(YES_NO_CHOICES) if kind in YES_NO_KINDS else [*ids, ABSTAIN]
        tally = Counter(v for v in values if isinstance(v, str))
        counts = {key: tally.get(key, 0) for key in keys}
    elif kind == "excom-block":
        tally = Counter(c for v in values if isinstance(v, (list, tuple)) for c in v if isinstance(c, str))
        counts = {key: tally.get(key, 0) for key in ids}
        counts[ABSTAIN] = sum(1 for v in values if isinstance(v, (list, tuple)) and not v)
    else:
        marks = {key: Counter() for key in ids}
        blank = 0
        for v in values:
            if not isinstance(v, Mapping):
                continue
            for candidate, mark in v.items():
                if candidate in marks and isinstance(mark, str):
                    marks[candidate][mark] += 1
            if not any(mark in (YES, NO) for mark in v.values()):
                blank += 1
        counts = {key: {c: marks[key].get(c, 0) for c in YES_NO_CHOICES} for key in ids}
        counts[ABSTAIN] = blank
    counts[NOT_VOTED] = not_voted
    return counts


# --- the parameters a certificate states --------------------------------------------------------


def rule_parameters(rule_set: RuleSet, kind: str, body: str) -> dict[str, Any]:
    """The thresholds and tie rules of the rule set that decide a vote of this kind at this body."""
    if kind not in VOTE_KINDS:
        raise RecountError(f"the vote kind {kind!r} is not one of {', '.join(VOTE_KINDS)}")
    if kind in WRITTEN_KINDS:
        # No quorum applies (Art. 16.3); the definition's "rule" says which of these thresholds decides.
        return {"consent_adopted_at": rule_set.interpretations.consent_adopted_at,
                "written_consent": rule_set.written_consent.consent.to_json(),
                "dissolve_regional_office_in_writing": rule_set.dissolve_regional_office.in_writing.to_json(),
                "special_session": rule_set.special_session.approval.to_json()}
    try:
        quorum = rule_set.quorum(body)
    except ValueError as exc:
        raise RecountError(str(exc)) from None
    params: dict[str, Any] = {"quorum": quorum.to_json()}
    if body == "ga":
        params["ga_quorum_base"] = rule_set.ga_quorum_base
    cv = rule_set.casting_vote
    casting = {"allowed": rule_set.casting_vote_allowed(body), "holder": cv.holder, "article": cv.article}
    if kind == "motion":
        params.update(concurrence=rule_set.motion.to_json(), motion_tie=rule_set.motion_tie, casting_vote=casting)
    elif kind == "special-session":
        params.update(approval=rule_set.special_session.approval.to_json())
    elif kind == "dissolve-regional-office":
        d = rule_set.dissolve_regional_office
        params.update(quorum=d.quorum.to_json(), concurrence=d.concurrence.to_json(),
                      is_ordinary_motion=d.is_ordinary_motion, motion_tie=rule_set.motion_tie, casting_vote=casting)
    elif kind in ("president", "president-sole"):
        pr = rule_set.president
        params.update(win=pr.win.to_json(), repeat_rounds=pr.repeat_rounds)
        if kind == "president":
            params["casting_vote"] = casting
    elif kind == "host-city":
        hc = rule_set.host_city
        params.update(win=hc.win.to_json(), repeat_rounds=hc.repeat_rounds, selected_by=list(hc.selected_by),
                      confirmed_by=hc.confirmed_by, casting_vote=casting,
                      fallback=rule_set.host_city_fallback.to_json())
    elif kind == "regional-office-bid":
        rob = rule_set.regional_office_bid
        params.update(method=rule_set.interpretations.regional_office_bid, repeat_rounds=rob.repeat_rounds,
                      article=rob.article, casting_vote=casting)
    else:
        ee = rule_set.excom_election
        params.update(threshold=ee.threshold.to_json(), runoff_rounds=ee.runoff_rounds, region_cap=ee.region_cap)
    return params
