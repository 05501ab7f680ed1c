"""enrolment tokens, device keys, key registry, attendance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:40:23.513215
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voting.models.common import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("device", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_key_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_key_event_hash")),
    )
    with op.batch_alter_table("key_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_event_key_id"), ["key_id"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("is_present", sa.Boolean(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["delegate.id"], name=op.f("fk_attendance_delegate_id_delegate")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_attendance_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("meeting_id", "delegate_id", name=op.f("pk_attendance")),
    )
    op.create_table(
        "device_key",
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("algorithm", sa.String(length=20), nullable=False),
        sa.Column("device", sa.String(length=100), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("enrol_seq", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["delegate.id"], name=op.f("fk_device_key_delegate_id_delegate")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_account.id"], name=op.f("fk_device_key_staff_id_staff_account")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_device_key")),
    )
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.create_index(
            "uq_device_key_active_delegate",
            ["delegate_id"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL AND delegate_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND delegate_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_device_key_active_staff",
            ["staff_id"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL AND staff_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND staff_id IS NOT NULL"),
        )

    op.create_table(
        "enrolment_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_by_key", sa.String(length=40), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("issued_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["delegate.id"], name=op.f("fk_enrolment_token_delegate_id_delegate")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_enrolment_token_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrolment_token_token_hash")),
    )
    with op.batch_alter_table("enrolment_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_token_delegate_id"), ["delegate_id"], unique=False)
    chain_head = sa.table(
        "chain_head", sa.column("name", sa.String), sa.column("seq", sa.Integer), sa.column("hash", sa.String)
    )
    op.bulk_insert(chain_head, [{"name": "keys", "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    with op.batch_alter_table("enrolment_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_token_delegate_id"))

    op.drop_table("enrolment_token")
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_device_key_active_staff",
            sqlite_where=sa.text("revoked_at IS NULL AND staff_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND staff_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_device_key_active_delegate",
            sqlite_where=sa.text("revoked_at IS NULL AND delegate_id IS NOT NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND delegate_id IS NOT NULL"),
        )

    op.drop_table("device_key")
    op.drop_table("attendance")
    with op.batch_alter_table("key_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_event_key_id"))

    op.drop_table("key_event")
