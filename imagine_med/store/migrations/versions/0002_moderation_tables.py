"""moderation tables: cases, case jobs, appeals, strikes, bans, append-only audit log

Revision ID: 0002_moderation
Revises: 0001_queue
Create Date: 2026-11-28 19:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_moderation"
down_revision = "0001_queue"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_REFUSE = "moderation_audit is append-only"


def upgrade() -> None:
    op.create_table(
        "moderation_cases",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("team", sa.String(128)),
        sa.Column("channel", sa.String(128)),
        sa.Column("user_key", sa.String(300), nullable=False),
        sa.Column("user_name", sa.String(256)),
        sa.Column("reply_target", sa.JSON()),
        sa.Column("prompt_redacted", sa.Text(), nullable=False),
        sa.Column("prompt_sha256", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(300)),
        sa.Column("decided_at", _TS),
        sa.Column("decision_note", sa.Text()),
    )
    for col in ("created_at", "user_key", "prompt_sha256", "status"):
        op.create_index(f"ix_moderation_cases_{col}", "moderation_cases", [col])

    op.create_table(
        "moderation_case_jobs",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column(
            "case_id", sa.String(24),
            sa.ForeignKey("moderation_cases.id", ondelete="CASCADE"), nullable=False,
        ),
    )
    op.create_index("ix_moderation_case_jobs_case_id", "moderation_case_jobs", ["case_id"])

    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "case_id", sa.String(24),
            sa.ForeignKey("moderation_cases.id", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("user_key", sa.String(300), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("text_redacted", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(300)),
        sa.Column("decided_at", _TS),
        sa.Column("decision_note", sa.Text()),
    )
    for col in ("case_id", "user_key", "created_at", "status"):
        op.create_index(f"ix_moderation_appeals_{col}", "moderation_appeals", [col])

    op.create_table(
        "moderation_strikes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_key", sa.String(300), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("case_id", sa.String(24)),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("revoked_at", _TS),
        sa.Column("revoked_by", sa.String(300)),
    )
    op.create_index("ix_moderation_strikes_user_key", "moderation_strikes", ["user_key"])
    op.create_index("ix_moderation_strikes_case_id", "moderation_strikes", ["case_id"])

    op.create_table(
        "moderation_bans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_key", sa.String(300), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
        sa.Column("lifted_at", _TS),
        sa.Column("lifted_by", sa.String(300)),
    )
    op.create_index("ix_moderation_bans_user_key", "moderation_bans", ["user_key"])

    op.create_table(
        "moderation_audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("moderation_audit_head", sa.column("id"), sa.column("seq"),
                 sa.column("last_hash")),
        [{"id": 1, "seq": 0, "last_hash": ""}],
    )

    op.create_table(
        "moderation_audit",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(300)),
        sa.Column("platform", sa.String(32)),
        sa.Column("channel", sa.String(128)),
        sa.Column("case_id", sa.String(24)),
        sa.Column("job_id", sa.String(40)),
        sa.Column("appeal_id", sa.String(24)),
        sa.Column("prompt_redacted", sa.Text()),
        sa.Column("prompt_sha256", sa.String(64)),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(16)),
        sa.Column("reason", sa.Text()),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    for col in ("at", "event", "subject", "case_id"):
        op.create_index(f"ix_moderation_audit_{col}", "moderation_audit", [col])

    # The database itself refuses to change or delete audit entries.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER moderation_audit_no_{verb.lower()} BEFORE {verb} "
                f"ON moderation_audit BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION moderation_audit_refuse() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER moderation_audit_append_only BEFORE UPDATE OR DELETE "
            "ON moderation_audit FOR EACH ROW EXECUTE FUNCTION moderation_audit_refuse()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS moderation_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS moderation_audit_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS moderation_audit_append_only ON moderation_audit")
        op.execute("DROP FUNCTION IF EXISTS moderation_audit_refuse()")
    for table in (
        "moderation_audit", "moderation_audit_head", "moderation_bans", "moderation_strikes",
        "moderation_appeals", "moderation_case_jobs", "moderation_cases",
    ):
        op.drop_table(table)
