"""The MongoDB designer through the CLI and HTTP API against a real sandbox (issue 12):
``dbplay design ID --validator COLLECTION`` infers from 1,000 sampled documents, counts
the documents that would fail, and ``--apply`` sets it with collMod; ``--index`` previews
and creates a compound, partial index."""

from __future__ import annotations

from typing import Any

from tests.servers import unavailable


def test_a_validator_is_inferred_checked_and_set_and_an_index_designed_by_cli(
        running_stack: Any) -> None:
    if "mongodb" not in running_stack.api().provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start mongodb sandboxes here")
    sandbox = running_stack.create("restaurants")
    rc, answer = running_stack.cli("design", sandbox, "--validator", "restaurants")
    assert rc == 0, answer
    assert answer["sampled"] == 1000 and answer["total"] == 2548
    assert answer["failing"] <= 0.01 * answer["total"]
    assert len(answer["examples"]) == min(answer["failing"], 5)
    assert answer["applied"] is False
    assert {"field": "name", "bsonType": "string", "required": True} in answer["fields"]

    rc, _ = running_stack.cli("design", sandbox, "--validator", "restaurants",
                                    "--level", "sometimes")
    assert rc != 0

    rc, applied = running_stack.cli("design", sandbox, "--validator", "restaurants",
                                    "--apply", "--level", "moderate", "--action", "warn")
    assert rc == 0 and applied["applied"] is True, applied
    assert (applied["level"], applied["action"]) == ("moderate", "warn")

    rc, preview = running_stack.cli("design", sandbox, "--index", "restaurants",
                                    "--key", "type_of_food:1", "--key", "rating:-1",
                                    "--partial", '{"rating": {"$gte": 4}}')
    assert rc == 0, preview
    assert preview["command"] == (
        'db.getCollection("restaurants").createIndex({"type_of_food": 1, "rating": -1}, '
        '{"partialFilterExpression": {"rating": {"$gte": 4}}})')
    assert preview["applied"] is False
    rc, made = running_stack.cli("design", sandbox, "--index", "restaurants",
                                 "--key", "type_of_food:1", "--key", "rating:-1", "--apply")
    assert rc == 0 and made["applied"] is True, made
    info = running_stack.api().schema("alice", sandbox)
    assert ["type_of_food", "rating"] in [i.columns for t in info.tables for i in t.indexes]
