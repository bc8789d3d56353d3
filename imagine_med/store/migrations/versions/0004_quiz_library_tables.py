"""teaching tables: course library collections and items, quizzes and their answers

Revision ID: 0004_quiz_library
Revises: 0003_bot
Create Date: 2026-12-07 14:50:00

Like the bot's tables, the stores create these on first use when a database was never
migrated (tests, a bot pointed at a fresh SQLite file), so this revision creates only what is
missing. Other teaching revisions may also follow 0003_bot: `migrate()` upgrades to "heads".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_quiz_library"
down_revision = "0003_bot"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "library_collections" not in existing:
        op.create_table(
            "library_collections",
            sa.Column("id", sa.String(16), primary_key=True),
            sa.Column("platform", sa.String(16), nullable=False),
            sa.Column("team", sa.String(128), nullable=False),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("owner_id", sa.String(128), nullable=False),
            sa.Column("owner_name", sa.String(256)),
            sa.Column("channel", sa.String(128)),
            sa.Column("created_at", _TS, nullable=False),
            sa.UniqueConstraint("platform", "team", "name", name="uq_library_collection_name"),
        )
    if "library_items" not in existing:
        op.create_table(
            "library_items",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("collection_id", sa.String(16),
                      sa.ForeignKey("library_collections.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("job_id", sa.String(40), nullable=False),
            sa.Column("author_id", sa.String(128), nullable=False),
            sa.Column("author_name", sa.String(256)),
            sa.Column("tags", sa.Text(), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("modality", sa.String(16)),
            sa.Column("region", sa.String(32)),
            sa.Column("findings", sa.Text(), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("created_at", _TS, nullable=False),
            sa.Column("updated_at", _TS, nullable=False),
            sa.UniqueConstraint("collection_id", "job_id", name="uq_library_item_job"),
        )
        op.create_index("ix_library_items_collection_id", "library_items", ["collection_id"])
        op.create_index("ix_library_items_job_id", "library_items", ["job_id"])
    if "quizzes" not in existing:
        op.create_table(
            "quizzes",
            sa.Column("id", sa.String(16), primary_key=True),
            sa.Column("platform", sa.String(16), nullable=False),
            sa.Column("team", sa.String(128)),
            sa.Column("channel", sa.String(128), nullable=False),
            sa.Column("course", sa.String(64)),
            sa.Column("host_id", sa.String(128), nullable=False),
            sa.Column("host_name", sa.String(256)),
            sa.Column("job_id", sa.String(40)),
            sa.Column("variant", sa.Integer(), nullable=False),
            sa.Column("seconds", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(64), nullable=False),
            sa.Column("state", sa.String(12), nullable=False),
            sa.Column("choices", sa.JSON(), nullable=False),
            sa.Column("answers", sa.JSON(), nullable=False),
            sa.Column("answer_key", sa.Text(), nullable=False),
            sa.Column("message_ref", sa.Text()),
            sa.Column("created_at", _TS, nullable=False),
            sa.Column("opened_at", _TS),
            sa.Column("closes_at", _TS),
            sa.Column("closed_at", _TS),
        )
        for col in ("course", "job_id", "state", "closes_at"):
            op.create_index(f"ix_quizzes_{col}", "quizzes", [col])
    if "quiz_answers" not in existing:
        op.create_table(
            "quiz_answers",
            sa.Column("quiz_id", sa.String(16), sa.ForeignKey("quizzes.id", ondelete="CASCADE"),
                      primary_key=True),
            sa.Column("user_id", sa.String(128), primary_key=True),
            sa.Column("user_name", sa.String(256)),
            sa.Column("choice", sa.String(64)),
            sa.Column("typed", sa.Text()),
            sa.Column("correct", sa.Boolean(), nullable=False),
            sa.Column("answered_at", _TS, nullable=False),
        )


def downgrade() -> None:
    for table in ("quiz_answers", "quizzes", "library_items", "library_collections"):
        op.drop_table(table)
