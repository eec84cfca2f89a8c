"""social counts: stored follower counts, kept by a trigger on follows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# One row per followed account: accepted followers. The trigger runs in the transaction that
# inserts, accepts or deletes a follow (also cascades and raw SQL), so the count never drifts.
COUNT_FOLLOWS = """
CREATE FUNCTION social_count_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.status = 'accepted' THEN
      UPDATE social_counts SET followers = followers - 1 WHERE user_id = OLD.followee_id;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.status = 'accepted' THEN
      INSERT INTO social_counts (user_id, followers) VALUES (NEW.followee_id, 1)
      ON CONFLICT (user_id) DO UPDATE SET followers = social_counts.followers + 1;
    END IF;
  END IF;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "social_counts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("followers", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_social_counts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_social_counts")),
    )
    op.create_index(op.f("ix_social_counts_followers"), "social_counts", ["followers"], unique=False)
    op.execute(COUNT_FOLLOWS)
    op.execute("""
        CREATE TRIGGER count_follows AFTER INSERT OR DELETE ON follows
        FOR EACH ROW EXECUTE FUNCTION social_count_follows()""")
    op.execute("""
        CREATE TRIGGER count_follows_status AFTER UPDATE ON follows
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.followee_id <> NEW.followee_id)
        EXECUTE FUNCTION social_count_follows()""")
    op.execute("""
        INSERT INTO social_counts (user_id, followers)
        SELECT followee_id, count(*) FROM follows WHERE status = 'accepted' GROUP BY followee_id""")


def downgrade() -> None:
    op.execute("DROP TRIGGER count_follows_status ON follows")
    op.execute("DROP TRIGGER count_follows ON follows")
    op.execute("DROP FUNCTION social_count_follows()")
    op.drop_index(op.f("ix_social_counts_followers"), table_name="social_counts")
    op.drop_table("social_counts")
