"""Security headers on every response, and templates the Content-Security-Policy can run as they are."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "smile" / "web" / "templates"
PATHS = ("/", "/login", "/register", "/no/such/page", "/static/css/smile.css", "/api/v1/users/me", "/healthz")


def directives(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in header.split(";") if part.strip()}


def test_every_response_carries_the_policy_and_headers(client):
    for path in PATHS:
        r = client.get(path, headers={"Accept": "text/html"})
        csp = directives(r.headers["content-security-policy"])
        assert csp["script-src"] == "'self'", path  # no 'unsafe-inline', no 'unsafe-eval'
        assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
        assert csp["frame-ancestors"] == "'none'" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in r.headers["permissions-policy"] and "geolocation=()" in r.headers["permissions-policy"]
        assert "strict-transport-security" not in r.headers  # dev over http


def test_hsts_in_production_or_over_https(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "env", "prod")
    assert client.get("/login").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    monkeypatch.setattr(settings, "env", "dev")
    monkeypatch.setattr(settings, "base_url", "https://smile.example")
    assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")


def test_api_docs_allow_their_own_inline_script_by_hash_only(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    csp = directives(r.headers["content-security-policy"])
    scripts = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"] and csp["frame-ancestors"] == "'none'"
    # everywhere else the hash is not allowed
    assert "sha256" not in client.get("/login").headers["content-security-policy"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on*= handler"),
    (re.compile(r"\bhx-on", re.I), "hx-on (needs eval)"),
    (re.compile(r"\bhx-(vals|headers)=['\"]\s*js:", re.I), "js: value (needs eval)"),
    (re.compile(r"\bhx-trigger=\"[^\"]*\[", re.I), "hx-trigger filter (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (
        re.compile(r"""(?:x-on:|@)[\w.:-]+="[^"]*\b(?:if|confirm|document|window|URL|fetch)\b""", re.I),
        "Alpine statement or global (not in the CSP build)",
    ),
]


def test_templates_have_no_inline_script():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(TEMPLATES)}:{line}: {what}: {match.group(0)[:60]}")
    assert not found, "\n".join(found)


def test_rendered_pages_load_scripts_from_files_only(signup, browser):
    alice = signup()
    web = browser(alice)
    for path in (
        "/",
        f"/u/{alice.user['username']}",
        "/messages",
        "/notifications",
        "/settings/profile",
        "/billing/wallet",
        "/hub/keys",
        "/hub/usage",
        "/hub/playground",
        "/search?q=a",
    ):
        r = web.get(path)
        assert r.status_code == 200, path
        tags = re.findall(r"<script\b[^>]*>", r.text)
        assert tags, path
        for tag in tags:
            assert 'src="/static/' in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", r.text), path
        assert "alpinejs-csp-" in r.text and '"allowEval": false' in r.text
