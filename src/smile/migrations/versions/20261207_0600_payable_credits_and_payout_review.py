"""payable credits, payout destination cooling-off, payout review

credit_wallets.payable: the credits a user bought and still holds (bonus credits are spent first), the
only credits that may pay another person. payout_accounts.usable_from: a new or changed destination
waits out a cooling-off period. payouts.status 'review': first and large payouts wait for an admin.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credit_wallets", sa.Column("payable", sa.BigInteger(), server_default="0", nullable=False))
    op.create_check_constraint(op.f("ck_credit_wallets_payable_not_negative"), "credit_wallets", "payable >= 0")
    # Existing wallets: credits bought (without bonus, less refunds) less credits already paid to people,
    # never more than the wallet holds now.
    op.execute("""
        UPDATE credit_wallets w SET payable = GREATEST(0, LEAST(
            COALESCE((SELECT a.balance - a.held FROM ledger_accounts a
                      WHERE a.owner_id = w.user_id AND a.purpose = 'wallet' AND a.currency = 'CRD'), 0),
            COALESCE((SELECT SUM((p.metadata->>'credits')::bigint * (p.amount - p.refunded) / p.amount)
                      FROM payments p WHERE p.user_id = w.user_id AND p.purpose = 'credits'
                      AND p.status IN ('paid', 'partially_refunded')), 0)
            - COALESCE((SELECT SUM(s.credit_price) FROM sales s WHERE s.buyer_id = w.user_id
                        AND s.method = 'credits' AND s.status IN ('escrow', 'released')), 0)))
    """)
    op.add_column(
        "payout_accounts",
        sa.Column("usable_from", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.add_column("payouts", sa.Column("review_reason", sa.String(200), server_default="", nullable=False))
    op.add_column("payouts", sa.Column("reviewed_by", sa.UUID(), nullable=True))
    op.add_column("payouts", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f("fk_payouts_reviewed_by_users"), "payouts", "users", ["reviewed_by"], ["id"])
    op.drop_constraint(op.f("ck_payouts_status"), "payouts", type_="check")
    op.create_check_constraint(
        op.f("ck_payouts_status"), "payouts", "status IN ('review', 'requested', 'paid', 'failed')"
    )
    op.drop_index("uq_payouts_one_open", table_name="payouts", postgresql_where=sa.text("status = 'requested'"))
    op.create_index(
        "uq_payouts_one_open",
        "payouts",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('review', 'requested')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_payouts_one_open", table_name="payouts", postgresql_where=sa.text("status IN ('review', 'requested')")
    )
    op.create_index(
        "uq_payouts_one_open", "payouts", ["user_id"], unique=True, postgresql_where=sa.text("status = 'requested'")
    )
    op.execute("UPDATE payouts SET status = 'requested' WHERE status = 'review'")
    op.drop_constraint(op.f("ck_payouts_status"), "payouts", type_="check")
    op.create_check_constraint(op.f("ck_payouts_status"), "payouts", "status IN ('requested', 'paid', 'failed')")
    op.drop_constraint(op.f("fk_payouts_reviewed_by_users"), "payouts", type_="foreignkey")
    for column in ("reviewed_at", "reviewed_by", "review_reason"):
        op.drop_column("payouts", column)
    op.drop_column("payout_accounts", "usable_from")
    op.drop_constraint(op.f("ck_credit_wallets_payable_not_negative"), "credit_wallets", type_="check")
    op.drop_column("credit_wallets", "payable")
