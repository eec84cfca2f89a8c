"""Split a document's text into passages: by headings, then paragraphs, packed to a size, with overlap.

A chunk stays within one section (its heading path, e.g. "Returns > Refunds", goes with it) and holds
whole paragraphs up to TARGET_TOKENS; the next chunk of the same section starts with the tail of the
previous one (OVERLAP_TOKENS), so a fact that straddles the cut is whole in one of them. Sizes are in the
project's token measure (smile.ai.tokens); MiniLM reads about 256 word pieces, so chunks stay below that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smile.ai import tokens

TARGET_TOKENS = 160
OVERLAP_TOKENS = 40
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Piece:
    heading: str
    text: str


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading path, paragraphs) per section, in order."""
    sections: list[tuple[str, list[str]]] = []
    stack: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    current: list[str] = []

    def close_paragraph() -> None:
        if current:
            paragraphs.append(" ".join(line.strip() for line in current).strip())
            current.clear()

    def close_section() -> None:
        close_paragraph()
        if paragraphs:
            sections.append((" > ".join(title for _, title in stack)[:300], list(paragraphs)))
            paragraphs.clear()

    for line in text.split("\n"):
        match = HEADING.match(line.strip())
        if match:
            close_section()
            level = len(match.group(1))
            stack = [(lvl, title) for lvl, title in stack if lvl < level] + [(level, match.group(2).strip())]
        elif not line.strip():
            close_paragraph()
        else:
            current.append(line)
    close_section()
    return sections


def _split_long(paragraph: str) -> list[str]:
    """A paragraph over TARGET_TOKENS, cut at sentences (and a sentence over it, at words)."""
    out: list[str] = []
    for sentence in SENTENCE.split(paragraph):
        words = tokens.pieces(sentence)
        while len(words) > TARGET_TOKENS:
            out.append("".join(words[:TARGET_TOKENS]).strip())
            words = words[TARGET_TOKENS:]
        if words:
            out.append("".join(words).strip())
    return out


def _tail(text: str, size: int) -> str:
    """About the last `size` tokens of text, starting at a sentence when one fits."""
    sentences = SENTENCE.split(text)
    tail = ""
    for sentence in reversed(sentences):
        candidate = f"{sentence} {tail}".strip()
        if tokens.count(candidate) > size:
            break
        tail = candidate
    return tail or "".join(tokens.pieces(text)[-size:]).strip()


def split(text: str) -> list[Piece]:
    chunks: list[Piece] = []
    for heading, paragraphs in _sections(text):
        parts: list[str] = []
        for paragraph in paragraphs:
            parts.extend(_split_long(paragraph) if tokens.count(paragraph) > TARGET_TOKENS else [paragraph])
        body: list[str] = []
        size = 0
        fresh = 0  # parts in `body` not carried over from the previous chunk
        for part in parts:
            n = tokens.count(part)
            if body and size + n > TARGET_TOKENS and fresh:
                chunks.append(Piece(heading, "\n\n".join(body)))
                overlap = _tail(body[-1], OVERLAP_TOKENS)
                body, size, fresh = ([overlap], tokens.count(overlap), 0) if overlap else ([], 0, 0)
            body.append(part)
            size += n
            fresh += 1
        if fresh:
            chunks.append(Piece(heading, "\n\n".join(body)))
    return chunks
