"""fit_context: the prompt never exceeds the model's context less the reply's reserve."""

from __future__ import annotations

import random

import pytest

from smile.agents.memory.context import SUMMARY_HEADER, fit_context
from smile.ai import tokens
from smile.ai.types import Message

PERSONA = Message("system", "You are Pip, a cheerful bike mechanic. Answer briefly.")


def chat(turns: int, words: int = 30, seed: int = 1) -> list[Message]:
    rng = random.Random(seed)
    out = []
    for i in range(turns):
        role = "user" if i % 2 == 0 else "assistant"
        out.append(
            Message(
                role,
                f"Turn {i}. " + " ".join(rng.choice(["gear", "chain", "brake", "über", "tyre!"]) for _ in range(words)),
            )
        )
    return out


def test_a_short_conversation_is_left_alone():
    messages = [PERSONA, *chat(4)]
    fitted = fit_context(messages, 4096, 512)
    assert fitted.messages == messages and fitted.summary == "" and fitted.folded == 0
    assert fitted.tokens == tokens.upper_bound(messages)


@pytest.mark.parametrize("seed", range(12))
def test_never_overflows_and_keeps_persona_and_newest_turn(seed):
    rng = random.Random(seed)
    context, reserve = rng.choice([256, 512, 1024, 4096]), rng.choice([64, 128, 200])
    messages = [PERSONA, *chat(rng.randint(1, 120), rng.randint(5, 200), seed)]
    fitted = fit_context(messages, context, reserve)
    assert tokens.upper_bound(fitted.messages) == fitted.tokens <= context - reserve
    assert fitted.messages[0] == PERSONA
    assert fitted.messages[-1].role == messages[-1].role
    assert messages[-1].content.startswith(fitted.messages[-1].content)


def test_oldest_turns_fold_into_a_rolling_summary():
    messages = [PERSONA, *chat(40, 40)]
    fitted = fit_context(messages, 1024, 256)
    assert fitted.folded > 0 and fitted.tokens <= 768
    summary = fitted.messages[1]
    assert summary.role == "system" and summary.content.startswith(SUMMARY_HEADER)
    assert "They said: Turn" in fitted.summary
    kept = fitted.messages[2:]
    assert kept == messages[1 + fitted.folded :]  # the newest turns, untouched
    # the next call passes the stored summary and only the turns not folded yet, plus a new one
    later = fit_context([PERSONA, *kept, Message("user", "And the brakes?")], 1024, 256, summary=fitted.summary)
    assert later.tokens <= 768 and later.messages[-1].content == "And the brakes?"
    assert fitted.summary.split("\n")[-1] in later.summary  # the summary rolls on: newest lines kept


def test_one_huge_message_is_cut_not_sent_whole():
    huge = Message("user", "word " * 5000)
    fitted = fit_context([PERSONA, huge], 1000, 200)
    assert fitted.tokens <= 800 and fitted.messages[0] == PERSONA and 0 < len(fitted.messages[-1].content) < 25000


def test_a_budget_too_small_is_refused():
    with pytest.raises(ValueError):
        fit_context([PERSONA], 100, 90)
