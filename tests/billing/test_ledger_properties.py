"""Property tests: random sequences of ledger operations on real PostgreSQL keep every invariant.

Each example gets fresh users and runs a random program of grants, spends, holds, captures (partial, full,
zero, too large), releases, expiries, reversals, freezes, replayed idempotency keys and concurrent pairs,
each in its own unit of work like a request. A Python model predicts every outcome and balance; a
concurrent pair must end as one of its two serial orders. After the program, `smile ledger verify`'s
checks find nothing and the wallets hold what the model says.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerHold
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.ledger.verify import verify
from smile.kit.errors import Conflict, Invalid

USERS = 2


@dataclass
class Hold:
    user: int
    amount: int
    status: str = "open"
    expired: bool = False
    id: uuid.UUID | None = None


@dataclass
class Tx:
    user: int
    delta: int  # what the transaction did to the user's wallet
    reversed: bool = False
    id: uuid.UUID | None = None


@dataclass
class Model:
    balance: list[int] = field(default_factory=lambda: [0] * USERS)
    held: list[int] = field(default_factory=lambda: [0] * USERS)
    frozen: set[int] = field(default_factory=set)
    holds: list[Hold] = field(default_factory=list)
    txs: list[Tx] = field(default_factory=list)
    tx_keys: set[str] = field(default_factory=set)
    hold_keys: dict[str, int] = field(default_factory=dict)

    def available(self, user: int) -> int:
        return self.balance[user] - self.held[user]

    def refusal(self, user: int) -> str:
        return "frozen" if user in self.frozen else "insufficient"

    def apply(self, op: tuple) -> str:
        """Predict one operation's outcome and update the model (ops carry resolved hold/tx indexes)."""
        name, *args = op
        if name in ("grant", "spend"):
            user, amount, key = args
            if key in self.tx_keys:
                return "replayed"
            if name == "spend" and (user in self.frozen or self.available(user) < amount):
                return self.refusal(user)
            self.tx_keys.add(key)
            self.balance[user] += amount if name == "grant" else -amount
            self.txs.append(Tx(user, amount if name == "grant" else -amount))
            return "ok"
        if name == "hold":
            user, amount, key, expired = args
            if key in self.hold_keys:
                return "replayed"
            if user in self.frozen or self.available(user) < amount:
                return self.refusal(user)
            self.hold_keys[key] = len(self.holds)
            self.holds.append(Hold(user, amount, expired=expired))
            self.held[user] += amount
            return "ok"
        if name in ("capture", "release"):
            hold = self.holds[args[0]]
            if hold.status != "open":
                return "conflict" if name == "capture" else "not_open"
            if name == "capture" and args[1] > hold.amount:
                return "invalid"
            self.held[hold.user] -= hold.amount
            hold.status = "captured" if name == "capture" else "released"
            if name == "capture" and args[1]:
                self.balance[hold.user] -= args[1]
                self.txs.append(Tx(hold.user, -args[1]))
            return "ok"
        if name == "expire":
            for hold in self.holds:
                if hold.status == "open" and hold.expired:
                    hold.status, self.held[hold.user] = "expired", self.held[hold.user] - hold.amount
            return "ok"
        if name == "reverse":
            tx = self.txs[args[0]]
            if tx.reversed:
                return "replayed"
            if tx.delta > 0 and self.available(tx.user) < tx.delta:
                return self.refusal(tx.user)  # a reversal ignores freezes, but a frozen account is named first
            tx.reversed, self.balance[tx.user] = True, self.balance[tx.user] - tx.delta
            return "ok"
        if name in ("freeze", "unfreeze"):
            (self.frozen.add if name == "freeze" else self.frozen.discard)(args[0])
            return "ok"
        raise AssertionError(op)


# --- operations as drawn by hypothesis (hold and tx references are indexes, resolved when run) ---------

