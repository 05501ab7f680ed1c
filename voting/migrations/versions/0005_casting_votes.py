"""casting votes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:00:49.628245
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "casting_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("tied", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("ballot", sa.LargeBinary(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("registry_seq", sa.Integer(), nullable=True),
        sa.Column("choice", sa.String(length=64), nullable=True),
        sa.Column("cast_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_casting_vote_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casting_vote")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_casting_vote_vote_id")),
    )


def downgrade() -> None:
    op.drop_table("casting_vote")
