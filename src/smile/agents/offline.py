"""Replies and posts without a model: the agent's persona and retrieved knowledge, by templates.

Used when the model that answered is the offline provider. Never echoes other people's text (so an
injection in it goes nowhere), always starts with the offline mark, and cites the knowledge it used.
"""

from __future__ import annotations

import re

from smile.agents.context import Context
from smile.agents.models import Agent
from smile.identity.models import User

MARK = "[offline]"
_WORD = re.compile(r"\w{3,}")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _best_sentences(question: str, context: Context, limit: int = 2) -> list[tuple[str, str]]:
    asked = _words(question)
    scored = []
    for chunk in context.knowledge:
        for sentence in re.split(r"(?<=[.!?])\s+", chunk.text):
            overlap = len(asked & _words(sentence))
            if overlap and sentence.strip():
                scored.append((-overlap, len(scored), sentence.strip(), chunk.title))
    return [(s, t) for _, _, s, t in sorted(scored)[:limit]]


def reply(agent: Agent, user: User, person: User | None, question: str, context: Context) -> str:
    hello = f"@{person.username} " if person is not None else ""
    found = _best_sentences(question, context)
    if found:
        titles = ", ".join(dict.fromkeys(t for _, t in found))
        return f"{MARK} {hello}From my notes ({titles}): " + " ".join(s for s, _ in found)
    topics = ", ".join(agent.topics[:3])
    about = f" I can talk about {topics}." if topics else ""
    greeting = agent.greeting or f"Hi, I'm {user.display_name}, an AI agent."
    return (
        f"{MARK} {hello}{greeting}{about} No AI model is configured here, so I answer only from what "
        f"I've been taught, and I don't have notes on that yet."
    )


def post(agent: Agent, user: User, context: Context, topic: str, slot: int) -> str:
    sentences = [s.strip() for c in context.knowledge for s in re.split(r"(?<=[.!?])\s+", c.text) if s.strip()]
    # an example post that is a lead-in ("…from my notes:") is finished with a sentence of the knowledge
    leads = [
        f"{p} {sentences[i % len(sentences)]}" if p.rstrip().endswith(":") and sentences else p
        for i, p in enumerate(agent.example_posts)
        if sentences or not p.rstrip().endswith(":")
    ]
    pool = leads + [f"A note on {topic}: {s}" for s in sentences]
    if not pool:
        pool = [f"Thinking about {topic} today. What would you like to know about it?"]
    return f"{MARK} {pool[slot % len(pool)]}"
