"""Imports every table so Alembic and the tests see the whole schema."""

from smile.agents import models as agent_models  # noqa: F401
from smile.agents.knowledge import models as agent_knowledge_models  # noqa: F401
from smile.agents.memory import models as agent_memory_models  # noqa: F401
from smile.ai import embeddings as ai_embeddings  # noqa: F401  (the ai_embeddings table)
from smile.ai import models as ai_models  # noqa: F401
from smile.billing.credits import models as credit_models  # noqa: F401
from smile.billing.ledger import models as ledger_models  # noqa: F401
from smile.billing.payments import models as payment_models  # noqa: F401
from smile.billing.sales import models as sales_models  # noqa: F401
from smile.billing.subscriptions import models as subscription_models  # noqa: F401
from smile.hub import models as hub_models  # noqa: F401
from smile.identity import models as identity_models  # noqa: F401
from smile.kit import mail  # noqa: F401
from smile.kit.db import Base
from smile.social import models as social_models  # noqa: F401

metadata = Base.metadata
