"""Security headers on every HTTP response: Content-Security-Policy, framing, referrer, permissions, HSTS.

The policy allows scripts from this origin only: no inline <script>, no on*="" handlers, no eval
(htmx runs with allowEval off, Alpine is its CSP build, Chart.js needs neither). Styles may be
inline (templates carry small <style> blocks and style attributes; CSS cannot run code). Images and
media may be blob: (previews of files being uploaded) and data: URLs. WebSockets to this origin
are covered by connect-src 'self'. There is no form-action: sign-in with an OAuth provider and a
Stripe checkout are form posts that redirect to another site.

The API docs page (FastAPI's Swagger UI) is the one exception: it loads Swagger from its CDN and
starts it with an inline script, which is allowed by its hash, on that page only.
"""

from __future__ import annotations

import base64
import hashlib
import re

from smile.config import Settings

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
DOCS_CDN = "https://cdn.jsdelivr.net"
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def policy(**overrides: str) -> bytes:
    return "; ".join(f"{k} {v}" for k, v in (POLICY | overrides).items()).encode()


CSP = policy()


def docs_policy(html: bytes) -> bytes:
    """The docs page's policy: its CDN, and its own inline scripts by hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in INLINE_SCRIPT.findall(html)
    )
    return policy(
        **{
            "script-src": f"'self' {DOCS_CDN} {hashes}".strip(),
            "style-src": f"'self' 'unsafe-inline' {DOCS_CDN}",
            "img-src": "'self' data: https://fastapi.tiangolo.com",
        }
    )


def wants_hsts(settings: Settings) -> bool:
    """Production, or served over https (browsers ignore the header on plain http anyway)."""
    return settings.env == "prod" or settings.base_url.startswith("https://")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app, settings: Settings, docs_path: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.docs_path = docs_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = [*HEADERS, HSTS] if wants_hsts(self.settings) else HEADERS
        if scope["path"] == self.docs_path:
            return await self._docs(scope, receive, send, extra)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", CSP), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope, receive, send, extra):
        """Hold the (small) docs page until its body is known, to allow its inline script by hash."""
        start: dict = {}
        body = bytearray()

        async def hold(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                headers = [*start.get("headers", []), (b"content-security-policy", docs_policy(bytes(body))), *extra]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, hold)
