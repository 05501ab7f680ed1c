"""secret ballots: sealed choices, the tellers' keys, secret votes and the meeting's default

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meeting", sa.Column("secret_elections", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("vote", sa.Column("is_secret", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("vote", sa.Column("sealed_checkpoint", sa.JSON(), nullable=True))
    op.add_column("vote", sa.Column("opening", sa.JSON(), nullable=True))
    op.create_table(
        "sealed_ballot",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("tracker", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_sealed_ballot_vote_id_vote")),
        sa.PrimaryKeyConstraint("vote_id", "tracker", name=op.f("pk_sealed_ballot")),
    )
    op.create_table(
        "teller_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("is_on_server", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("exported_at", UTCDateTime(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("published_private_key", sa.String(length=64), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_teller_key_meeting_id_meeting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teller_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_teller_key_key_id")),
    )
    with op.batch_alter_table("teller_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teller_key_meeting_id"), ["meeting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teller_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teller_key_meeting_id"))
    op.drop_table("teller_key")
    op.drop_table("sealed_ballot")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_column("opening")
        batch_op.drop_column("sealed_checkpoint")
        batch_op.drop_column("is_secret")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("secret_elections")
