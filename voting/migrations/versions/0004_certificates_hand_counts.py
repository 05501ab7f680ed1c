"""certificates and hand counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:52:13.500972
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("certified_at", UTCDateTime(), nullable=False),
        sa.Column("certified_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_certificate_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("sha256", name=op.f("uq_certificate_sha256")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_certificate_vote_id")),
    )
    op.create_table(
        "hand_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=120), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"], name=op.f("fk_hand_count_vote_id_vote")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_count")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_hand_count_vote_id")),
    )


def downgrade() -> None:
    op.drop_table("hand_count")
    op.drop_table("certificate")
