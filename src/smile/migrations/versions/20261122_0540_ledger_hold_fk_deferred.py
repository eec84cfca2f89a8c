"""ledger_holds.transaction_id: foreign key checked at commit

A capture marks the hold captured with the id of the transaction it is about to write, so the hold is
claimed and linked in one UPDATE; the transaction row follows in the same database transaction.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 05:40:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NAME = "fk_ledger_holds_transaction_id_ledger_transactions"


def upgrade() -> None:
    op.execute(f"ALTER TABLE ledger_holds ALTER CONSTRAINT {NAME} DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    op.execute(f"ALTER TABLE ledger_holds ALTER CONSTRAINT {NAME} NOT DEFERRABLE")
