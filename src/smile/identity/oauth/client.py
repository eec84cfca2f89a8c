"""The Authlib OAuth registry, built lazily from the current settings' OIDC providers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request

from smile.kit import runtime
from smile.kit.errors import NotFound

try:  # the HTTP client Authlib itself uses (it prefers httpx2 when installed)
    import httpx2 as _http
except ImportError:
    import httpx as _http

TRANSPORT_ERRORS = (_http.HTTPError,)

SCOPE = "openid email profile"
LABELS = {"google": "Google"}


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    issuer: str


_cache: tuple[str, OAuth] | None = None


def _configured() -> list[dict[str, str]]:
    try:
        return runtime.current().settings.oidc_provider_list()
    except RuntimeError:  # no runtime (e.g. templates rendered outside the app)
        return []


def registry() -> OAuth:
    """The OAuth registry for the providers configured now (rebuilt when the settings change)."""
    global _cache
    configured = _configured()
    key = json.dumps(configured, sort_keys=True)
    if _cache is None or _cache[0] != key:
        oauth = OAuth()
        for p in configured:
            oauth.register(
                name=p["name"],
                client_id=p["client_id"],
                client_secret=p["client_secret"],
                server_metadata_url=p["issuer"] + "/.well-known/openid-configuration",
                client_kwargs={"scope": SCOPE, "timeout": 15},
            )
        _cache = (key, oauth)
    return _cache[1]


def providers() -> list[Provider]:
    """The configured providers, for "Continue with ..." buttons."""
    return [
        Provider(p["name"], LABELS.get(p["name"], p["name"].replace("_", " ").title()), p["issuer"])
        for p in _configured()
    ]


def label(name: str) -> str:
    """How a provider is named to people (also one that is no longer configured)."""
    return next((p.label for p in providers() if p.name == name), LABELS.get(name, name.replace("_", " ").title()))


def provider(name: str) -> Provider:
    for p in providers():
        if p.name == name:
            return p
    raise NotFound(f"There is no sign-in provider called {name!r}.")


def app(name: str) -> StarletteOAuth2App:
    provider(name)
    return registry().create_client(name)


def redirect_uri(request: Request, name: str) -> str:
    """Where the provider sends the browser back.

    The callback must land on the origin the browser is using, because the OAuth state lives in
    that origin's session cookie. SMILE_BASE_URL is preferred when it names the same host as the
    request (it carries the public scheme and any path prefix behind a TLS-terminating proxy, and
    is the URI operators register with the provider); otherwise the request's own URL is used.
    """
    base = runtime.current().settings.base_url
    if urlsplit(base).netloc.lower() == request.headers.get("host", "").lower():
        return f"{base}/auth/oauth/{name}/callback"
    return str(request.url_for("oauth_callback", provider=name))
