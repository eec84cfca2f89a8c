"""sales escrow and payouts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("product_type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_price", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("price > 0", name=op.f("ck_listings_price_positive")),
        sa.CheckConstraint("credit_price IS NULL OR credit_price > 0", name=op.f("ck_listings_credit_price_positive")),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_listings_seller_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    op.create_index("ix_listings_seller_id_id", "listings", ["seller_id", sa.literal_column("id DESC")])

    op.create_table(
        "sales",
        sa.Column("buyer_id", sa.UUID(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("product_type", sa.String(length=40), nullable=False),
        sa.Column("product_ref", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("fee_percent", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("credit_price", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("transaction_id", sa.UUID(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escrow_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_by", sa.UUID(), nullable=True),
        sa.Column("refund_reason", sa.String(length=500), server_default="", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("price > 0", name=op.f("ck_sales_price_positive")),
        sa.CheckConstraint("fee >= 0 AND fee <= price", name=op.f("ck_sales_fee_in_range")),
        sa.CheckConstraint(
            "status IN ('pending', 'escrow', 'released', 'refunded', 'failed')", name=op.f("ck_sales_status")
        ),
        sa.CheckConstraint("method IN ('card', 'credits')", name=op.f("ck_sales_method")),
        sa.CheckConstraint("buyer_id <> seller_id", name=op.f("ck_sales_not_self")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_sales_buyer_id_users")),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_sales_seller_id_users")),
        sa.ForeignKeyConstraint(["refunded_by"], ["users.id"], name=op.f("fk_sales_refunded_by_users")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_sales_payment_id_payments")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transactions.id"], name=op.f("fk_sales_transaction_id_ledger_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sales_idempotency_key")),
    )
    op.create_index("ix_sales_seller_id_id", "sales", ["seller_id", sa.literal_column("id DESC")])
    op.create_index("ix_sales_buyer_id_id", "sales", ["buyer_id", sa.literal_column("id DESC")])
    op.create_index("ix_sales_escrow_due", "sales", ["escrow_until"], postgresql_where=sa.text("status = 'escrow'"))

    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payout_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_payout_accounts")),
    )

    op.create_table(
        "payouts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="requested", nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("transfer_ref", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payouts_amount_positive")),
        sa.CheckConstraint("status IN ('requested', 'paid', 'failed')", name=op.f("ck_payouts_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users")),
        sa.ForeignKeyConstraint(["settled_by"], ["users.id"], name=op.f("fk_payouts_settled_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    op.create_index("ix_payouts_user_id_id", "payouts", ["user_id", sa.literal_column("id DESC")])
    # one open payout per seller: parallel requests cannot both insert
    op.create_index(
        "uq_payouts_one_open", "payouts", ["user_id"], unique=True, postgresql_where=sa.text("status = 'requested'")
    )


def downgrade() -> None:
    op.drop_index("uq_payouts_one_open", table_name="payouts", postgresql_where=sa.text("status = 'requested'"))
    op.drop_index("ix_payouts_user_id_id", table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("payout_accounts")
    op.drop_index("ix_sales_escrow_due", table_name="sales", postgresql_where=sa.text("status = 'escrow'"))
    op.drop_index("ix_sales_buyer_id_id", table_name="sales")
    op.drop_index("ix_sales_seller_id_id", table_name="sales")
    op.drop_table("sales")
    op.drop_index("ix_listings_seller_id_id", table_name="listings")
    op.drop_table("listings")
