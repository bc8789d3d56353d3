"""chat adapters' tables: per-user/channel preferences, status-message targets

Revision ID: 0003_bot
Revises: 0002_moderation
Create Date: 2026-11-28 19:50:00

The adapters also create these tables on first use when a database was never migrated (tests,
a bot pointed at a fresh SQLite file), so this revision creates only what is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_bot"
down_revision = "0002_moderation"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "bot_preferences" not in existing:
        op.create_table(
            "bot_preferences",
            sa.Column("platform", sa.String(16), primary_key=True),
            sa.Column("scope", sa.String(8), primary_key=True),
            sa.Column("subject", sa.String(64), primary_key=True),
            sa.Column("modality", sa.String(16), nullable=True),
            sa.Column("size", sa.Integer, nullable=True),
            sa.Column("answer_key_auto", sa.Boolean, nullable=True),
            sa.Column("dm_results", sa.Boolean, nullable=True),
            sa.Column("updated_at", _TS, nullable=False),
        )
    if "bot_status_messages" not in existing:
        op.create_table(
            "bot_status_messages",
            sa.Column("job_id", sa.String(40), primary_key=True),
            sa.Column("platform", sa.String(16), primary_key=True),
            sa.Column("target", sa.Text, nullable=False),
            sa.Column("created_at", _TS, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("bot_status_messages")
    op.drop_table("bot_preferences")
