"""ai core: model catalog and usage rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 05:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_models",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("provider", sa.String(60), nullable=False),
        sa.Column("upstream_model", sa.String(200), nullable=False),
        sa.Column("input_credits_per_m", sa.BigInteger(), nullable=False),
        sa.Column("output_credits_per_m", sa.BigInteger(), nullable=False),
        sa.Column("cached_credits_per_m", sa.BigInteger(), nullable=False),
        sa.Column("context_window", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("fallbacks", postgresql.ARRAY(sa.String(100)), server_default="{}", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "input_credits_per_m >= 0 AND output_credits_per_m >= 0 AND cached_credits_per_m >= 0",
            name="ck_ai_models_rates",
        ),
        sa.CheckConstraint("context_window > 0", name="ck_ai_models_context"),
    )
    op.execute(
        "INSERT INTO ai_models (id, provider, upstream_model, input_credits_per_m, output_credits_per_m, "
        "cached_credits_per_m, context_window, position) "
        "VALUES ('offline', 'offline', 'offline', 1000, 1000, 1000, 32768, 1000)"
    )
    op.create_table(
        "ai_usage",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("users.id", name="fk_ai_usage_user_id_users"),
            nullable=False,
        ),
        sa.Column("api_key_id", postgresql.UUID(as_uuid=True)),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("served_model", sa.String(100)),
        sa.Column("provider", sa.String(60)),
        sa.Column("upstream_model", sa.String(200)),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_log", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("uncharged", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", postgresql.UUID(as_uuid=True)),
        sa.Column("latency_ms", sa.Integer()),
        sa.Column("first_byte_ms", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'ok', 'client_cancelled', 'upstream_error', 'failed', 'insufficient_credits')",
            name="ck_ai_usage_status",
        ),
        sa.CheckConstraint("credits >= 0 AND reserved >= 0 AND uncharged >= 0", name="ck_ai_usage_credits"),
    )
    op.create_index("ix_ai_usage_user", "ai_usage", ["user_id", "id"])
    op.create_index(
        "ix_ai_usage_api_key", "ai_usage", ["api_key_id", "id"], postgresql_where=sa.text("api_key_id IS NOT NULL")
    )
    op.create_index("ix_ai_usage_pending", "ai_usage", ["created_at"], postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_table("ai_usage")
    op.drop_table("ai_models")
