"""Credits test helpers."""

from __future__ import annotations

from tests.support import Api

WALLET = "/api/v1/billing/credits/wallet"
FINANCE = "/api/v1/admin/finance"


def balance(api: Api) -> int:
    r = api.get(WALLET)
    assert r.status_code == 200, r.text
    return r.json()["balance"]


def adjust(admin: Api, user: Api, amount: int, reason: str = "test adjustment", **kw):
    return admin.post(
        f"{FINANCE}/credit-adjustments", json={"user": user.user["username"], "amount": amount, "reason": reason}, **kw
    )
