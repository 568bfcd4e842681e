"""Insert sentinels on issue parties and places: one INSERT … RETURNING for all rows.

SQLite cannot return server-generated ids of a multi-row INSERT in a guaranteed order,
so the ORM sent one statement per party and per place (about 7 of an intake's 15
INSERTs). A nullable integer column the ORM fills during such inserts lets it send one.

Revision ID: 0570
Revises: 0560
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0570"
down_revision = "0560"
branch_labels = None
depends_on = None

TABLES = ("issue_parties", "issue_places")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_sentinel")
