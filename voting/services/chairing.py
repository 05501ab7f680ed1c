"""What the chair's console needs: the options an agenda item's vote offers, and live turnout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ballots.rules import load_rule_set
from ballots.tally import check_notice

from ..errors import Invalid
from ..extensions import db
from ..models import (
    AgendaItem,
    Ballot,
    Candidacy,
    CandidacyKind,
    DecisionKind,
    Delegate,
    Meeting,
    Vote,
    VoteKind,
    VoteState,
)
from .casting import Option, definition_of

DECISION_TO_CANDIDACY = {
    DecisionKind.HOST_CITY: CandidacyKind.HOST_CITY,
    DecisionKind.PRESIDENT: CandidacyKind.PRESIDENT,
    DecisionKind.EXCOM_ELECTION: CandidacyKind.EXCOM,
    DecisionKind.REGIONAL_OFFICE_BID: CandidacyKind.REGIONAL_OFFICE,
}
NOTICE_KIND = {CandidacyKind.HOST_CITY: "host_city_bid", CandidacyKind.PRESIDENT: "president_candidacy",
               CandidacyKind.EXCOM: "excom_candidacy"}


@dataclass(frozen=True)
class CandidateOption:
    option: Option
    candidacy: Candidacy
    admissible: bool
    notice: str


def option_id(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "option"


def candidates_for(item: AgendaItem) -> list[CandidateOption]:
    """The candidacies or bids an item decides on: this meeting's, or another meeting's of the same
    year (a host-city bid is decided by the EXCOM and confirmed by the GA), with the notice check."""
    kind = DECISION_TO_CANDIDACY.get(item.decision)
    if kind is None:
        return []
    meeting = item.meeting
    year = meeting.starts_at.year
    rows = db.session.scalars(select(Candidacy).join(Meeting).where(Candidacy.kind == kind)).all()
    rows = [c for c in rows if c.meeting_id == meeting.id or c.meeting.starts_at.year == year]
    rule_set = load_rule_set(meeting.rule_set)
    out: list[CandidateOption] = []
    seen: set[int] = set()
    for cand in sorted(rows, key=lambda c: c.member.name):
        if cand.member_id in seen:
            continue
        seen.add(cand.member_id)
        if kind not in NOTICE_KIND:
            admissible, notice = True, "The statute sets no notice period for this kind of bid."
        elif cand.notified_on is None:
            admissible, notice = True, "No date of written notice recorded; check it before admitting."
        else:
            target = cand.meeting.starts_at.date()
            try:
                check = check_notice(rule_set, NOTICE_KIND[kind], cand.notified_on, target)
                admissible, notice = check.ok, check.message
            except ValueError as err:
                admissible, notice = True, f"Notice check not available: {err}"
        out.append(CandidateOption(Option(option_id(cand.member.name), cand.member.name), cand, admissible, notice))
    return out


def kind_for(item: AgendaItem, n_options: int, seats: int | None) -> VoteKind:
    """The ballot an item's decision needs (STATUTE_RULES §2–§5)."""
    decision = item.decision
    if decision in (DecisionKind.MOTION, DecisionKind.NONE):
        return VoteKind.MOTION
    if decision == DecisionKind.SPECIAL_SESSION:
        return VoteKind.SPECIAL_SESSION
    if decision == DecisionKind.DISSOLVE_REGIONAL_OFFICE:
        return VoteKind.DISSOLVE_REGIONAL_OFFICE
    if decision == DecisionKind.HOST_CITY:
        # Where this body only confirms another body's selection (wego-2014: the GA confirms the
        # EXCOM's choice, Art. 10.1(e)), the vote is a motion to confirm.
        host = load_rule_set(item.meeting.rule_set).host_city
        return VoteKind.HOST_CITY if item.meeting.body.value in host.selected_by else VoteKind.MOTION
    if decision == DecisionKind.REGIONAL_OFFICE_BID:
        return VoteKind.REGIONAL_OFFICE_BID
    if decision == DecisionKind.PRESIDENT:
        return VoteKind.PRESIDENT_SOLE if n_options == 1 else VoteKind.PRESIDENT
    if decision == DecisionKind.EXCOM_ELECTION:
        if not seats:
            raise Invalid("Say how many seats are to be filled.")
        return VoteKind.EXCOM_APPROVAL if n_options <= seats else VoteKind.EXCOM_BLOCK
    raise Invalid("Written consent is collected remotely, not by a vote in the hall.")


def default_seats(item: AgendaItem) -> int | None:
    """Elective EXCOM seats: the rule set's seats minus those already seated beyond this year."""
    if item.decision != DecisionKind.EXCOM_ELECTION:
        return None
    return load_rule_set(item.meeting.rule_set).excom.seats


@dataclass(frozen=True)
class Turnout:
    vote: Vote
    present: int
    total: int
    voted: int
    voted_names: tuple[str, ...]
    waiting_names: tuple[str, ...]
    checkpoint_size: int
    checkpoint_root: str

    def to_json(self, *, names: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "vote": self.vote.id, "state": self.vote.state.value, "present": self.present, "total": self.total,
            "voted": self.voted, "not_voted": self.present - self.voted,
            "checkpoint": {"size": self.checkpoint_size, "root": self.checkpoint_root[:12]},
        }
        if names:
            data["voted_names"] = list(self.voted_names)
            data["waiting_names"] = list(self.waiting_names)
        return data


def turnout(vote: Vote) -> Turnout:
    """Members present at opening, voted and not yet voted (never what they chose)."""
    definition = definition_of(vote)
    names = {m["id"]: m["name"] for m in definition["roll"]["members"]}
    present = definition["roll"]["present"]
    voted = set(db.session.scalars(select(Ballot.member_ref).where(Ballot.vote_id == vote.id)).all())
    checkpoint = vote.checkpoint or {"size": 0, "root": ""}
    return Turnout(
        vote=vote, present=len(present), total=definition["roll"]["total"], voted=len(voted),
        voted_names=tuple(sorted(names[m] for m in voted if m in names)),
        waiting_names=tuple(sorted(names[m] for m in present if m not in voted)),
        checkpoint_size=int(checkpoint["size"]), checkpoint_root=str(checkpoint["root"]),
    )


def votes_of(item: AgendaItem) -> list[Vote]:
    return list(db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id).order_by(Vote.round)).all())


def open_vote_of(meeting: Meeting) -> Vote | None:
    return db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id, Vote.state == VoteState.OPEN)
                              .order_by(Vote.opened_at.desc())).first()


def who_voted(vote: Vote) -> dict[str, tuple[str, Any]]:
    rows = db.session.execute(select(Ballot.member_ref, Delegate.display_name, Ballot.received_at)
                              .join(Delegate, Delegate.id == Ballot.delegate_id).where(Ballot.vote_id == vote.id)).all()
    return {m: (name, at) for m, name, at in rows}
