"""The docs say what the code does: every setting in the operations table, with its default; recipes that run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from smile.billing.payments import sandbox
from smile.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
CELL = re.compile(r"(?<!\\)\|")  # table cells split on | but not on an escaped \|


def _settings_table() -> dict[str, str]:
    """SMILE_NAME -> the default cell of the operations.md row whose first cell names it."""
    rows = {}
    for line in (DOCS / "operations.md").read_text().splitlines():
        cells = CELL.split(line)
        if line.startswith("|") and len(cells) >= 4:
            for name in re.findall(r"`(SMILE_[A-Z0-9_]+)`", cells[1]):
                rows[name] = cells[2]
    return rows


def test_every_setting_is_documented_in_operations_md():
    text = (DOCS / "operations.md").read_text()
    missing = [
        f"SMILE_{name.upper()}" for name in Settings.model_fields if not re.search(rf"`SMILE_{name.upper()}`", text)
    ]
    assert not missing, f"add a row for each to the settings table of docs/operations.md: {missing}"


def test_documented_defaults_match_the_code():
    """A setting with its own row shows its default (strings and numbers; unset, empty and booleans are prose)."""
    rows = _settings_table()
    wrong = []
    for name, field in Settings.model_fields.items():
        default, cell = field.default, rows.get(f"SMILE_{name.upper()}")
        if cell is None or isinstance(default, bool) or not isinstance(default, str | int | float) or default == "":
            continue
        shown = re.sub(r"(?<=\d)[,_](?=\d)", "", cell)  # 10,000 and 10_000 read as 10000
        if not re.search(rf"(?<![\w.]){re.escape(str(default))}(?![\w.])", shown):
            wrong.append(f"SMILE_{name.upper()}: the code says {default!r}, the docs {cell.strip()!r}")
    assert not wrong, "docs/operations.md shows the wrong default:\n" + "\n".join(wrong)


def test_sandbox_signing_recipe_in_payments_md_is_accepted():
    text = (DOCS / "billing" / "payments.md").read_text()
    section = text.split("### Sending a sandbox event by hand", 1)[1]
    recipe = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(recipe, "docs/billing/payments.md", "exec"), namespace)
    secret_key = "s" * 48
    body = json.dumps({"id": "evt_doc_1", "type": "checkout.session.completed", "data": {"object": {}}}).encode()
    header = namespace["sign_sandbox_event"](secret_key, body)
    assert sandbox.verify(body, header, sandbox.webhook_secret(secret_key))["id"] == "evt_doc_1"
