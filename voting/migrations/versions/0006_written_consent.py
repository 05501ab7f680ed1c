"""written consent: resolutions, personal links, late answers; vote kind written-consent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 20:30:24.197955
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

VOTE_KINDS = ["motion", "special-session", "dissolve-regional-office", "host-city", "president", "president-sole",
              "regional-office-bid", "excom-approval", "excom-block"]


def _vote_kind_check(kinds: list[str]) -> None:
    """Replace the vote table's CHECK on `kind` (the VoteKind values; str_enum is not a native enum).

    PostgreSQL alters the constraint in place. SQLite rebuilds the table (batch mode), dropping the
    old one while ballots, checkpoints and certificates refer to it: that needs foreign keys off,
    which SQLite allows only outside a transaction, so this step commits what came before it (only
    earlier revisions: it runs first) and checks every reference before foreign keys are back on.
    """
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        bind.exec_driver_sql("BEGIN IMMEDIATE")
    allowed = ", ".join(f"'{k}'" for k in kinds)
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_vote_vote_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_vote_vote_kind"), f"kind IN ({allowed})")
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rebuilding the vote table broke references: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade() -> None:
    _vote_kind_check([*VOTE_KINDS, "written-consent"])
    op.create_table(
        "late_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("member_ref", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("bytes", sa.LargeBinary(), nullable=False),
        sa.Column("bytes_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("registry_seq", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("choice", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["delegate_id"], ["delegate.id"], name=op.f("fk_late_answer_delegate_id_delegate")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_late_answer_member_id_member")),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_late_answer_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_answer")),
        sa.UniqueConstraint("bytes_sha256", name=op.f("uq_late_answer_bytes_sha256")),
        sa.UniqueConstraint("vote_id", "member_ref", name=op.f("uq_late_answer_vote_id_member_ref")),
    )
    with op.batch_alter_table("late_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_answer_vote_id"), ["vote_id"], unique=False)

    op.create_table(
        "resolution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column(
            "rule",
            sa.Enum("written-consent", "dissolve-regional-office-in-writing", "special-session-in-writing",
                    name="consent_rule", native_enum=False, create_constraint=True, length=40),
            nullable=False,
        ),
        sa.Column("rule_set", sa.String(length=60), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("utc_offset_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("draft", "sent", "adopted", "not_adopted", name="resolution_state", native_enum=False,
                    create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_by", sa.String(length=120), nullable=True),
        sa.Column("adopted_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("copied_from_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["copied_from_id"], ["resolution.id"],
                                name=op.f("fk_resolution_copied_from_id_resolution")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_resolution_meeting_id_meeting")),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_resolution_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_resolution_meeting_id")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_resolution_vote_id")),
    )
    op.create_table(
        "consent_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resolution_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolment_token_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("emailed_at", UTCDateTime(), nullable=True),
        sa.Column("mail_error", sa.String(length=500), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["delegate_id"], ["delegate.id"], name=op.f("fk_consent_link_delegate_id_delegate")),
        sa.ForeignKeyConstraint(["enrolment_token_id"], ["enrolment_token.id"],
                                name=op.f("fk_consent_link_enrolment_token_id_enrolment_token")),
        sa.ForeignKeyConstraint(["resolution_id"], ["resolution.id"],
                                name=op.f("fk_consent_link_resolution_id_resolution")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consent_link_token_hash")),
    )
    with op.batch_alter_table("consent_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_link_delegate_id"), ["delegate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_link_resolution_id"), ["resolution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consent_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_link_resolution_id"))
        batch_op.drop_index(batch_op.f("ix_consent_link_delegate_id"))
    op.drop_table("consent_link")
    op.drop_table("resolution")
    with op.batch_alter_table("late_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_late_answer_vote_id"))
    op.drop_table("late_answer")
    # Refused (a CHECK violation) while any vote of kind written-consent exists.
    _vote_kind_check(VOTE_KINDS)
