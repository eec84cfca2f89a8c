"""Long-term facts found in what a person says, by rules (the offline provider's way; no model call).

Each fact has a slot `key`: single-valued facts (name, home, job, birthday) replace the old value; the
others ("likes:pizza") add up, and saying the same thing twice changes nothing. Only the person's own
words are read, one sentence at a time; questions and negations are skipped, and a value stops at the
end of its clause, so a fact is always short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_VALUE = 60
VAGUE = {
    "it",
    "that",
    "this",
    "them",
    "you",
    "your",
    "yours",
    "him",
    "her",
    "those",
    "these",
    "so",
    "too",
    "a lot",
    "very much",
    "much",
    "here",
    "there",
    "what",
    "how",
    "when",
    "why",
    "who",
}
_V = rf"(?P<value>[^.,;!?\n]{{2,{MAX_VALUE}}}?)"
_END = r"(?=\s*(?:[.,;!?\n]|\band\b|\bbut\b|\bbecause\b|\bso\b|$))"


@dataclass(frozen=True)
class Fact:
    key: str
    text: str


# (slot, pattern, sentence about the person); `multi` slots are keyed by their value too
RULES: list[tuple[str, bool, re.Pattern[str], str]] = [
    (slot, multi, re.compile(pattern + _END, re.IGNORECASE), template)
    for slot, multi, pattern, template in [
        ("name", False, r"\b(?:my name is|my name's|call me)\s+" + _V, "Their name is {}."),
        (
            "home",
            False,
            r"\b(?:I live in|I'm living in|I am living in|I'm based in|I am based in)\s+" + _V,
            "They live in {}.",
        ),
        ("origin", False, r"\b(?:I'm from|I am from|I come from)\s+" + _V, "They are from {}."),
        (
            "job",
            False,
            r"\b(?:I work as|I'm working as|I am working as|my job is|I'm employed as)\s+" + _V,
            "They work as {}.",
        ),
        ("employer", False, r"\bI work (?:at|for)\s+" + _V, "They work at {}."),
        ("birthday", False, r"\bmy birthday is(?: on)?\s+" + _V, "Their birthday is {}."),
        ("likes", True, r"\bI (?:really |also |just )?(?:like|love|enjoy|adore)\s+" + _V, "They like {}."),
        (
            "dislikes",
            True,
            r"\bI (?:really )?(?:dislike|hate|can't stand|cannot stand|don't like|do not like)\s+" + _V,
            "They dislike {}.",
        ),
        ("allergy", True, r"\bI(?:'m| am) allergic to\s+" + _V, "They are allergic to {}."),
        ("speaks", True, r"\bI speak\s+" + _V, "They speak {}."),
    ]
]
TRAILING = re.compile(
    r"\s+(?:now|these days|nowadays|currently|at the moment|right now|today|too|as well|a lot|"
    r"very much|so much)$",
    re.IGNORECASE,
)
OPPOSITE = {"likes": "dislikes", "dislikes": "likes"}


def normalize(value: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'-]", "", value.lower())).strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text or "") if s.strip()]


def extract(user_text: str) -> list[Fact]:
    """The facts the person states about themself in `user_text` (deduplicated, in order)."""
    found: dict[str, Fact] = {}
    for sentence in _sentences(user_text[:4000]):
        if sentence.endswith("?"):
            continue
        for slot, multi, pattern, template in RULES:
            for match in pattern.finditer(sentence):
                value = re.sub(r"\s+", " ", match.group("value")).strip(" '\"")
                while TRAILING.search(value):
                    value = TRAILING.sub("", value)
                norm = normalize(value)
                if not norm or norm in VAGUE or norm.split()[0] in VAGUE or len(value) > MAX_VALUE:
                    continue
                if slot == "likes" and norm.startswith(("to be ", "being ")):
                    continue
                key = f"{slot}:{norm}"[:200] if multi else slot
                found[key] = Fact(key, template.format(value))
    return list(found.values())


def contradicted(fact: Fact) -> str | None:
    """The slot key a new fact replaces: "likes:x" replaces "dislikes:x" and the other way round."""
    slot, _, value = fact.key.partition(":")
    return f"{OPPOSITE[slot]}:{value}" if slot in OPPOSITE and value else None
