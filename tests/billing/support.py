"""Billing test helpers: drive the sandbox checkout page over HTTP, and wait for job effects."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from tests.support import Api

T = TypeVar("T")


def pay_sandbox(
    api: Api, checkout_url: str, outcome: str = "pay", *, save_card: bool = True, renewals_decline: bool = False
):
    """Open the sandbox checkout page as the buyer and press Pay, Decline or Abandon.

    Returns the redirect response (303 to the success or cancel URL). The payment's events are
    handled by the job worker a moment later: use wait_for() on the effect you expect.
    """
    assert outcome in ("pay", "decline", "abandon"), outcome
    path = re.sub(r"^https?://[^/]+", "", checkout_url)
    page = api.get(path, headers={"accept": "text/html"})
    assert page.status_code == 200, page.text[:500]
    form = re.search(r'<form method="post" action="(/billing/sandbox/checkout/[^"]+)"', page.text)
    assert form and f'value="{outcome}"' in page.text, f"no {outcome} button on the checkout page"
    data = {"action": outcome}
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if csrf:
        data["csrf_token"] = csrf.group(1)
    if save_card:
        data["save_card"] = "true"
    if renewals_decline:
        data["renewals_decline"] = "true"
    r = api.post(form.group(1), data=data)
    assert r.status_code == 303, r.text[:500]
    return r


def wait_for(predicate: Callable[[], T], timeout: float = 10, interval: float = 0.05, message: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s (last value {value!r})")
        time.sleep(interval)
