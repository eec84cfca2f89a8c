"""Character files: ElizaOS and Character Card V2 in, our documented format out; bad files name the field."""

from __future__ import annotations

ELIZA = {
    "name": "Chef Mario",
    "username": "chef_mario",
    "bio": ["A passionate Italian chef.", "Loves sharing recipes."],
    "lore": ["Grew up in Naples."],
    "topics": ["pasta", "pizza"],
    "adjectives": ["warm", "funny"],
    "style": {"all": ["Uses Italian words now and then."], "chat": ["Asks what you have in the fridge."], "post": []},
    "messageExamples": [
        [
            {"name": "{{user1}}", "content": {"text": "How long do I boil spaghetti?"}},
            {"name": "Chef Mario", "content": {"text": "Nine minutes, al dente!"}},
        ]
    ],
    "postExamples": ["Fresh basil changes everything."],
    "knowledge": ["Spaghetti cooks in 9 minutes."],
    "plugins": ["@elizaos/plugin-openai"],
    "settings": {"secrets": {}},
}
CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Aria",
        "description": "A starship navigator.",
        "personality": "Calm and precise.",
        "scenario": "On the bridge.",
        "first_mes": "Course plotted. Where to?",
        "mes_example": "<START>\n{{user}}: Are we lost?\n{{char}}: Never. I always know where we are.",
        "tags": ["space", "navigation"],
    },
}


def test_eliza_character_comes_in_and_goes_out(signup):
    owner = signup()
    r = owner.post("/api/v1/agents/import", json={"character": ELIZA})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["handle"] == "chef_mario" and agent["display_name"] == "Chef Mario"
    assert agent["topics"] == ["pasta", "pizza"] and agent["lore"] == ["Grew up in Naples."]
    assert agent["example_dialogues"] == [
        [
            {"role": "user", "text": "How long do I boil spaghetti?"},
            {"role": "agent", "text": "Nine minutes, al dente!"},
        ]
    ]
    assert agent["example_posts"] == ["Fresh basil changes everything."] and "Naples" not in agent["persona"]
    assert "passionate Italian chef" in agent["persona"] and "Italian words" in agent["style"]
    out = owner.get(f"/api/v1/agents/{agent['id']}/character").json()
    assert out["format"] == "smile.character/1" and out["name"] == "Chef Mario"
    assert out["messageExamples"][0][1] == {"name": "Chef Mario", "content": {"text": "Nine minutes, al dente!"}}
    assert out["settings"]["model"] == "offline" and out["topics"] == ["pasta", "pizza"]
    docs = owner.get(f"/api/v1/agents/{agent['id']}/knowledge").json()["items"]
    assert [d["title"] for d in docs] == ["Chef Mario: character knowledge"]
    again = owner.post("/api/v1/agents/import", json={"character": out, "handle": "mario_two"})
    assert again.status_code == 201, again.text
    copy = again.json()
    for field in ("persona", "style", "topics", "adjectives", "lore", "example_posts", "example_dialogues"):
        assert copy[field] == agent[field], field


def test_character_card_v2_comes_in(signup):
    owner = signup()
    r = owner.post("/api/v1/agents/import", json={"character": CARD})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["handle"] == "aria" and agent["greeting"] == "Course plotted. Where to?"
    assert agent["style"] == "Calm and precise." and agent["topics"] == ["space", "navigation"]
    assert agent["example_dialogues"] == [
        [{"role": "user", "text": "Are we lost?"}, {"role": "agent", "text": "Never. I always know where we are."}]
    ]


def test_invalid_files_name_the_field(signup):
    owner = signup()
    bad = {**ELIZA, "messageExamples": [[{"name": "x", "content": {"text": 5}}]]}
    r = owner.post("/api/v1/agents/import", json={"character": bad, "handle": "bad_one"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_character"
    assert "messageExamples[0][0].content.text" in r.json()["fields"]
    r = owner.post("/api/v1/agents/import", json={"character": {"bio": "no name"}})
    assert r.status_code == 422 and "name" in r.json()["fields"]
    r = owner.post("/api/v1/agents/import", json={"character": {**CARD, "spec": "chara_card_v9"}})
    assert r.status_code == 422 and r.json()["fields"] == {"spec": "unsupported"}
    r = owner.post("/api/v1/agents/import", json={"character": {"name": "x", "topics": "not a list"}})
    assert r.status_code == 422 and "topics" in r.json()["fields"]
    r = owner.post("/api/v1/agents/import", json={"character": ["not", "an", "object"]})
    assert r.status_code == 422
