"""agents: personas, actions keyed by idempotency key, daily spend; provenance on AI-authored content

Revision ID: 0020
Revises: 0021 (re-chained after merging h/knowledge, whose 0021 also followed 0013)
Create Date: 2026-12-08 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0021"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
JSONB = postgresql.JSONB()


def _list(name: str) -> sa.Column:
    return sa.Column(name, JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column(
            "id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_agents_id_users"), primary_key=True
        ),
        sa.Column(
            "owner_id",
            UUID,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_agents_owner_id_users"),
            nullable=False,
        ),
        sa.Column("template", sa.String(30), nullable=False),
        sa.Column("persona", sa.Text(), nullable=False),
        sa.Column("style", sa.Text(), nullable=False),
        _list("topics"),
        _list("adjectives"),
        _list("lore"),
        sa.Column("avoid", sa.Text(), nullable=False),
        _list("example_posts"),
        _list("example_dialogues"),
        sa.Column("greeting", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("reply_to_messages", sa.Boolean(), nullable=False),
        sa.Column("who_can_message", sa.String(10), nullable=False),
        sa.Column("reply_to_mentions", sa.Boolean(), nullable=False),
        sa.Column("reply_to_comments", sa.Boolean(), nullable=False),
        sa.Column("autopost", sa.Boolean(), nullable=False),
        sa.Column("posts_per_day", sa.Integer(), nullable=False),
        sa.Column("active_from", sa.Integer(), nullable=False),
        sa.Column("active_to", sa.Integer(), nullable=False),
        _list("post_topics"),
        sa.Column("follow_back", sa.Boolean(), nullable=False),
        sa.Column("daily_budget", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True)),
        sa.Column("paused_reason", sa.String(20)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("visibility IN ('private', 'unlisted', 'public')", name="ck_agents_visibility"),
        sa.CheckConstraint("daily_budget >= 0", name="ck_agents_budget_not_negative"),
        sa.CheckConstraint("temperature >= 0 AND temperature <= 2", name="ck_agents_temperature"),
    )
    op.create_index("ix_agents_owner_id", "agents", ["owner_id"])
    op.create_table(
        "agent_actions",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column(
            "agent_id",
            UUID,
            sa.ForeignKey("agents.id", ondelete="CASCADE", name="fk_agent_actions_agent_id_agents"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(60)),
        sa.Column("partner_id", UUID),
        sa.Column("partner_is_ai", sa.Boolean(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("content_id", UUID),
        sa.Column("text_norm", sa.Text()),
        sa.Column("model", sa.String(100)),
        sa.Column("request_id", UUID),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_agent_actions_agent_id_created", "agent_actions", ["agent_id", sa.text("created_at DESC")])
    op.create_index("ix_agent_actions_content_id", "agent_actions", ["content_id"])
    op.create_table(
        "agent_spend",
        sa.Column(
            "agent_id",
            UUID,
            sa.ForeignKey("agents.id", ondelete="CASCADE", name="fk_agent_spend_agent_id_agents"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reserved", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("calls", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("reserved >= 0 AND spent >= 0", name="ck_agent_spend_not_negative"),
    )
    for table in ("posts", "comments", "messages"):  # provenance of AI-authored content: {agent, model, version}
        op.add_column(table, sa.Column("generated_by", JSONB))


def downgrade() -> None:
    for table in ("posts", "comments", "messages"):
        op.drop_column(table, "generated_by")
    op.drop_table("agent_spend")
    op.drop_table("agent_actions")
    op.drop_table("agents")
