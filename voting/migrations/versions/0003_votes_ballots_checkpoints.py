"""votes, ballots, checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:49:03.257107
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "motion",
                "special-session",
                "dissolve-regional-office",
                "host-city",
                "president",
                "president-sole",
                "regional-office-bid",
                "excom-approval",
                "excom-block",
                name="vote_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "closed",
                "certified",
                name="vote_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("definition", sa.LargeBinary(), nullable=False),
        sa.Column("definition_sha256", sa.String(length=64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.Column("log_size", sa.Integer(), nullable=False),
        sa.Column("log_state", sa.JSON(), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"], ["agenda_item.id"], name=op.f("fk_vote_agenda_item_id_agenda_item")
        ),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_vote_meeting_id_meeting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
        sa.UniqueConstraint("agenda_item_id", "round", name=op.f("uq_vote_agenda_item_id_round")),
        sa.UniqueConstraint("definition_sha256", name=op.f("uq_vote_definition_sha256")),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_agenda_item_id"), ["agenda_item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vote_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(
            "uq_vote_open_per_item",
            ["agenda_item_id"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("member_ref", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("bytes", sa.LargeBinary(), nullable=False),
        sa.Column("bytes_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column("registry_seq", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["delegate.id"], name=op.f("fk_ballot_delegate_id_delegate")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_ballot_member_id_member")),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_ballot_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint("bytes_sha256", name=op.f("uq_ballot_bytes_sha256")),
        sa.UniqueConstraint("vote_id", "leaf_index", name=op.f("uq_ballot_vote_id_leaf_index")),
        sa.UniqueConstraint("vote_id", "member_ref", name=op.f("uq_ballot_vote_id_member_ref")),
    )
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ballot_vote_id"), ["vote_id"], unique=False)

    op.create_table(
        "signed_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_signed_checkpoint_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_checkpoint")),
        sa.UniqueConstraint("vote_id", "size", name=op.f("uq_signed_checkpoint_vote_id_size")),
    )
    with op.batch_alter_table("signed_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signed_checkpoint_vote_id"), ["vote_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signed_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signed_checkpoint_vote_id"))

    op.drop_table("signed_checkpoint")
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_vote_id"))

    op.drop_table("ballot")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_vote_open_per_item",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_vote_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_vote_agenda_item_id"))

    op.drop_table("vote")