user = st.integers(0, USERS - 1)
amount = st.integers(1, 40)
grant = st.tuples(st.just("grant"), user, st.integers(1, 100), st.sampled_from(["g0", "g1", "g2", "g3", "x"]))
spend = st.tuples(st.just("spend"), user, amount, st.sampled_from(["s0", "s1", "s2", "s3", "x"]))  # "x": any kind
hold = st.tuples(
    st.just("hold"), user, amount, st.sampled_from(["h0", "h1", "h2", "h3"]), st.sampled_from([False, False, True])
)  # True: already expired
capture = st.tuples(st.just("capture"), st.integers(0, 20), st.sampled_from(["full", "part", "part", "zero", "over"]))
release = st.tuples(st.just("release"), st.integers(0, 20))
reverse = st.tuples(st.just("reverse"), st.integers(0, 30))
freezing = st.tuples(st.sampled_from(["freeze", "unfreeze", "unfreeze"]), user)
single = st.one_of(
    grant,
    grant,
    spend,
    spend,
    spend,
    hold,
    hold,
    capture,
    capture,
    release,
    reverse,
    st.tuples(st.just("expire")),
    freezing,
)
pairable = st.one_of(grant, spend, spend, hold, capture, capture, release, reverse)
program = st.lists(
    st.one_of(single, single, single, st.tuples(st.just("pair"), pairable, pairable)), min_size=6, max_size=30
)


