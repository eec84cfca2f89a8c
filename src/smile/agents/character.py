"""Character files: import an ElizaOS character or a Character Card V2, export our own (docs/agents.md).

Our format is an ElizaOS-compatible superset ("format": "smile.character/1"): name, username, bio, lore,
style {all, chat, post}, topics, adjectives, messageExamples, postExamples, knowledge, plus greeting, avoid
and settings {model, temperature, language, visibility}. A file that does not fit gets 422 naming the field,
e.g. {"fields": {"messageExamples[0][1].content.text": "must be a string"}}.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from smile.agents.models import Agent
from smile.agents.schemas import AgentCreate
from smile.identity.models import User
from smile.kit.errors import Invalid

FORMAT = "smile.character/1"
MAX_ITEMS = 50
Text = str


class _Content(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str


class _Example(BaseModel):
    model_config = ConfigDict(extra="allow")
    user: str | None = None
    name: str | None = None
    content: _Content


class _Style(BaseModel):
    model_config = ConfigDict(extra="allow")
    all: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    chat: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    post: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)


class _Eliza(BaseModel):
    """The common fields of an ElizaOS character (and of our export); others are ignored."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=80)
    username: str | None = None
    system: str | None = Field(default=None, max_length=4000)
    bio: str | list[str] = Field(default_factory=list)
    lore: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    style: _Style = Field(default_factory=_Style)
    topics: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    adjectives: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    messageExamples: list[list[_Example]] = Field(default_factory=list, max_length=MAX_ITEMS)  # noqa: N815
    postExamples: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)  # noqa: N815
    knowledge: list[str | dict[str, Any]] = Field(default_factory=list, max_length=500)
    greeting: str | None = None
    avoid: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class _CardData(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    system_prompt: str = ""
    tags: list[str] = Field(default_factory=list)
    creator_notes: str = ""


class _Card(BaseModel):
    model_config = ConfigDict(extra="allow")
    spec: str
    spec_version: str
    data: _CardData


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("str", "list[str]", "function-after", "dict[str,any]"):
            out += f".{part}" if out else str(part)
    return out or "character"


def _parse(model: type[BaseModel], raw: dict, prefix: str = "") -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            name = (prefix + "." if prefix else "") + _path(tuple(err["loc"]))
            fields.setdefault(name, err["msg"].lower())
        first = next(iter(fields.items()))
        raise Invalid(
            f"The character file is not valid: {first[0]}: {first[1]}.", fields=fields, code="invalid_character"
        ) from None


def _handle(name: str) -> str:
    handle = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:30]
    return handle if len(handle) >= 3 else (handle + "_ai")[:30]


def _lines(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _dialogue(group: list[_Example], agent_name: str) -> list[dict]:
    turns = []
    for ex in group:
        who = (ex.name or ex.user or "").strip()
        agent = who.lower() in (agent_name.lower(), "{{char}}", "{{agent}}")
        turns.append({"role": "agent" if agent else "user", "text": ex.content.text[:1000]})
    return turns[:20]


def _card_dialogues(example: str) -> list[list[dict]]:
    """mes_example: blocks after <START>, lines '{{user}}: ...' and '{{char}}: ...'."""
    out = []
    for block in re.split(r"<START>", example, flags=re.IGNORECASE):
        turns = []
        for line in block.splitlines():
            m = re.match(r"\s*\{\{(user|char)\}\}\s*:\s*(.+)", line, re.IGNORECASE)
            if m:
                turns.append({"role": "agent" if m.group(1).lower() == "char" else "user", "text": m.group(2)[:1000]})
        if turns:
            out.append(turns[:20])
    return out[:10]


def knowledge_texts(raw: dict) -> list[str]:
    """The knowledge strings of a character file (ElizaOS also allows {path}/{directory} items: skipped)."""
    return [k for k in raw.get("knowledge") or [] if isinstance(k, str) and k.strip()]


def to_create(raw: Any, handle: str | None = None) -> AgentCreate:
    """An AgentCreate from an ElizaOS character, a Character Card V2 or our own export (422 names the field)."""
    if not isinstance(raw, dict):
        raise Invalid(
            "A character file is a JSON object.", fields={"character": "must be an object"}, code="invalid_character"
        )
    if "spec" in raw:
        card = _parse(_Card, raw)
        if card.spec != "chara_card_v2":
            raise Invalid(
                f"Unsupported card spec {card.spec!r}; use chara_card_v2.",
                fields={"spec": "unsupported"},
                code="invalid_character",
            )
        d = card.data
        fields = {
            "display_name": d.name,
            "bio": d.description[:500],
            "persona": "\n".join(p for p in (d.description, d.scenario, d.system_prompt) if p)[:4000],
            "style": d.personality[:2000],
            "topics": [t[:80] for t in d.tags][:20],
            "greeting": d.first_mes[:500],
            "example_dialogues": _card_dialogues(d.mes_example),
        }
        name = d.name
    else:
        c = _parse(_Eliza, raw)
        bio = _lines(c.bio)
        settings = c.settings or {}
        fields = {
            "display_name": c.name,
            "bio": " ".join(bio)[:500],
            "persona": (c.system or "\n".join(bio)).strip()[:4000],
            "style": "\n".join(c.style.all + c.style.chat)[:2000],
            "lore": [x[:1000] for x in c.lore][:30],
            "topics": [t[:80] for t in c.topics][:20],
            "adjectives": [a[:80] for a in c.adjectives][:20],
            "example_posts": [p[:1000] for p in c.postExamples][:20],
            "example_dialogues": [_dialogue(g, c.name) for g in c.messageExamples if g][:10],
            "greeting": (c.greeting or "")[:500],
            "avoid": (c.avoid or "")[:2000],
        }
        for key in ("model", "temperature", "language", "visibility"):
            if settings.get(key) is not None:
                fields[key] = settings[key]
        name = c.username or c.name
    fields = {k: v for k, v in fields.items() if v not in ("", [], None)}
    return _parse(AgentCreate, {"handle": handle or _handle(name), "template": "scratch", **fields})


def export(agent: Agent, user: User, knowledge: list[str] | None = None) -> dict:
    """Our documented character file: ElizaOS's common fields plus greeting, avoid and settings."""
    examples = [
        [
            {"name": user.display_name if t["role"] == "agent" else "{{user1}}", "content": {"text": t["text"]}}
            for t in dialogue
        ]
        for dialogue in agent.example_dialogues
    ]
    return {
        "format": FORMAT,
        "name": user.display_name,
        "username": user.username,
        "system": agent.persona,
        "bio": [user.bio] if user.bio else [],
        "lore": list(agent.lore),
        "style": {"all": [agent.style] if agent.style else [], "chat": [], "post": []},
        "topics": list(agent.topics),
        "adjectives": list(agent.adjectives),
        "messageExamples": examples,
        "postExamples": list(agent.example_posts),
        "knowledge": knowledge or [],
        "greeting": agent.greeting,
        "avoid": agent.avoid,
        "settings": {
            "model": agent.model,
            "temperature": agent.temperature,
            "language": user.language,
            "visibility": agent.visibility,
        },
        "version": agent.version,
    }
