"""Credits fixtures: an MFA-verified admin, fast logged-in users, ledger checks."""

from __future__ import annotations

import uuid

import pytest

from smile.billing.ledger.verify import verify
from tests.admin.helpers import add_user, make_admin
from tests.support import STRONG_PASSWORD, Api


@pytest.fixture
def admin(signup, db) -> Api:
    return make_admin(signup, db)


@pytest.fixture
def quick_user(make_client, dsn):
    """A verified account made in the database and logged in over the API (no email round trip)."""

    def make() -> Api:
        name = f"q{uuid.uuid4().hex[:10]}"
        user_id = add_user(dsn, name)
        api = make_client()
        r = api.post("/api/v1/auth/login", json={"login": name, "password": STRONG_PASSWORD})
        assert r.status_code == 200, r.text
        api.access = r.json()["access_token"]
        api.user = {"id": user_id, "username": name}
        api.email = f"{name}@example.com"
        return api

    return make


@pytest.fixture
def ledger_ok(ledger_db):
    """Assert `smile ledger verify` finds nothing wrong."""

    def check() -> None:
        async def run(database):
            async with database.session() as session:
                return await verify(session)

        assert ledger_db(run) == []

    return check
