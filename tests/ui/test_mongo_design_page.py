"""Design page on a MongoDB sandbox (issue 12): the validator inferred from sampled
documents is shown field by field with how many existing documents would fail it; an
edited field changes that count; "Set the validator" applies it; an index design
previews its createIndex command and creates it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.ui.conftest import all_text, no_crash


def test_the_mongo_design_view_infers_edits_and_sets_a_validator_and_creates_an_index(
        app: Any, user: str, api: Any) -> None:
    sandbox = api.create_sandbox(user, "restaurants")
    at = app(user, "design", current_sandbox=sandbox.id)
    no_crash(at)
    text = all_text(at)
    assert "Inferred from 1,000 sampled document(s)" in text
    assert " of 2,548 existing documents would fail this validator" in text
    fields = at.session_state[f"mdesign_fields_{sandbox.id}_restaurants"]
    assert {"_id", "name", "rating"} <= set(fields["field"])

    # make "name" a number: every document now fails
    edited = fields.copy()
    edited.loc[edited["field"] == "name", "bsonType"] = "int"
    at.session_state[f"mdesign_fields_{sandbox.id}_restaurants"] = edited
    at.run()
    no_crash(at)
    assert [w for w in (str(x.value) for x in at.warning)
            if w.startswith("2,548 of 2,548 existing documents would fail")]

    at.session_state[f"mdesign_fields_{sandbox.id}_restaurants"] = fields
    at.run()
    at.button(key=f"mdesign_apply_{sandbox.id}").click().run()
    no_crash(at)
    assert any("Set on restaurants" in str(s.value) for s in at.success)

    at.session_state[f"mdesign_keyrows_{sandbox.id}"] = pd.DataFrame(
        [{"field": "type_of_food", "direction": "1"}, {"field": "rating", "direction": "-1"}])
    at.run()
    assert ('db.getCollection("restaurants").createIndex({"type_of_food": 1, "rating": -1})'
            in [c.value for c in at.code])
    at.button(key=f"mdesign_create_{sandbox.id}").click().run()
    no_crash(at)
    indexes = {i.name: i.columns for t in api.schema(user, sandbox.id).tables
               for i in t.indexes}
    assert ["type_of_food", "rating"] in indexes.values()
