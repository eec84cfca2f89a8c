"""credits and promo codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The default packages: price in minor units of the configured currency.
PACKAGES = [
    ("019a0000-0000-7000-8000-000000000001", "starter", "Starter", 499, 500, 0, 1),
    ("019a0000-0000-7000-8000-000000000002", "pro", "Pro", 1999, 2000, 200, 2),
    ("019a0000-0000-7000-8000-000000000003", "business", "Business", 4999, 5000, 1000, 3),
]


def _created_at():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    packages = op.create_table(
        "credit_packages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("bonus", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _created_at(),
        sa.CheckConstraint("price > 0", name=op.f("ck_credit_packages_price_positive")),
        sa.CheckConstraint("credits > 0", name=op.f("ck_credit_packages_credits_positive")),
        sa.CheckConstraint("bonus >= 0", name=op.f("ck_credit_packages_bonus_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_packages")),
        sa.UniqueConstraint("slug", name=op.f("uq_credit_packages_slug")),
    )
    op.bulk_insert(
        packages,
        [
            {"id": i, "slug": slug, "name": name, "price": price, "credits": credits, "bonus": bonus, "position": pos}
            for i, slug, name, price, credits, bonus, pos in PACKAGES
        ],
    )

    op.create_table(
        "credit_wallets",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("low_balance_armed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("low_balance_notified_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_credit_wallets_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credit_wallets")),
    )

    op.create_table(
        "promo_batches",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("once_per_user", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        _created_at(),
        sa.CheckConstraint("amount > 0", name=op.f("ck_promo_batches_amount_positive")),
        sa.CheckConstraint("max_uses IS NULL OR max_uses > 0", name=op.f("ck_promo_batches_max_uses_positive")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_promo_batches_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_batches")),
    )

    op.create_table(
        "promo_codes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("max_uses IS NULL OR uses <= max_uses", name=op.f("ck_promo_codes_uses_within_max")),
        sa.ForeignKeyConstraint(["batch_id"], ["promo_batches.id"], name=op.f("fk_promo_codes_batch_id_promo_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_promo_codes_code")),
    )
    op.create_index("ix_promo_codes_batch", "promo_codes", ["batch_id", "id"], unique=False)

    op.create_table(
        "promo_redemptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code_id", sa.UUID(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("once_per_user", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.UUID(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["code_id"], ["promo_codes.id"], name=op.f("fk_promo_redemptions_code_id_promo_codes")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["promo_batches.id"], name=op.f("fk_promo_redemptions_batch_id_promo_batches")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_promo_redemptions_user_id_users")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_promo_redemptions_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_redemptions")),
        sa.UniqueConstraint("code_id", "user_id", name="uq_promo_redemptions_code_user"),
    )
    op.create_index(
        "uq_promo_redemptions_batch_user",
        "promo_redemptions",
        ["batch_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("once_per_user"),
    )
    op.create_index("ix_promo_redemptions_user", "promo_redemptions", ["user_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("promo_redemptions")
    op.drop_table("promo_codes")
    op.drop_table("promo_batches")
    op.drop_table("credit_wallets")
    op.drop_table("credit_packages")
