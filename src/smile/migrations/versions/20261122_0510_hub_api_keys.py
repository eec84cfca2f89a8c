"""hub api keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 05:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=40), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("allowed_models", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=True),
        sa.Column("spent_credits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rpm_limit", sa.Integer(), nullable=True),
        sa.Column("tpm_limit", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("spent_credits >= 0", name=op.f("ck_hub_api_keys_spent_not_negative")),
        sa.CheckConstraint(
            "credit_limit IS NULL OR spent_credits <= credit_limit", name=op.f("ck_hub_api_keys_within_credit_limit")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hub_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_hub_api_keys_key_hash")),
    )
    op.create_index("ix_hub_api_keys_user_id_id", "hub_api_keys", ["user_id", sa.literal_column("id DESC")])


def downgrade() -> None:
    op.drop_index("ix_hub_api_keys_user_id_id", table_name="hub_api_keys")
    op.drop_table("hub_api_keys")
