"""Structured logs with request ids, and Prometheus metrics, in one ASGI middleware.

Every line goes through `redact_secrets` last, whoever logged it (our structlog events, uvicorn's
handshake and access lines, libraries): tokens, passwords and credentials never reach the logs.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("smile_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "smile_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_POOL_IN_USE = Gauge("smile_db_pool_checked_out", "Database connections in use")
DB_POOL_SIZE = Gauge("smile_db_pool_size", "Database pool size")
JOBS = Gauge("smile_jobs", "Background jobs by status", ["status"])


REDACTED = "[redacted]"
# A field whose name says it holds a secret has its whole value masked.
SECRET_KEY = re.compile(r"(token|password|secret|authorization|api_key|cookie)$|^otp$", re.I)
SECRET_TEXT = [
    # name=value in query strings and form bodies: access_token=, refresh_token=, token=, password=, code= ...
    (re.compile(r"\b([\w-]*(?:token|password|secret|api_key)|code)=[^&\s\"'<>]+", re.I), rf"\1={REDACTED}"),
    # "key": "value" pairs in JSON or repr text
    (
        re.compile(r"""(["']?[\w-]*(?:token|password|secret|authorization)["']?\s*:\s*["'])[^"']+""", re.I),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.I), rf"\1 {REDACTED}"),  # Authorization header values
    (re.compile(r"\b(bearer\.)[\w.~+/=-]+", re.I), rf"\1{REDACTED}"),  # the WebSocket token subprotocol
    (re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]+"), REDACTED),  # any JWT
    (re.compile(r"\bsk-smile-[\w-]+"), f"sk-smile-{REDACTED}"),  # hub API keys
]


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and SECRET_KEY.search(k) and v else _redact(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    return value


def redact_secrets(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask tokens, passwords and credentials in every field of a log line."""
    return _redact(event_dict)


def configure_logging(json_logs: bool, level: str = "INFO") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # we log requests ourselves
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


log = structlog.get_logger("smile.http")


class RequestMiddleware:
    """Request id (X-Request-ID in and out, bound to every log line), access log, metrics."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            if scope["path"].startswith("/static/"):
                template = "/static"
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            if template not in ("/healthz", "/metrics", "/static"):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=template,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")
