"""schemathesis over the live server's OpenAPI schema: no input may produce a 5xx.

Every operation is fuzzed with valid (positive) and schema-violating (negative) inputs, a
fixed seed and a bounded number of examples, as a logged-in, verified user of its own (so
logout, session revocation and account deletion only ever end that operation's user).
Responses must also match the documented schemas and content types.

A second pass sends the values that used to reach the database and fail there, one field at
a time, in every JSON request body: integers past the documented bounds and past the
integer/bigint columns, and text with NUL, zero-width and bidi-override characters. None may
produce a 5xx, and a name field echoed back must have lost its invisible characters.
"""

from __future__ import annotations

import copy
import re
from collections import Counter

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from smile.kit import runtime
from tests.admin.helpers import make_admin

SEED = 20261122
EXAMPLES = 12  # per operation and mode
PATHS = r"^/(api/v1/|healthz$|readyz$)"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz(operation, mode: GenerationMode, base_url: str, token: str, seen: Counter) -> list[str]:
    problems: list[str] = []

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        print_blob=False,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        try:
            response = case.call_and_validate(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, checks=CHECKS
            )
            seen[(operation.label, mode.value, response.status_code // 100)] += 1
        except (FailureGroup, AssertionError) as exc:  # collect every problem, keep fuzzing
            problems.append(
                f"{operation.label} [{mode.value}]: {str(exc).strip()[:1500]}\n"
                f"  reproduce: {case.as_curl_command(headers={'Authorization': 'Bearer <token>'})}"
            )

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


NASTY_TEXT = ["Ada\x00Lovelace", "\u202eevil\u200b name\u2066\u00ad\ufeff", "\x00"]
NASTY_INTS = [2**31, 2**63, -(2**63) - 1, 10**30]
NAME_FIELDS = {"name", "display_name", "title", "content_warning", "location"}
INVISIBLE = re.compile("[\x00-\x1f\x7f\u00ad\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    alternatives = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _resolve(alternatives[0], components) if len(alternatives) == 1 else schema


def _nasty_fields(schema: dict, components: dict, path: tuple = ()) -> list[tuple[tuple, list]]:
    """(path, bad values) for every integer and free-form string field, objects and arrays included."""
    schema = _resolve(schema, components)
    kind = schema.get("type")
    if kind == "object":
        return [
            found
            for name, sub in schema.get("properties", {}).items()
            for found in _nasty_fields(sub, components, (*path, name))
        ]
    if kind == "array" and "items" in schema:
        return _nasty_fields(schema["items"], components, (*path, 0))
    if kind == "integer":
        edges = [schema["maximum"] + 1] if "maximum" in schema else []
        edges += [schema["minimum"] - 1] if "minimum" in schema else []
        return [(path, edges + NASTY_INTS)]
    if kind == "string" and not {"enum", "format", "pattern", "const"} & schema.keys():
        return [(path, NASTY_TEXT)]
    return []


def _with(body, path: tuple, value):
    """A copy of body with value at path; None when the path's parent is not in this body."""
    body = copy.deepcopy(body)
    parent = body
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(parent, dict) and key in parent:
            parent = parent[key]
        elif isinstance(parent, list) and isinstance(key, int) and parent:
            parent = parent[0]
        else:
            return None
        if isinstance(nxt, int) and not isinstance(parent, list):
            return None
    last = path[-1]
    if isinstance(parent, list):
        if not parent and last != 0:
            return None
        parent[:1] = [value]
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        return None
    return body


def _nasty(operation, components: dict, base_url: str, token: str, sent: Counter) -> list[str]:
    content = (operation.definition.raw.get("requestBody") or {}).get("content", {})
    if "application/json" not in content:
        return []
    fields = _nasty_fields(content["application/json"].get("schema", {}), components)
    problems: list[str] = []

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=1,
        deadline=None,
        database=None,
        print_blob=False,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case) -> None:
        base = case.body if isinstance(case.body, dict) else {}
        for path, values in fields:
            for value in values:
                body = _with(base, path, value)
                if body is None:
                    continue
                case.body = body
                label = f"{operation.label} {'.'.join(map(str, path))}={value!r}"
                try:
                    response = case.call_and_validate(
                        base_url=base_url,
                        timeout=30,
                        checks=[not_a_server_error],
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except (FailureGroup, AssertionError) as exc:
                    problems.append(f"{label}: {str(exc).strip()[:800]}")
                    continue
                sent[response.status_code // 100] += 1
                try:
                    echoed = response.json() if response.status_code < 300 else None
                except ValueError:  # not JSON
                    echoed = None
                if (
                    isinstance(value, str)
                    and path[-1] in NAME_FIELDS
                    and isinstance(echoed, dict)
                    and INVISIBLE.search(str(echoed.get(path[-1], "")))
                ):
                    problems.append(f"{label}: kept invisible characters: {echoed[path[-1]]!r}")

    run()
    return problems


@pytest.mark.timeout(1200)
def test_out_of_range_integers_and_invisible_characters_never_reach_the_database(server, signup, db):
    config = schemathesis.Config.from_dict({"seed": SEED})
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=config)
    components = schema.raw_schema.get("components", {}).get("schemas", {})
    operations = [result.ok() for result in schema.include(path_regex=PATHS).get_all_operations()]
    problems: list[str] = []
    sent: Counter = Counter()  # status class -> responses
    for operation in operations:
        if "requestBody" not in operation.definition.raw:
            continue
        server.call(runtime.current().limiter.reset())
        token = make_admin(signup, db).access  # an MFA-verified admin: the admin bodies are validated too
        problems.extend(_nasty(operation, components, server.url, token, sent))
    assert not problems, f"{len(problems)} problem(s):\n\n" + "\n\n".join(problems)
    assert sent[4] > 300 and sent[2] > 20, sent  # the bad values were sent, and many were refused
