"""The real `smile ledger verify` command, run as a subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.ledger.verify import CHECKS


@pytest.fixture
def verify_cli(tmp_path, dsn):
    """Run `smile ledger verify` with SMILE_DATABASE_URL at the test database; returns (exit code, output)."""

    def run() -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        env.update(
            COLUMNS="500",
            NO_COLOR="1",
            PYTHONIOENCODING="utf-8",
            SMILE_DATABASE_URL=dsn,
            SMILE_DATA_DIR=str(tmp_path / "var"),
        )
        proc = subprocess.run(
            [sys.executable, "-m", "smile.cli", "ledger", "verify"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.returncode, proc.stdout + proc.stderr

    return run


@pytest.fixture
def books(make_user, ledger_db):
    """A wallet funded, partly spent, with an open hold and a reversal; returns the wallet's account id."""
    user = make_user()

    async def post(database):
        async with database.session() as db:
            wallet = await ledger.wallet(db, user)
            promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
            await ledger.post(db, "signup_grant", [Leg(promo, -100), Leg(wallet, 100)], key=f"grant:{user}")
            spent = await ledger.post(db, "credit_spend", [Leg(wallet, -30), Leg(revenue, 30)], key=f"spend:{user}")
            await ledger.reverse(db, spent.transaction_id)
            hold = await ledger.hold(db, wallet, 20, key=f"hold:{user}")
            await ledger.capture(db, hold, 5, revenue, kind="credit_spend")
            await ledger.hold(db, wallet, 10, key=f"hold2:{user}")
            return wallet

    return ledger_db(post)


def test_a_consistent_ledger_exits_zero(verify_cli, books):
    code, out = verify_cli()
    assert code == 0, out
    assert "The ledger is consistent." in out
    for name in CHECKS:
        assert f"ok  {name}:" in out, out


def test_a_corrupted_cached_balance_exits_one_naming_the_check(verify_cli, books, db):
    db.execute("UPDATE ledger_accounts SET balance = balance + 7 WHERE id = %s", (books,))
    code, out = verify_cli()
    assert code == 1, out
    assert "FAIL  cached_balance:" in out
    assert f"{books}: cached 102, entries sum to 95" in out
    assert "ok  zero_sum:" in out and "1 violation(s)." in out
    assert "The ledger is consistent." not in out


def test_a_held_amount_without_holds_is_named_too(verify_cli, books, db):
    db.execute("UPDATE ledger_accounts SET held = held + 1 WHERE id = %s", (books,))
    code, out = verify_cli()
    assert code == 1 and "FAIL  held_matches_holds:" in out and "held 11, open holds 10" in out, out
