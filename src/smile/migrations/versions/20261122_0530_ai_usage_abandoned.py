"""ai_usage: allow status 'abandoned' (pending rows whose process died, closed by the sweep)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 05:30:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# 0008 named it "ck_ai_usage_status" inside create_table, and the naming convention prefixed it once more
NAME = "ck_ai_usage_ck_ai_usage_status"
BEFORE = "'pending', 'ok', 'client_cancelled', 'upstream_error', 'failed', 'insufficient_credits'"


def _allow(statuses: str) -> None:
    op.execute(f"ALTER TABLE ai_usage DROP CONSTRAINT {NAME}")
    op.execute(f"ALTER TABLE ai_usage ADD CONSTRAINT {NAME} CHECK (status IN ({statuses}))")


def upgrade() -> None:
    _allow(f"{BEFORE}, 'abandoned'")


def downgrade() -> None:
    op.execute("UPDATE ai_usage SET status = 'failed' WHERE status = 'abandoned'")
    _allow(BEFORE)
