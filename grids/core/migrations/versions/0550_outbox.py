"""Domain events and the notification outbox (contacts, subscriptions, attempts).

Revision ID: 0550
Revises: 0540
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civgrid.grids.core.types import UTCDateTime

revision = "0550"
down_revision = "0540"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe", sa.String(160), nullable=True),
        sa.Column("expanded_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_domain_events"),
        sa.UniqueConstraint("dedupe", name="uq_domain_events_dedupe"),
    )
    op.create_index("ix_domain_events_expanded", "domain_events", ["expanded_at", "id"])
    op.create_table(
        "notify_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_contacts"),
        sa.UniqueConstraint("owner", "channel", "address", name="uq_notify_contacts_owner"),
    )
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("event_kind", sa.String(48), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_subscriptions"),
        sa.UniqueConstraint(
            "subscriber", "event_kind", "channel", name="uq_notify_subscriptions_subscriber"
        ),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("event_kind", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_outbox"),
        sa.UniqueConstraint("key", name="uq_notify_outbox_key"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["domain_events.id"],
            name="fk_notify_outbox_event_id_domain_events",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_notify_outbox_event_id", "notify_outbox", ["event_id"])
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_attempt_at"])
    op.create_index(
        "ix_notify_outbox_recipient", "notify_outbox", ["recipient", "channel", "read_at"]
    )
    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_attempts"),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["notify_outbox.id"],
            name="fk_notify_attempts_outbox_id_notify_outbox",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_notify_attempts_outbox_id", "notify_attempts", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_notify_attempts_outbox_id", table_name="notify_attempts")
    op.drop_table("notify_attempts")
    op.drop_index("ix_notify_outbox_recipient", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_event_id", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_table("notify_subscriptions")
    op.drop_table("notify_contacts")
    op.drop_index("ix_domain_events_expanded", table_name="domain_events")
    op.drop_table("domain_events")
