"""schemathesis over the live server's OpenAPI schema: no input may produce a 5xx.

Every operation is fuzzed with valid (positive) and schema-violating (negative) inputs, a
fixed seed and a bounded number of examples, as a logged-in, verified user of its own (so
logout, session revocation and account deletion only ever end that operation's user).
Responses must also match the documented schemas and content types.
"""

from __future__ import annotations

from collections import Counter

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from smile.kit import runtime

SEED = 20261122
EXAMPLES = 12  # per operation and mode
PATHS = r"^/(api/v1/|healthz$|readyz$)"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz(operation, mode: GenerationMode, base_url: str, token: str, seen: Counter) -> list[str]:
    problems: list[str] = []

    @hypothesis.seed(SEED)
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=False,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        try:
            response = case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                              timeout=30, checks=CHECKS)
            seen[(operation.label, mode.value, response.status_code // 100)] += 1
        except (FailureGroup, AssertionError) as exc:  # collect every problem, keep fuzzing
            problems.append(f"{operation.label} [{mode.value}]: {str(exc).strip()[:1500]}\n"
                            f"  reproduce: {case.as_curl_command(headers={'Authorization': 'Bearer <token>'})}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input could be generated"
        # an operation without parameters or body has no input to make invalid
    return problems


@pytest.mark.timeout(1200)  # every operation of the whole API, two modes each
def test_api_has_no_server_errors_and_matches_its_schema(server, signup):
    config = schemathesis.Config.from_dict({"seed": SEED})
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=config)
    schema = schema.include(path_regex=PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /api/v1/auth/register", "GET /api/v1/users/me", "GET /healthz"} <= labels
    problems: list[str] = []
    seen: Counter = Counter()  # (operation, mode, status class) -> responses
    for operation in operations:
        server.call(runtime.current().limiter.reset())  # sign-ups for each operation never hit 429
        token = signup().access  # a fresh verified user per operation
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problems.extend(_fuzz(operation, mode, server.url, token, seen))
    assert not problems, f"{len(problems)} problem(s):\n\n" + "\n\n".join(problems)
    # The bearer token really authenticated the calls: own-profile reads and writes succeeded.
    assert seen[("GET /api/v1/users/me", "positive", 2)] and seen[("PATCH /api/v1/users/me", "positive", 2)]
