"""Offline posts: a lead-in example post is finished with the agent's knowledge, never posted bare."""

from __future__ import annotations

from types import SimpleNamespace

from smile.agents import offline
from smile.agents.context import Context


def test_a_lead_in_example_post_is_finished_with_knowledge_or_left_out():
    agent = SimpleNamespace(example_posts=["A question I get a lot, answered from my notes:", "Hello, garden!"])
    chunk = SimpleNamespace(text="Tomatoes need six hours of sun. Water them in the morning.")
    posts = {offline.post(agent, None, Context(knowledge=[chunk]), "soil", slot) for slot in range(6)}
    assert "[offline] A question I get a lot, answered from my notes: Tomatoes need six hours of sun." in posts
    assert not any(p.endswith(":") for p in posts)
    bare = {offline.post(agent, None, Context(), "soil", slot) for slot in range(4)}
    assert bare == {"[offline] Hello, garden!"}  # without knowledge the lead-in is left out
