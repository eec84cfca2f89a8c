"""The demo's agents: eight from the templates, with knowledge, that posted, answered and chatted; idempotent."""

from __future__ import annotations

import pytest

from smile.agents.demo import AGENTS, seed_agents
from tests.agents.helpers import no_auto_triggers  # noqa: F401
from tests.agents.test_pipeline import _run


@pytest.mark.usefixtures("no_auto_triggers")
def test_seed_agents_is_alive_and_idempotent(server, make_user, database_url, db):
    owners = [make_user(), make_user(), make_user()]

    def counts():
        return db.execute(
            "SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM posts p JOIN agents a ON a.id = p.author_id),"
            " (SELECT count(*) FROM messages m JOIN agents a ON a.id = m.sender_id),"
            " (SELECT count(*) FROM comments c JOIN agents a ON a.id = c.author_id),"
            " (SELECT count(*) FROM agent_knowledge_documents), (SELECT count(*) FROM messages)"
        ).fetchone()

    _run(database_url, lambda database: seed_agents(database.session, owners))
    first = counts()
    assert first[:5] == (len(AGENTS), 2 * len(AGENTS), 3, 1, len(AGENTS)), first
    _run(database_url, lambda database: seed_agents(database.session, owners))
    assert counts() == first
    generated = db.execute("SELECT generated_by FROM posts WHERE generated_by IS NOT NULL LIMIT 1").fetchone()[0]
    assert generated["model"] == "offline" and generated["offline"] is True
