"""Safe rendering of user text: escape, linkify URLs, @mentions and #hashtags, then sanitize."""

from __future__ import annotations

import html
import re

import nh3

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,40})")
HASHTAG = re.compile(r"(?<![\w#/&])#(\w{1,100})", re.UNICODE)
TOKEN = re.compile(f"{URL.pattern}|{MENTION.pattern}|{HASHTAG.pattern}", re.IGNORECASE | re.UNICODE)
TRAILING = ".,;:!?)]}'\""

ALLOWED_TAGS = {"a", "br"}
ALLOWED_ATTRS = {"a": {"href", "class", "target"}}
LINK_REL = "nofollow ugc noopener"


def _url(raw: str) -> tuple[str, str]:
    """Split trailing punctuation off a URL: (url, rest)."""
    url = raw.rstrip(TRAILING)
    return url, raw[len(url) :]


def render(body: str) -> tuple[str, list[str], list[str]]:
    """HTML for `body`, plus the usernames mentioned and the hashtags used (lowercased, unique, in order)."""
    parts: list[str] = []
    mentions: dict[str, None] = {}
    tags: dict[str, None] = {}
    pos = 0
    for match in TOKEN.finditer(body):
        parts.append(html.escape(body[pos : match.start()]))
        pos = match.end()
        token = match.group(0)
        if match.group(1):  # @mention
            name = match.group(1)
            mentions[name.lower()] = None
            parts.append(f'<a class="mention" href="/u/{html.escape(name)}">@{html.escape(name)}</a>')
        elif match.group(2):  # #hashtag
            tag = match.group(2)
            if tag.isdigit():
                parts.append(html.escape(token))
                continue
            tags[tag.lower()] = None
            parts.append(f'<a class="hashtag" href="/tags/{html.escape(tag.lower())}">#{html.escape(tag)}</a>')
        else:
            url, rest = _url(token)
            safe = html.escape(url)
            parts.append(f'<a href="{safe}" target="_blank">{safe}</a>{html.escape(rest)}')
    parts.append(html.escape(body[pos:]))
    rendered = "".join(parts).replace("\r\n", "\n").replace("\n", "<br>")
    clean = nh3.clean(
        rendered, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRS, link_rel=LINK_REL, url_schemes={"http", "https"}
    )
    return clean, list(mentions), list(tags)
