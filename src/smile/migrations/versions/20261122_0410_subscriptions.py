"""subscriptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('trialing', 'active', 'past_due')")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("product_type", sa.String(length=60), server_default="platform", nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=10), server_default="month", nullable=False),
        sa.Column("trial_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "entitlements",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_plans_price_not_negative")),
        sa.CheckConstraint("interval IN ('month', 'year')", name=op.f("ck_plans_interval_known")),
        sa.CheckConstraint("trial_days >= 0", name=op.f("ck_plans_trial_not_negative")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_plans_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index(
        "uq_plans_owner_type_code",
        "plans",
        ["owner_id", "product_type", "code"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "subscriptions",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("product_type", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credit", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("renewal_payment_id", sa.UUID(), nullable=True),
        sa.Column("renewal_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("customer_ref", sa.String(length=200), nullable=True),
        sa.Column("first_payment_id", sa.UUID(), nullable=True),
        sa.Column("provider_synced_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')",
            name=op.f("ck_subscriptions_status_known"),
        ),
        sa.CheckConstraint("credit >= 0", name=op.f("ck_subscriptions_credit_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_subscriptions_user_id_users")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_subscriptions_plan_id_plans")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_subscriptions_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["first_payment_id"], ["payments.id"], name=op.f("fk_subscriptions_first_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        "uq_subscriptions_live",
        "subscriptions",
        ["user_id", "owner_id", "product_type"],
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=LIVE,
    )
    op.create_index("ix_subscriptions_user", "subscriptions", ["user_id", "id"])
    op.create_index("ix_subscriptions_due", "subscriptions", ["current_period_end"], postgresql_where=LIVE)
    op.create_index("ix_subscriptions_provider_ref", "subscriptions", ["provider_ref"])


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("plans")
