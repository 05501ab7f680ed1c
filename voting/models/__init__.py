"""Typed SQLAlchemy 2 models; importing this package registers every table."""

from .audit import AuditEvent, ChainHead
from .common import (
    Body,
    CandidacyKind,
    Category,
    DecisionKind,
    MemberStatus,
    Office,
    Role,
    label,
    utcnow,
)
from .consent import ConsentLink, ConsentRule, LateAnswer, Resolution, ResolutionState
from .identity import Attendance, DeviceKey, EnrolmentToken, KeyEvent
from .meetings import AgendaItem, Candidacy, Meeting
from .roster import Delegate, ExcomSeat, Member, StaffAccount
from .votes import (
    ONE_OPTION_KINDS,
    YES_NO_KINDS,
    Ballot,
    CastingVote,
    Certificate,
    HandCount,
    SealedBallot,
    SignedCheckpoint,
    TellerKey,
    Vote,
    VoteKind,
    VoteState,
)

__all__ = [
    "AgendaItem",
    "Ballot",
    "ONE_OPTION_KINDS",
    "SealedBallot",
    "SignedCheckpoint",
    "TellerKey",
    "Vote",
    "VoteKind",
    "VoteState",
    "YES_NO_KINDS",
    "Attendance",
    "DeviceKey",
    "EnrolmentToken",
    "KeyEvent",
    "AuditEvent",
    "Body",
    "Candidacy",
    "CastingVote",
    "CandidacyKind",
    "Category",
    "Certificate",
    "ConsentLink",
    "ConsentRule",
    "ChainHead",
    "DecisionKind",
    "Delegate",
    "ExcomSeat",
    "HandCount",
    "LateAnswer",
    "Meeting",
    "Member",
    "MemberStatus",
    "Office",
    "Resolution",
    "ResolutionState",
    "Role",
    "StaffAccount",
    "label",
    "utcnow",
]
