"""Meetings, their agenda items, and candidacies and bids put to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .common import Body, CandidacyKind, DecisionKind, UTCDateTime, str_enum, utcnow
from .roster import Member


class Meeting(Base):
    """A meeting of the General Assembly or the Executive Committee under one rule set."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    body: Mapped[Body] = mapped_column(str_enum(Body, "body"))
    rule_set: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The venue's UTC offset in minutes, so that times print as the hall's clock shows them.
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    venue: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    host_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # Elections (EXCOM, president, host city) are secret ballots unless the chair says otherwise.
    secret_elections: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    host: Mapped[Member | None] = relationship()
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position"
    )
    candidacies: Mapped[list[Candidacy]] = relationship(
        back_populates="meeting", order_by="Candidacy.id"
    )


class AgendaItem(Base):
    """One item of a meeting's agenda and the kind of decision it needs."""

    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[DecisionKind] = mapped_column(
        str_enum(DecisionKind, "decision_kind"), default=DecisionKind.MOTION
    )
    summary: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class Candidacy(Base):
    """A member's written notice of candidacy or bid, dated, for a meeting (Art. 10.4, 11.5, 12.4)."""

    __tablename__ = "candidacy"
    __table_args__ = (UniqueConstraint("meeting_id", "kind", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[CandidacyKind] = mapped_column(str_enum(CandidacyKind, "candidacy_kind"))
    notified_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="candidacies")
    member: Mapped[Member] = relationship()
