"""Hub fixtures: keys made through the API, and a test-only /v1 route behind the API-key dependency.

The probe route is a minimal gateway-like route for these tests: it needs the `chat` scope, checks the
requested model against the key, and counts the request and its tokens against the rate limits.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from smile.hub.auth import ApiKeyPrincipal, require_scope
from smile.hub.errors import OpenAIRoute
from smile.hub.limits import check_rate

PROBE = "/v1/_hub_test/chat"
ChatKey = Annotated[ApiKeyPrincipal, Depends(require_scope("chat"))]


class ProbeIn(BaseModel):
    model: str = Field(min_length=1)
    tokens: int = Field(0, ge=0)


@pytest.fixture(scope="session")
def probe(server) -> str:
    router = APIRouter(route_class=OpenAIRoute)

    @router.post(PROBE)
    async def chat_probe(body: ProbeIn, me: ChatKey) -> dict:
        me.check_model(body.model)
        await check_rate(me.key, me.user, body.tokens)
        return {"ok": True, "key_id": str(me.key.id), "user_id": str(me.user.id)}

    server.server.config.app.include_router(router)
    return PROBE


@pytest.fixture
def make_key():
    """Create a key for `api` (a logged-in Api); returns the KeyCreated JSON."""

    def make(api, **fields) -> dict:
        r = api.post("/api/v1/hub/keys", json={"name": fields.pop("name", "test key"), **fields})
        assert r.status_code == 201, r.text
        return r.json()

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
