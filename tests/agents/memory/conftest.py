from tests.agents.knowledge.conftest import in_app, make_agent  # noqa: F401  (shared agents fixtures)
