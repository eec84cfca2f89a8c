"""agent knowledge (documents, chunks) and long-term memories

Revision ID: 0021
Revises: 0013
Create Date: 2026-12-07 21:00:00
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0013"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "agent_knowledge_documents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("chunks_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("embedded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_agent_knowledge_documents_agent_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_knowledge_documents")),
    )
    op.create_index("ix_agent_knowledge_documents_agent", "agent_knowledge_documents", ["agent_id", "id"])
    op.create_table(
        "agent_knowledge_chunks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english', coalesce(heading, '') || ' ' || text)", persisted=True),
            nullable=True,
        ),
        sa.Column("vector", Vector(384), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["agent_knowledge_documents.id"],
            name=op.f("fk_agent_knowledge_chunks_document_id_agent_knowledge_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_agent_knowledge_chunks_agent_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_knowledge_chunks")),
    )
    op.create_index("ix_agent_knowledge_chunks_agent", "agent_knowledge_chunks", ["agent_id"])
    op.create_index("ix_agent_knowledge_chunks_document", "agent_knowledge_chunks", ["document_id", "position"])
    op.create_index("ix_agent_knowledge_chunks_search", "agent_knowledge_chunks", ["search"], postgresql_using="gin")
    op.create_table(
        "agent_memories",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "search", postgresql.TSVECTOR(), sa.Computed("to_tsvector('english', text)", persisted=True), nullable=True
        ),
        sa.Column("vector", Vector(384), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_agent_memories_agent_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["users.id"], name=op.f("fk_agent_memories_person_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_memories")),
        sa.UniqueConstraint("agent_id", "person_id", "key", name="uq_agent_memories_slot"),
    )
    op.create_index("ix_agent_memories_person", "agent_memories", ["person_id", "id"])


def downgrade() -> None:
    op.drop_table("agent_memories")
    op.drop_table("agent_knowledge_chunks")
    op.drop_table("agent_knowledge_documents")
