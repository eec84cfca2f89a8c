"""The MCP server at /mcp: the official `mcp` SDK's MCPServer over the Streamable HTTP transport.

Stateless (every POST stands alone, so any process can answer it) with plain JSON responses.
Each HTTP request is authenticated here, before the SDK sees it, with a bearer API key carrying
the `mcp` scope (the hub's key rules: missing, invalid, expired or revoked keys are a 401, a key
without the scope a 403; the body is a JSON-RPC error that MCP clients show). The tools live in
smile.hub.mcp_tools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smile import __version__
from smile.config import Settings
from smile.hub import mcp_tools
from smile.hub.auth import ApiKeyPrincipal, api_key_principal
from smile.kit import runtime
from smile.kit.errors import AppError

log = structlog.get_logger("smile.hub.mcp")
PATH = "/mcp"
SCOPE = "mcp"
JSONRPC_CODES = {401: -32001, 403: -32003}  # implementation-defined server errors (JSON-RPC reserves -32000..-32099)

INSTRUCTIONS = (
    "smile's AI hub. `chat` calls a model from the catalog and is paid from the key owner's credits "
    "(the reply reports the credits charged); `ask_agent` asks one of smile's AI agents by handle, paid the same "
    "way; `credit_balance` and `usage` read the wallet and recent "
    "AI spending; `search_posts` searches public posts on the smile social network."
)


def build_server(settings: Settings) -> MCPServer:
    server = MCPServer(
        "smile", title="smile AI hub", instructions=INSTRUCTIONS, version=__version__, website_url=settings.base_url
    )
    mcp_tools.register(server, with_social="social" in settings.module_list)
    return server


async def authenticate(scope: Scope) -> ApiKeyPrincipal:
    """The API-key caller of this HTTP request (hub.auth rules), refused unless the key has the `mcp` scope."""
    request = Request(scope)
    async with runtime.current().db.session() as db:
        principal = await api_key_principal(request, db)
    principal.check_scope(SCOPE)
    return principal


def refusal(exc: AppError) -> JSONResponse:
    """A refused HTTP request: the HTTP status, with a JSON-RPC error body so MCP clients show the message.

    `error.data` carries the HTTP status and smile's error code (e.g. api_key_revoked, missing_scope).
    """
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": JSONRPC_CODES.get(exc.status, -32000),
            "message": exc.message,
            "data": {"status": exc.status, "code": exc.code},
        },
    }
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


class McpEndpoint:
    """ASGI app: authenticate, then hand the request to the SDK's session manager."""

    def __init__(self, settings: Settings) -> None:
        self.server = build_server(settings)
        self.manager: StreamableHTTPSessionManager | None = None
        self.route = Route(PATH, self, methods=["GET", "POST", "DELETE"], include_in_schema=False)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the SDK's session manager (a fresh one per start: the SDK's cannot be restarted)."""
        # Bearer keys, no cookies: a DNS-rebinding page cannot use the caller's credentials, and the
        # host check would refuse every request behind a real domain name.
        self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # names the route in the request log and metrics
        if self.manager is None:
            await refusal(
                AppError("The MCP server is starting or stopping; try again.", status=503, code="unavailable")
            )(scope, receive, send)
            return
        try:
            principal = await authenticate(scope)
        except AppError as exc:
            await refusal(exc)(scope, receive, send)
            return
        key = principal.key
        token = AccessToken(
            token=key.hint, client_id=str(key.id), scopes=sorted(principal.scopes), subject=str(principal.user.id)
        )
        scope["user"] = AuthenticatedUser(token)  # the SDK's own notion of the caller
        scope["auth"] = AuthCredentials(token.scopes)
        scope[mcp_tools.PRINCIPAL] = principal
        await self.manager.handle_request(scope, receive, send)


def mount(app: FastAPI, settings: Settings) -> McpEndpoint:
    """Serve MCP at /mcp on `app`, its session manager running for the app's lifespan."""
    endpoint = McpEndpoint(settings)
    app.router.routes.append(endpoint.route)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[object]:
        async with inner(a) as state, endpoint.running():
            yield state

    app.router.lifespan_context = lifespan
    return endpoint
