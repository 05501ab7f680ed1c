"""Votes (one per round of an agenda item's decision), signed ballots and signed checkpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .common import UTCDateTime, str_enum, utcnow
from .meetings import AgendaItem, Meeting


class VoteKind(enum.StrEnum):
    """What a ballot chooses: yes/no/abstain, one option, or several candidates."""

    MOTION = "motion"
    SPECIAL_SESSION = "special-session"
    DISSOLVE_REGIONAL_OFFICE = "dissolve-regional-office"
    HOST_CITY = "host-city"
    PRESIDENT = "president"
    PRESIDENT_SOLE = "president-sole"
    REGIONAL_OFFICE_BID = "regional-office-bid"
    EXCOM_APPROVAL = "excom-approval"
    EXCOM_BLOCK = "excom-block"
    WRITTEN_CONSENT = "written-consent"  # answers consent/object/abstain, collected remotely (Art. 16.3)


YES_NO_KINDS = frozenset({VoteKind.MOTION, VoteKind.SPECIAL_SESSION, VoteKind.DISSOLVE_REGIONAL_OFFICE,
                          VoteKind.PRESIDENT_SOLE})
ONE_OPTION_KINDS = frozenset({VoteKind.HOST_CITY, VoteKind.PRESIDENT, VoteKind.REGIONAL_OFFICE_BID})


class VoteState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CERTIFIED = "certified"


class Vote(Base):
    """One ballot of an agenda item (one round of an exhaustive ballot), with its Merkle log state."""

    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("agenda_item_id", "round"),
        # One open vote per agenda item at a time.
        Index("uq_vote_open_per_item", "agenda_item_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[VoteKind] = mapped_column(str_enum(VoteKind, "vote_kind"))
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[VoteState] = mapped_column(str_enum(VoteState, "vote_state"), default=VoteState.OPEN)
    # The vote definition exactly as hashed into every ballot (RFC 8785 canonical JSON).
    definition: Mapped[bytes] = mapped_column(LargeBinary)
    definition_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(120))
    # The Merkle log: its size and compact range (log.CompactRange JSON), and the newest checkpoint.
    log_size: Mapped[int] = mapped_column(Integer, default=0)
    log_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A secret ballot (CRYPTO_DESIGN.md "Secret ballots"): the ballot log holds envelopes; the
    # sealed choices wait in sealed_ballot until the close writes their log (sealed_checkpoint),
    # and the tellers' key opens them (opening: the sorted choices and the count of invalid ones).
    is_secret: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    sealed_checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    opening: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    meeting: Mapped[Meeting] = relationship()
    agenda_item: Mapped[AgendaItem] = relationship()


class Ballot(Base):
    """A signed ballot exactly as received: the bytes, the signature and where it sits in the log."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("vote_id", "member_ref"),  # one vote per member, whichever representative
        UniqueConstraint("vote_id", "leaf_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), index=True)
    member_ref: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegate.id"))
    key_id: Mapped[str] = mapped_column(String(40))
    bytes: Mapped[bytes] = mapped_column(LargeBinary)
    bytes_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_index: Mapped[int] = mapped_column(Integer)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    registry_seq: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The receipt as answered (inclusion proof against the checkpoint signed for this ballot).
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)

    vote: Mapped[Vote] = relationship()


class SealedBallot(Base):
    """A sealed choice of a secret vote, by its tracker (SHA-256 of the bytes). Deliberately nothing
    else: no member, delegate, ballot or time, and no serial id whose order would follow arrival.
    The leaf index is given when the vote closes, in tracker order."""

    __tablename__ = "sealed_ballot"

    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), primary_key=True)
    tracker: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_index: Mapped[int | None] = mapped_column(Integer)


class TellerKey(Base):
    """The tellers' X25519 key of a meeting's secret votes. Its private part is in instance/ while
    the server holds it, or in the file the Secretariat exported; it may be published after the count."""

    __tablename__ = "teller_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))
    is_on_server: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_private_key: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship()


class SignedCheckpoint(Base):
    """Every checkpoint the organization key signed for a vote's log (witnessed on the projector)."""

    __tablename__ = "signed_checkpoint"
    __table_args__ = (UniqueConstraint("vote_id", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Certificate(Base):
    """The certified result of a vote: canonical body signed by the organization and the chair."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(20))
    certified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    certified_by: Mapped[str] = mapped_column(String(120))

    vote: Mapped[Vote] = relationship()


class HandCount(Base):
    """A show-of-hands count recorded by the chair and confirmed by a second staff account."""

    __tablename__ = "hand_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), unique=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CastingVote(Base):
    """The Secretary General's casting vote on a tie (Art. 12.7, wego-2017 EXCOM): requested by the
    chair, signed on the Secretary General's own device."""

    __tablename__ = "casting_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), unique=True)
    tied: Mapped[list[str]] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ballot: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(40))
    registry_seq: Mapped[int | None] = mapped_column(Integer)
    choice: Mapped[str | None] = mapped_column(String(64))
    cast_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    vote: Mapped[Vote] = relationship()