class Books:
    """Runs operations against the real ledger, one unit of work each, and returns outcome strings."""

    def __init__(self, database, wallets, owners, promo, revenue, tag):
        self.database, self.wallets, self.owners = database, wallets, owners
        self.promo, self.revenue, self.tag = promo, revenue, tag

    def resolve(self, op: tuple, model: Model) -> tuple | None:
        """Turn drawn indexes into concrete references; None when there is nothing to refer to."""
        name = op[0]
        if name in ("capture", "release"):
            open_ = [i for i, h in enumerate(model.holds) if h.status == "open"]
            pool = open_ if open_ and op[1] % 4 else list(range(len(model.holds)))  # mostly open holds
            if not pool:
                return None
            index = pool[op[1] % len(pool)]
            if name == "release":
                return (name, index)
            n = model.holds[index].amount
            return (name, index, {"full": n, "part": n // 2, "zero": 0, "over": n + 1}[op[2]])
        if name == "reverse":
            return (name, op[1] % len(model.txs)) if model.txs else None
        if name in ("grant", "spend", "hold"):
            return (name, op[1], op[2], f"{self.tag}:{op[3]}", *op[4:])
        return op

    async def run(self, op: tuple, model: Model) -> tuple[str, object]:
        name, *args = op
        try:
            async with self.database.session() as db:
                if name in ("grant", "spend"):
                    u, n, k = args
                    legs = (
                        [Leg(self.promo, -n), Leg(self.wallets[u], n)]
                        if name == "grant"
                        else [Leg(self.wallets[u], -n), Leg(self.revenue, n)]
                    )
                    posted = await ledger.post(db, name, legs, key=k)
                    return ("replayed" if posted.replayed else "ok"), posted.transaction_id
                if name == "hold":
                    u, n, k, expired = args
                    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
                    found = await db.scalar(select(LedgerHold.id).where(LedgerHold.idempotency_key == k))
                    hold_id = await ledger.hold(db, self.wallets[u], n, key=k, expires_at=past if expired else None)
                    return ("replayed" if found else "ok"), hold_id
                if name == "capture":
                    posted = await ledger.capture(
                        db, model.holds[args[0]].id, args[1], self.revenue, kind="credit_spend"
                    )
                    return "ok", posted and posted.transaction_id
                if name == "release":
                    return ("ok" if await ledger.release(db, model.holds[args[0]].id) else "not_open"), None
                if name == "expire":
                    while await ledger.expire_holds(db):
                        pass
                    return "ok", None
                if name == "reverse":
                    posted = await ledger.reverse(db, model.txs[args[0]].id)
                    return ("replayed" if posted.replayed else "ok"), posted.transaction_id
                if name in ("freeze", "unfreeze"):
                    await (ledger.freeze if name == "freeze" else ledger.unfreeze)(db, self.owners[args[0]])
                    return "ok", None
        except ledger.InsufficientFunds:
            return "insufficient", None
        except ledger.AccountFrozen:
            return "frozen", None
        except Conflict:
            return "conflict", None
        except Invalid:
            return "invalid", None
        raise AssertionError(op)


def record(model: Model, op: tuple, outcome: str, ref: object) -> None:
    """Attach the database ids of what an operation created to the model."""
    if outcome != "ok":
        if op[0] == "hold" and outcome == "replayed":
            assert ref == model.holds[model.hold_keys[op[3]]].id  # a replayed hold key returns the same hold
        return
    if op[0] == "hold":
        model.holds[model.hold_keys[op[3]]].id = ref
    elif op[0] in ("grant", "spend") or (op[0] == "capture" and op[2]):
        next(t for t in model.txs if t.id is None).id = ref  # transactions are recorded in the order applied


async def check_program(database, owners, ops) -> None:
    tag = uuid.uuid4().hex[:12]
    async with database.session() as db:
        wallets = [await ledger.wallet(db, u) for u in owners]
        promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
    books, model = Books(database, wallets, owners, promo, revenue, tag), Model()
    for drawn in [("grant", u, 100, f"start{u}") for u in range(USERS)] + list(ops):
        if drawn[0] != "pair":
            op = books.resolve(drawn, model)
            if op is None:
                continue
            expected = model.apply(op)
            outcome, ref = await books.run(op, model)
            assert outcome == expected, (op, outcome, expected)
            event(f"{op[0]}: {outcome}")
            record(model, op, outcome, ref)
            continue
        a, b = books.resolve(drawn[1], model), books.resolve(drawn[2], model)
        if a is None or b is None:
            continue
        if a[0] == b[0] == "hold" and a[3] == b[3]:
            b = (*b[:3], b[3] + ":b", b[4])  # which of two racing holds of one key inserted it is not observable
        results = await asyncio.gather(books.run(a, model), books.run(b, model))
        for order in ((0, 1), (1, 0)):
            trial = copy.deepcopy(model)
            ops = (a, b)
            predicted = {i: trial.apply(ops[i]) for i in order}
            if (predicted[0], predicted[1]) == (results[0][0], results[1][0]):
                model = trial
                event(f"pair {a[0]}/{b[0]}: {results[0][0]}/{results[1][0]}")
                for i in order:
                    record(model, ops[i], *results[i])
                break
        else:
            raise AssertionError(f"concurrent {a} -> {results[0][0]} and {b} -> {results[1][0]} match no serial order")
    async with database.session() as db:
        for i, wallet in enumerate(wallets):
            got = await ledger.balance(db, wallet)
            assert (got.balance, got.held) == (model.balance[i], model.held[i]), (i, got, model)
        for hold in model.holds:
            status = await db.scalar(select(LedgerHold.status).where(LedgerHold.id == hold.id))
            assert status == hold.status, hold
        assert await verify(db) == []


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=program)
def test_random_operation_sequences_keep_the_books_exact(ops, make_user, ledger_db):
    owners = [make_user() for _ in range(USERS)]
    ledger_db(lambda database: check_program(database, owners, ops))


def test_captures_and_spends_racing_on_one_wallet_never_deadlock(make_user, ledger_db):
    """A capture once locked the held account before the others: racing a spend, PostgreSQL saw a deadlock."""
    owner = make_user()

    async def scenario(database):
        async with database.session() as db:  # platform accounts first, as in production: they sort first
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
            promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        async with database.session() as db:
            wallet = await ledger.wallet(db, owner)
            assert revenue < wallet
            await ledger.post(db, "grant", [Leg(promo, -1000), Leg(wallet, 1000)], key=f"fund:{owner}")
        gate = asyncio.Semaphore(12)  # enough to race; the test database server is shared with other runs

        async def meter(i):  # reserve, then settle: the AI metering path
            async with gate:
                async with database.session() as db:
                    hold = await ledger.hold(db, wallet, 2, key=f"race:{owner}:{i}")
                async with database.session() as db:
                    await ledger.capture(db, hold, 1, revenue, kind="credit_spend")

        async def spend(i):
            async with gate, database.session() as db:
                await ledger.post(db, "credit_spend", [Leg(wallet, -1), Leg(revenue, 1)], key=f"race:{owner}:s{i}")

        results = await asyncio.gather(*(f(i) for i in range(60) for f in (meter, spend)), return_exceptions=True)
        async with database.session() as db:
            return results, await ledger.balance(db, wallet), await verify(db)

    results, balance, violations = ledger_db(scenario)
    assert [r for r in results if r is not None] == []
    assert (balance.balance, balance.held) == (1000 - 120, 0) and violations == []
