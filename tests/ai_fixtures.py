"""AI fixtures for the ai and hub tests: stub upstreams, settings pointing at them, funded wallets.

A pytest plugin (listed in tests/conftest.py), so both packages see the fixtures without importing them;
import `fund` from here.
"""

from __future__ import annotations

import uuid

import pytest

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.kit.db import Database
from tests.ai.stubs import AnthropicStub, OpenAIStub

# alias|provider|upstream|in|out|cached|context|fallbacks  (credits per 1M tokens)
MODELS = (
    "fast|stub|stub-fast|10000|30000|5000|8192|backup;backup|stub|stub-backup|20000|40000|10000|8192|;"
    "claude|anth|claude-stub|15000|75000|1500|8192|;cheap|stub|stub-cheap|1000|1000|1000|8192|"
)


@pytest.fixture(scope="session")
def openai_stub():
    stub = OpenAIStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def anthropic_stub():
    stub = AnthropicStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def ai_settings(settings, server, openai_stub, anthropic_stub):
    """Test settings with both stubs as providers (`server` starts the runtime the credits service reads)."""
    openai_stub.reset()
    anthropic_stub.reset()
    return settings.model_copy(
        update={
            "ai_providers": f"stub|openai|{openai_stub.url}/v1|sk-test;anth|anthropic|{anthropic_stub.url}|ak-test",
            "ai_models": MODELS,
            "ai_retry_base_seconds": 0.01,
            "ai_retry_max_seconds": 0.05,
            "ai_max_retries": 1,
            "ai_timeout_seconds": 1.0,
        }
    )


async def fund(database: Database, user_id: uuid.UUID, amount: int) -> uuid.UUID:
    """Grant `amount` credits from promotions into the user's wallet; returns the wallet's account id."""
    async with database.session() as db:
        wallet = await ledger.wallet(db, user_id)
        promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        await ledger.post(db, "grant", [Leg(promo, -amount), Leg(wallet, amount)], key=f"fund:{user_id}:{amount}")
        return wallet
