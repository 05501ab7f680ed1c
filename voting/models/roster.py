"""Members, their delegates, Executive Committee seats and staff accounts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .common import Category, MemberStatus, Office, Role, UTCDateTime, str_enum, utcnow


class Member(Base):
    """A member of the Organization (a city, state, region, institution or company)."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("name", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    country: Mapped[str] = mapped_column(String(80))
    region: Mapped[str] = mapped_column(String(40))
    category: Mapped[Category] = mapped_column(str_enum(Category, "category"))
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, "member_status"), default=MemberStatus.ACTIVE
    )
    # The day the current status took effect; a suspension decided for a later date leaves the
    # member voting until then (Art. 12.2(a)).
    status_effective_on: Mapped[date | None] = mapped_column(Date)
    fee_paid_through: Mapped[int | None] = mapped_column(Integer)
    joined_on: Mapped[date | None] = mapped_column(Date)
    is_placeholder: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    delegates: Mapped[list[Delegate]] = relationship(back_populates="member", order_by="Delegate.id")
    seats: Mapped[list[ExcomSeat]] = relationship(back_populates="member", order_by="ExcomSeat.term_start")

    def in_good_standing_on(self, day: date) -> bool:
        """Active on that day: active now, or a later status not yet in effect."""
        if self.status == MemberStatus.ACTIVE:
            return True
        return self.status_effective_on is not None and self.status_effective_on > day

    def votes_in_ga_on(self, day: date) -> bool:
        """Only full members in good standing vote in the General Assembly (Art. 10.1, 5, 6)."""
        return self.category == Category.FULL and self.in_good_standing_on(day)

    @property
    def display(self) -> str:
        return f"{self.name} ({self.country})"


class Delegate(Base):
    """A person representing a member; voting representatives cast the member's one vote."""

    __tablename__ = "delegate"
    __table_args__ = (UniqueConstraint("member_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_voting: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member: Mapped[Member] = relationship(back_populates="delegates")


class ExcomSeat(Base):
    """Which member sits on the Executive Committee for which term, in which office (Art. 12.1)."""

    __tablename__ = "excom_seat"
    __table_args__ = (
        UniqueConstraint("member_id", "term_start"),
        CheckConstraint("term_end >= term_start", name="term_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    office: Mapped[Office] = mapped_column(str_enum(Office, "office"), default=Office.MEMBER)
    term_start: Mapped[int] = mapped_column(Integer)
    term_end: Mapped[int] = mapped_column(Integer)

    member: Mapped[Member] = relationship(back_populates="seats")


class StaffAccount(Base):
    """A staff login (password, argon2id) with one role."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    is_active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
