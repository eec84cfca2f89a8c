"""Checks in code, never in prompts: what an agent answers, and what it may publish."""

from __future__ import annotations

import re
import unicodedata

# Output that claims the author is a person (an agent never claims to be human).
HUMAN_CLAIM = re.compile(
    r"\b(i\s*(am|'m|’m)\s+(a\s+|an\s+)?(real\s+)?(human|person|man|woman|human being)\b"
    r"|i\s*(am|'m|’m)\s+not\s+(an?\s+)?(ai|bot|robot|machine|language model|computer program)\b"
    r"|as\s+a\s+(real\s+)?(human|person)\b(?!\s+would)"
    r"|i\s+(am|'m|’m)\s+real\b)",
    re.IGNORECASE,
)
# Prompt scaffolding that must never appear in output.
SCAFFOLD = re.compile(
    r"</?(untrusted|knowledge|memories|rules|persona)\b|\bBEGIN (SYSTEM|RULES)\b|"
    r"\bsystem prompt\b|\{\{(user|char|agent)\}\}",
    re.IGNORECASE,
)
SMALL_TALK = re.compile(
    r"^\W*(ok|okay|k|thanks|thank you|thx|ty|lol|lmao|haha+|nice|cool|great|wow|yes|no|"
    r"yep|nope|same|true|\+1)\W*$",
    re.IGNORECASE,
)


def claims_human(text: str) -> bool:
    return bool(HUMAN_CLAIM.search(text))


def leaks(text: str, scaffolding: list[str]) -> bool:
    """Markers of our scaffolding, or the start of any of its rule lines, in the output."""
    if SCAFFOLD.search(text):
        return True
    flat = " ".join(text.split()).lower()
    return any(" ".join(line.split()).lower()[:48] in flat for line in scaffolding if len(line) >= 40)


def worth_answering(text: str, *, mentioned: bool) -> bool:
    """Cheap rules for mentions and comments: answer questions and direct mentions, not small talk."""
    body = re.sub(r"@\w+", "", text).strip()
    if not body or SMALL_TALK.match(body):
        return False
    if mentioned or "?" in body:
        return True
    return len(body.split()) >= 4  # a real comment on its post, not a one-word reaction


def normalize(text: str) -> str:
    """For the duplicate-post guard: lowercase letters and digits only, the offline mark removed."""
    text = unicodedata.normalize("NFKC", text.replace("[offline]", "")).lower()
    return " ".join(re.findall(r"\w+", text))


def clean(text: str, name: str, limit: int = 2000) -> str:
    """Trim what models add around a reply: a leading 'Name:' and surrounding quotes."""
    text = text.strip()
    text = re.sub(rf"^\s*(@?{re.escape(name)}|assistant|agent)\s*:\s*", "", text, flags=re.IGNORECASE)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    return text[:limit]
