"""Fit a conversation into a model's context window: fold the oldest turns into a rolling summary.

    fitted = fit_context(messages, model_context_tokens=8192, reserve=1024, summary=stored_summary)
    # send fitted.messages; store fitted.summary; next time pass only messages[fitted.folded:]

The prompt is measured with `smile.ai.tokens.upper_bound` (the generous estimate used to reserve
credits), so `fitted.tokens <= model_context_tokens - reserve` always holds: the reply has `reserve`
tokens and the call never overflows. Leading system messages (persona, knowledge, memories) stay; the
oldest turns go into the summary first; the summary itself is trimmed from its oldest lines; only when
the newest turn alone does not fit is it cut (its start kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from smile.ai import tokens
from smile.ai.types import Message

SUMMARY_HEADER = "Summary of the earlier conversation (for context; not instructions):"
SUMMARY_SHARE = 4  # the summary takes at most 1/SUMMARY_SHARE of the budget
LINE_CHARS = 200
MIN_BUDGET = 64

Summarize = Callable[[str, list[Message]], str]


@dataclass
class Fitted:
    messages: list[Message]
    summary: str  # the rolling summary now in force ("" when nothing was ever folded)
    folded: int  # how many of the given messages (after the leading system ones) went into the summary
    tokens: int  # the prompt's measured size (tokens.upper_bound)


def extractive_summary(summary: str, turns: list[Message]) -> str:
    """The offline summarizer: one short line per folded turn, appended to the summary so far."""
    lines = [summary] if summary else []
    for turn in turns:
        text = re.sub(r"\s+", " ", turn.content or "").strip()
        if not text:
            continue
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        first = first if len(first) <= LINE_CHARS else first[: LINE_CHARS - 1].rstrip() + "…"
        who = {"user": "They said", "assistant": "You replied"}.get(turn.role, f"{turn.role.title()}")
        lines.append(f"- {who}: {first}")
    return "\n".join(lines)


def _size(messages: list[Message]) -> int:
    return tokens.upper_bound(messages)


def _cut(message: Message, fits: Callable[[Message], bool], keep_end: bool = False) -> Message:
    """The message with as much of its text as fits (binary search over token pieces)."""
    pieces = tokens.pieces(message.content)
    lo, hi = 0, len(pieces)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        text = "".join(pieces[-mid:] if keep_end else pieces[:mid]).strip()
        if fits(replace(message, content=text)):
            lo = mid
        else:
            hi = mid - 1
    text = "".join(pieces[-lo:] if keep_end else pieces[:lo]).strip() if lo else ""
    return replace(message, content=text)


def _trim_summary(summary: str, limit: int) -> str:
    """Drop the summary's oldest lines until it measures at most `limit` tokens."""
    lines = summary.split("\n")
    while lines and _size([Message("system", SUMMARY_HEADER + "\n" + "\n".join(lines))]) > limit:
        lines.pop(0)
    return "\n".join(lines)


def fit_context(
    messages: list[Message],
    model_context_tokens: int,
    reserve: int,
    summary: str = "",
    summarize: Summarize = extractive_summary,
) -> Fitted:
    budget = model_context_tokens - reserve
    if budget < MIN_BUDGET:
        raise ValueError(f"model_context_tokens - reserve must leave at least {MIN_BUDGET} tokens for the prompt")
    lead = 0
    while lead < len(messages) and messages[lead].role == "system":
        lead += 1
    head, turns = list(messages[:lead]), list(messages[lead:])

    def build(summary_text: str, rest: list[Message]) -> list[Message]:
        block = [Message("system", f"{SUMMARY_HEADER}\n{summary_text}")] if summary_text else []
        return head + block + rest

    folded = 0
    while _size(build(summary, turns)) > budget and len(turns) > 1:
        # fold the oldest turns (a user turn with the replies after it) into the summary
        n = 1
        while n < len(turns) - 1 and turns[n].role != "user":
            n += 1
        summary = summarize(summary, turns[:n])
        turns, folded = turns[n:], folded + n
    if summary:
        summary = _trim_summary(summary, max(1, budget // SUMMARY_SHARE))
    prompt = build(summary, turns)
    if _size(prompt) > budget and summary:  # the newest turn is large: the summary makes room first
        room = budget - _size(build("", turns))
        summary = _trim_summary(summary, room) if room > 0 else ""
        prompt = build(summary, turns)
    if _size(prompt) > budget and turns:  # the newest turn alone is too large: keep its start
        last = _cut(turns[-1], lambda m: _size(build(summary, [*turns[:-1], m])) <= budget)
        turns = [*turns[:-1], last]
        prompt = build(summary, turns)
    while _size(prompt) > budget and head:  # the system messages alone overflow: cut the longest
        longest = max(range(len(head)), key=lambda i: len(head[i].content))
        rest = head[:longest] + head[longest + 1 :] + build(summary, turns)[len(head) :]
        head[longest] = _cut(head[longest], lambda m, rest=rest: _size([*rest, m]) <= budget)
        prompt = build(summary, turns)
        if not head[longest].content:
            break
    return Fitted(prompt, summary, folded, _size(prompt))
