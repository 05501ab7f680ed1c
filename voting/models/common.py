"""Column types and enumerations shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, TypeDecorator
from sqlalchemy.engine import Dialect


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (all *_at columns hold these)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on PostgreSQL and SQLite alike; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw text in some aggregate queries
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR with a CHECK constraint holding the enum's values."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Category(enum.StrEnum):
    """Membership categories (Art. 5, 6; corporate members: Agenda 7 of 2017)."""

    FULL = "full"
    ASSOCIATE = "associate"
    FRIENDSHIP = "friendship"
    CORPORATE = "corporate"


class MemberStatus(enum.StrEnum):
    """A member's standing; suspension and withdrawal take effect on a date (Art. 12.2(a))."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class Office(enum.StrEnum):
    """Offices on the Executive Committee (Art. 11, 12.1)."""

    PRESIDENT = "president"
    EXECUTIVE_VICE_PRESIDENT = "executive-vice-president"
    VICE_PRESIDENT = "vice-president"
    MEMBER = "member"


class Role(enum.StrEnum):
    """Staff roles; each view declares which of them it serves."""

    SECRETARIAT = "secretariat"
    CHAIR = "chair"
    SECRETARY_GENERAL = "secretary-general"
    OBSERVER = "observer"


class Body(enum.StrEnum):
    """The deciding bodies (Art. 10, 12)."""

    GA = "ga"
    EXCOM = "excom"


class DecisionKind(enum.StrEnum):
    """The kinds of decision an agenda item may need (STATUTE_RULES.md §2–§5)."""

    NONE = "none"
    MOTION = "motion"
    SPECIAL_SESSION = "special-session"
    DISSOLVE_REGIONAL_OFFICE = "dissolve-regional-office"
    REGIONAL_OFFICE_BID = "regional-office-bid"
    WRITTEN_CONSENT = "written-consent"
    HOST_CITY = "host-city"
    EXCOM_ELECTION = "excom-election"
    PRESIDENT = "president"


class CandidacyKind(enum.StrEnum):
    """What a member city puts itself forward for, by written notice."""

    HOST_CITY = "host-city"
    EXCOM = "excom"
    PRESIDENT = "president"
    REGIONAL_OFFICE = "regional-office"


LABELS: dict[str, str] = {
    "ga": "General Assembly",
    "excom": "Executive Committee",
    "full": "Full member",
    "associate": "Associate member",
    "friendship": "Friendship member",
    "corporate": "Corporate member",
    "active": "Active",
    "suspended": "Suspended",
    "withdrawn": "Withdrawn",
    "president": "President city",
    "executive-vice-president": "Executive vice president",
    "vice-president": "Vice president",
    "member": "Member",
    "secretariat": "Secretariat",
    "chair": "Chair",
    "secretary-general": "Secretary General",
    "observer": "Observer",
    "none": "No vote (report)",
    "motion": "Motion",
    "special-session": "Special session of the GA",
    "dissolve-regional-office": "Dissolve a regional office",
    "regional-office-bid": "Regional office bids",
    "written-consent": "Written consent",
    "host-city": "Host city (exhaustive ballot)",
    "excom-election": "Executive Committee election",
    "regional-office": "Regional office",
}


def label(value: object) -> str:
    """A person's word for an enum value."""
    key = value.value if isinstance(value, enum.Enum) else str(value)
    return LABELS.get(key, key)
