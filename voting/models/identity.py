"""Enrolment codes, device keys and the key registry's events (CRYPTO_DESIGN.md "Keys")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .common import UTCDateTime, utcnow
from .meetings import Meeting
from .roster import Delegate, StaffAccount


class EnrolmentToken(Base):
    """A single-use enrolment code for one delegate; only its SHA-256 is stored."""

    __tablename__ = "enrolment_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegate.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_key: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(120), default="")

    delegate: Mapped[Delegate] = relationship()
    meeting: Mapped[Meeting | None] = relationship()


class DeviceKey(Base):
    """A device signing key held in a browser (delegate or staff); revoked, never deleted."""

    __tablename__ = "device_key"
    __table_args__ = (
        # At most one active key per delegate and per staff account.
        Index("uq_device_key_active_delegate", "delegate_id", unique=True,
              sqlite_where=text("revoked_at IS NULL AND delegate_id IS NOT NULL"),
              postgresql_where=text("revoked_at IS NULL AND delegate_id IS NOT NULL")),
        Index("uq_device_key_active_staff", "staff_id", unique=True,
              sqlite_where=text("revoked_at IS NULL AND staff_id IS NOT NULL"),
              postgresql_where=text("revoked_at IS NULL AND staff_id IS NOT NULL")),
    )

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("delegate.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    public_key: Mapped[str] = mapped_column(Text)  # SPKI DER, base64url
    algorithm: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(100))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrol_seq: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(500))

    delegate: Mapped[Delegate | None] = relationship()
    staff: Mapped[StaffAccount | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class KeyEvent(Base):
    """One event of the key registry's hash chain, stored exactly as published."""

    __tablename__ = "key_event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10))
    delegate: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Attendance(Base):
    """Whether a delegate is checked in at a meeting now; each change is also an audit event."""

    __tablename__ = "attendance"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegate.id"), primary_key=True)
    is_present: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    via: Mapped[str] = mapped_column(String(20))  # "venue-qr" or "desk"
    by: Mapped[str] = mapped_column(String(120))

    delegate: Mapped[Delegate] = relationship()
