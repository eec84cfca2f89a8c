"""A Stripe-shaped HTTP server for tests: the official SDK talks to it over real HTTP.

It answers the endpoints smile uses (checkout sessions, refunds, transfers, billing portal
sessions, subscription update/cancel), records every request (path, form params, headers) and,
like Stripe, replays the first response for a repeated Idempotency-Key.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import LiveServer


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None
    authorization: str | None


@dataclass
class StripeStub:
    requests: list[Recorded] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _replies: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: LiveServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self) -> StripeStub:
        self.server = LiveServer(self.app()).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def calls(self, path_prefix: str, method: str = "POST") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix) and r.method == method]

    def add_refund(self, payment_intent: str, amount: int, metadata: dict | None = None) -> dict:
        """A refund made outside smile (e.g. in the Stripe dashboard)."""
        refund = {
            "id": f"re_test_{next(self._seq)}",
            "object": "refund",
            "amount": amount,
            "payment_intent": payment_intent,
            "charge": f"ch_for_{payment_intent}",
            "status": "succeeded",
            "currency": "usd",
            "metadata": metadata or {},
        }
        self.refunds.append(refund)
        return refund

    # --- the endpoints ---

    def _checkout(self, p: dict) -> dict:
        n = next(self._seq)
        return {
            "id": f"cs_test_{n}",
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/pay/cs_test_{n}",
            "mode": p.get("mode"),
            "customer": p.get("customer"),
            "metadata": _sub(p, "metadata"),
            "status": "open",
            "payment_status": "unpaid",
        }

    def _refund(self, p: dict) -> dict:
        return self.add_refund(p["payment_intent"], int(p["amount"]), _sub(p, "metadata"))

    def _transfer(self, p: dict) -> dict:
        return {
            "id": f"tr_test_{next(self._seq)}",
            "object": "transfer",
            "amount": int(p["amount"]),
            "currency": p["currency"],
            "destination": p["destination"],
            "metadata": _sub(p, "metadata"),
        }

    def _portal(self, p: dict) -> dict:
        n = next(self._seq)
        return {
            "id": f"bps_test_{n}",
            "object": "billing_portal.session",
            "customer": p["customer"],
            "url": f"https://billing.stripe.test/session/{n}",
            "return_url": p.get("return_url"),
        }

    def app(self) -> Starlette:
        async def handle(request: Request) -> JSONResponse:
            body = (await request.body()).decode()
            params = dict(parse_qsl(body if request.method == "POST" else request.url.query, keep_blank_values=True))
            key = request.headers.get("idempotency-key")
            path = request.url.path
            with self._lock:
                self.requests.append(Recorded(request.method, path, params, key, request.headers.get("authorization")))
                if key and key in self._replies:
                    return JSONResponse(self._replies[key])
                reply = self._route(request.method, path, params)
                if reply is None:
                    return JSONResponse(
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": f"Unrecognized request URL ({request.method} {path})",
                            }
                        },
                        status_code=404,
                    )
                if key:
                    self._replies[key] = reply
            return JSONResponse(reply)

        return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "DELETE"])])

    def _route(self, method: str, path: str, p: dict) -> dict | None:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._checkout(p)
        if method == "POST" and path == "/v1/refunds":
            return self._refund(p)
        if method == "GET" and path == "/v1/refunds":
            data = [r for r in self.refunds if r["charge"] == p.get("charge")]
            return {"object": "list", "url": "/v1/refunds", "has_more": False, "data": data}
        if method == "POST" and path == "/v1/transfers":
            return self._transfer(p)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return self._portal(p)
        if path.startswith("/v1/subscriptions/"):
            sub = path.rsplit("/", 1)[1]
            if method == "DELETE":
                return {"id": sub, "object": "subscription", "status": "canceled"}
            if method == "POST":
                return {
                    "id": sub,
                    "object": "subscription",
                    "status": "active",
                    "cancel_at_period_end": p.get("cancel_at_period_end") == "true",
                }
        return None


def _sub(params: dict, name: str) -> dict:
    """metadata[payment_id]=x -> {"payment_id": "x"}"""
    prefix = f"{name}["
    return {
        k[len(prefix) : -1]: v for k, v in params.items() if k.startswith(prefix) and k.endswith("]") and "][" not in k
    }
