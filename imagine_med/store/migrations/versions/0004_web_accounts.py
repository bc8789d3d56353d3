"""web app accounts (local with argon2 hashes, or signed in with Slack/Discord)

Revision ID: 0004_web
Revises: 0003_bot
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_web"
down_revision = "0003_bot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "web_accounts" in set(sa.inspect(op.get_bind()).get_table_names()):
        return  # made on first use by the web app (imagine_med.web.accounts)
    op.create_table(
        "web_accounts",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("web_accounts")
