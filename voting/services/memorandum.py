"""The meeting memorandum draft: each agenda item with its certified outcome in words."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import AgendaItem, Meeting, Vote, VoteState
from . import casting, certification, outcome_words


@dataclass(frozen=True)
class Entry:
    item: AgendaItem
    sentences: tuple[str, ...]


def _title(item: AgendaItem) -> str:
    """How a sentence names the item: 'Agenda 1, “Annual Assessment of Regional Offices”'."""
    return f"Agenda {item.number}, “{item.title.strip()}”"


def entries(meeting: Meeting) -> list[Entry]:
    out = []
    for item in meeting.agenda:
        votes = db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id, Vote.state == VoteState.CERTIFIED)
                                   .order_by(Vote.round)).all()
        sentences = []
        for vote in votes:
            cert = certification.certificate_of(vote)
            if cert is None:
                continue
            sentences.append(outcome_words.memorandum_sentence(cert.document["body"], casting.definition_of(vote),
                                                               _title(item)))
        if not sentences:
            sentences = ["Reported; no decision was taken." if item.decision.value == "none"
                         else "No certified result yet."]
        out.append(Entry(item, tuple(sentences)))
    return out


def draft(meeting: Meeting) -> str:
    """Markdown: a heading per agenda item and its decisions in words, with their articles."""
    lines = [f"# Meeting memorandum (draft): {meeting.title}", "",
             f"{meeting.starts_at:%d %B %Y}, {meeting.city or meeting.venue}. Rule set {meeting.rule_set}.", ""]
    for entry in entries(meeting):
        lines.append(f"## Agenda {entry.item.number}: {entry.item.title}")
        lines.append("")
        lines.extend(f"- {s}" for s in entry.sentences)
        lines.append("")
    lines.append("Each result above is certified; its certificate and the election record are published on the results page.")
    return "\n".join(lines) + "\n"
