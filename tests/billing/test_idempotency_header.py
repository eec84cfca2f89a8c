"""The Idempotency-Key header is declared once (smile.kit.requests.IdempotencyKey): every money route agrees."""


def test_every_route_declares_the_same_idempotency_key_header(client):
    spec = client.get("/api/openapi.json").json()
    found = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for param in op.get("parameters", []):
                if param["in"] == "header" and param["name"].lower().replace("_", "-") == "idempotency-key":
                    found[f"{method.upper()} {path}"] = (param["name"], param["schema"])
    assert {"POST /api/v1/billing/credits/purchases", "POST /api/v1/billing/subscriptions"} <= set(found)
    assert any("/sales" in route or "/listings" in route for route in found), found
    assert len(set(map(repr, found.values()))) == 1, found
    name, schema = next(iter(found.values()))
    assert name == "Idempotency-Key"


def test_a_too_short_key_is_a_clear_422(signup):
    user = signup()
    r = user.post("/api/v1/billing/subscriptions", json={"plan": "x"}, headers={"Idempotency-Key": "short"})
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["fields"] or "idempotency" in r.text.lower()
