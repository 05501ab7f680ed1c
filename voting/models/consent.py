"""Resolutions of the Executive Committee by written consent (Art. 16.3), the personal links that
bring each voting representative to the answer page, and answers that arrived too late (I-5)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .common import UTCDateTime, str_enum, utcnow
from .identity import EnrolmentToken
from .meetings import Meeting
from .roster import Delegate
from .votes import Vote


class ConsentRule(enum.StrEnum):
    """Which threshold of all EXCOM members decides the resolution (STATUTE_RULES.md §3, §4)."""

    WRITTEN_CONSENT = "written-consent"
    DISSOLVE_REGIONAL_OFFICE = "dissolve-regional-office-in-writing"
    SPECIAL_SESSION = "special-session-in-writing"


class ResolutionState(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"


class Resolution(Base):
    """A resolution the Secretariat drafts and sends; its text is fixed (and hashed) when sent."""

    __tablename__ = "resolution"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    # [{"label": "...", "url": "https://..."}], in the order the Secretariat gave them.
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Like str_enum, wider: "dissolve-regional-office-in-writing" is longer than its 32 characters.
    rule: Mapped[ConsentRule] = mapped_column(Enum(ConsentRule, name="consent_rule", native_enum=False,
                                                   create_constraint=True, length=40, validate_strings=True,
                                                   values_callable=lambda e: [m.value for m in e]))
    rule_set: Mapped[str] = mapped_column(String(60))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The Secretariat's clock for printing times (the deadline was entered with this offset).
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[ResolutionState] = mapped_column(str_enum(ResolutionState, "resolution_state"),
                                                   default=ResolutionState.DRAFT)
    # SHA-256 (hex) of the text's UTF-8 bytes, fixed when the resolution is sent.
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_by: Mapped[str | None] = mapped_column(String(120))
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The pseudo-meeting and the vote the answers are cast in, once sent.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), unique=True)
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("vote.id"), unique=True)
    # The draft this one was copied from (an edit after sending is a new resolution).
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("resolution.id"))

    meeting: Mapped[Meeting | None] = relationship()
    vote: Mapped[Vote | None] = relationship()

    @property
    def is_draft(self) -> bool:
        return self.state == ResolutionState.DRAFT

    @property
    def is_open(self) -> bool:
        return self.state == ResolutionState.SENT

    @property
    def is_closed(self) -> bool:
        return self.state in (ResolutionState.ADOPTED, ResolutionState.NOT_ADOPTED)


class ConsentLink(Base):
    """A personal link (and QR) for one voting representative; only its hash is stored.

    For a representative without a device key, the same code is also a single-use enrolment
    code (`enrolment_token`); otherwise the link only signs in a phone that holds the key.
    """

    __tablename__ = "consent_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(ForeignKey("resolution.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegate.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolment_token_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment_token.id"))
    # Why it was issued: "invitation", "reminder", "sheet", "new-link" or "lost-phone".
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_error: Mapped[str | None] = mapped_column(String(500))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resolution: Mapped[Resolution] = relationship()
    delegate: Mapped[Delegate] = relationship()
    enrolment_token: Mapped[EnrolmentToken | None] = relationship()


class LateAnswer(Base):
    """A signed answer received after adoption or after the deadline: kept and published, never
    counted (I-5). Stored exactly as received, like a ballot, but outside the vote's log."""

    __tablename__ = "late_answer"
    __table_args__ = (UniqueConstraint("vote_id", "member_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"), index=True)
    member_ref: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegate.id"))
    key_id: Mapped[str] = mapped_column(String(40))
    bytes: Mapped[bytes] = mapped_column(LargeBinary)
    bytes_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    registry_seq: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "adopted" (after the adoption moment) or "deadline" (after the deadline passed).
    reason: Mapped[str] = mapped_column(String(20))
    choice: Mapped[str] = mapped_column(String(20))

    vote: Mapped[Vote] = relationship()
    delegate: Mapped[Delegate] = relationship()

