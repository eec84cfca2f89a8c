"""Text rendering: escaping, links, mentions, hashtags."""

from __future__ import annotations

from smile.social.text import render


def test_escapes_html_and_attributes():
    html, _, _ = render('<img src=x onerror=alert(1)> "quoted" & <a href="javascript:x">y</a>')
    assert "<img" not in html and '<a href="javascript' not in html
    assert "&lt;img" in html and "&amp;" in html


def test_links_get_safe_rel_and_trailing_punctuation_stays_out():
    html, _, _ = render("see https://example.com/a?b=1&c=2. ok")
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="nofollow ugc noopener">' in html
    assert "</a>. ok" in html
    assert "<a" not in render("javascript:alert(1) ftp://x")[0]


def test_mentions_hashtags_and_newlines():
    html, mentions, tags = render("Hi @Bob and @bob, #Python #python #42\nbye me@example.com")
    assert mentions == ["bob"] and tags == ["python"]
    assert '<a class="mention" href="/u/Bob"' in html and '<a class="hashtag" href="/tags/python"' in html
    assert "<br>" in html and "#42" in html and "me@example.com" in html
    assert 'href="/u/example' not in html
