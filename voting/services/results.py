"""Tallying an agenda item's closed votes under its rule set, next rounds, and results in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ballots.canonical import parse_ballot
from ballots.tally import CaseError, Decision, Outcome

from ..errors import Conflict
from ..extensions import db
from ..models import AgendaItem, Ballot, Vote, VoteKind, VoteState
from . import casting
from .outcome_words import CHOICE_WORDS, in_order

DECISION_WORDS = {
    "adopted": "Adopted",
    "not_adopted": "Not adopted",
    "elected": "Elected",
    "winner": "Decided",
    "next_round": "Another round is needed",
    "awaiting_casting_vote": "Tie: the Secretary General's casting vote is needed",
    "no_decision": "No decision",
    "no_quorum": "Not adopted: no quorum",
    "pending": "Pending",
}


@dataclass(frozen=True)
class ItemResult:
    """The tally of an item's rounds up to one vote, or why it cannot be tallied."""

    outcome: Outcome | None
    error: str | None
    labels: dict[str, str]

    @property
    def words(self) -> str:
        if self.outcome is None:
            return self.error or ""
        return DECISION_WORDS.get(str(self.outcome.decision), str(self.outcome.decision))

    def label(self, option_id: str) -> str:
        return self.labels.get(option_id) or CHOICE_WORDS.get(option_id, option_id)

    @property
    def count_rows(self) -> list[tuple[str, int]]:
        """The last round's counts in reading order (yes, no, options, abstain), with their words."""
        if self.outcome is None:
            return []
        counts = dict(self.outcome.counts)
        return [(self.label(k), counts[k]) for k in in_order(list(counts), list(self.labels))]


def rounds_of(item: AgendaItem, upto: Vote | None = None) -> list[Vote]:
    """The item's closed rounds in order, up to and including `upto`."""
    votes = db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id).order_by(Vote.round)).all()
    out = []
    for v in votes:
        if v.state == VoteState.OPEN:
            break
        out.append(v)
        if upto is not None and v.id == upto.id:
            break
    return out


def choices_of(vote: Vote) -> dict[str, Any]:
    """member ref → the choice on its counted ballot. For a secret vote, the tellers' opened choices
    laid onto the members who signed envelopes, both in sorted order (ballots.sealed.lay_onto_voters):
    the tally takes a ballot per member, and no member's own vote is known."""
    rows = db.session.scalars(select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.leaf_index)).all()
    if vote.is_secret:
        from ballots.sealed import lay_onto_voters

        if vote.opening is None:
            raise SealedNotOpened(vote)
        return lay_onto_voters([b.member_ref for b in rows], vote.opening, casting.definition_of(vote))
    return {b.member_ref: parse_ballot(b.bytes).to_json()["choice"] for b in rows}


class SealedNotOpened(Exception):
    """A secret vote is closed but its sealed ballots are not opened yet."""

    def __init__(self, vote: Vote):
        super().__init__(f"The sealed ballots of round {vote.round} are not opened yet: the tellers' key opens them "
                         "(on the vote's page).")


def _hands(vote: Vote) -> dict[str, int] | None:
    """The counts taken by hand for a vote, once a second staff account confirmed them."""
    from ..models import HandCount

    row = db.session.scalars(select(HandCount).where(HandCount.vote_id == vote.id)).first()
    return dict(row.counts) if row is not None and row.confirmed_by is not None else None


def _series(votes: list[Vote]) -> list[Vote]:
    """The rounds that form one tally: an exhaustive ballot's rounds, or an election with its run-offs;
    a motion stands alone (its latest vote)."""
    if not votes:
        return []
    if votes[-1].kind in (VoteKind.MOTION, VoteKind.SPECIAL_SESSION, VoteKind.DISSOLVE_REGIONAL_OFFICE,
                          VoteKind.PRESIDENT_SOLE):
        return votes[-1:]
    return votes


def _casting_votes(votes: list[Vote]) -> dict[int, str] | None:
    """The Secretary General's casting votes cast in these rounds, by round number."""
    from ..models import CastingVote

    rows = db.session.scalars(select(CastingVote).where(CastingVote.vote_id.in_([v.id for v in votes]))).all()
    by_vote = {r.vote_id: r.choice for r in rows if r.choice}
    found = {v.round: by_vote[v.id] for v in votes if v.id in by_vote}
    return found or None


def tally_item(item: AgendaItem, upto: Vote | None = None) -> ItemResult:
    """The outcome of the item's closed rounds under its meeting's rule set (ballots.recount), with
    every casting vote and confirmed show of hands in force."""
    from ballots.recount import tally_votes

    votes = _series(rounds_of(item, upto))
    if not votes:
        return ItemResult(None, "No closed vote yet.", {})
    definitions = [casting.definition_of(v) for v in votes]
    labels = {o["id"]: o["label"] for d in definitions for o in d["options"]}
    shows = [_hands(v) for v in votes]
    from .consent import answer_times  # written consent: each answer's time of receipt (I-5)

    try:
        choices = [choices_of(v) for v in votes]
    except SealedNotOpened as err:
        return ItemResult(None, str(err), labels)
    try:
        outcome = tally_votes(definitions, choices, casting_vote=_casting_votes(votes),
                              show_of_hands=shows if any(s is not None for s in shows) else None,
                              answered_at=[answer_times(v) for v in votes])
    except (CaseError, ValueError) as err:
        return ItemResult(None, f"The tally could not be computed: {err}", labels)
    return ItemResult(outcome, None, labels)


def open_next_round(vote: Vote) -> Vote:
    """The next round of an exhaustive ballot or election run-off, with the options still in the running."""
    if vote.state == VoteState.OPEN:
        raise Conflict("Close this round before opening the next.")
    result = tally_item(vote.agenda_item, upto=vote)
    outcome = result.outcome
    if outcome is None or outcome.decision != Decision.NEXT_ROUND:
        raise Conflict("The tally does not call for another round.", hint="Read the tally's explanation on this page.")
    definition = casting.definition_of(vote)
    remaining = [casting.Option(o, result.label(o)) for o in outcome.remaining]
    seats = outcome.runoff_places if outcome.runoff_places else definition["seats"]
    kind = vote.kind
    if kind in (VoteKind.EXCOM_APPROVAL, VoteKind.EXCOM_BLOCK):
        kind = VoteKind.EXCOM_BLOCK
    question = vote.question
    return casting.open_vote(vote.agenda_item, kind, question, remaining, seats=seats, round_number=vote.round + 1,
                             secret=vote.is_secret)


def public_result(vote: Vote) -> dict[str, Any] | None:
    """The certified result as the projector shows it (None before certification)."""
    from flask import url_for

    from ..models import Certificate
    from . import outcome_words

    cert = db.session.scalars(select(Certificate).where(Certificate.vote_id == vote.id)).first()
    if cert is None or "chair" not in cert.document.get("signatures", {}):
        return None
    body = cert.document["body"]
    definition = casting.definition_of(vote)
    return {"decision": body["outcome"]["decision"], "headline": outcome_words.headline(body, definition),
            "count_lines": outcome_words.count_lines(body, definition), "rule": outcome_words.rule_in_words(body, definition),
            "hash": cert.sha256, "qr": url_for("results.certificate_qr", vote_id=vote.id)}
