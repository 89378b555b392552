"""The schema designer for MongoDB (mixed into :class:`orchestrator.api.service.Orchestrator`):
a collection's ``$jsonSchema`` validator inferred from sampled documents, checked against
every existing document, set with ``collMod``; indexes designed and created.

Everything runs as mongosh statements through :meth:`run_query`, so as the sandbox's own
user in a fenced job with the usual time limits. ``design_validator`` answers::

    {"collection", "validator", "fields": [{"field", "bsonType", "required"}],
     "sampled", "failing", "total", "examples": [_id, ...], "level", "action", "applied"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bson import json_util

from engines.errors import Conflict, InvalidRequest
from engines.result import StatementResult
from orchestrator.api.base import ServiceBase
from orchestrator.design.mongo_index import IndexDesign, collection_ref
from orchestrator.design.mongo_validator import infer_validator, to_fields

LEVELS = ("strict", "moderate")
ACTIONS = ("error", "warn")
SAMPLE = 1000
EXAMPLES = 5


class CollectionDesigner(ServiceBase):
    def _mongo(self, user: str, sandbox_id: str) -> None:
        engine = self.get_sandbox(user, sandbox_id).engine
        if engine != "mongodb":
            raise InvalidRequest(f"validators and index designs are for MongoDB sandboxes; "
                                 f"{sandbox_id} is {engine}")

    def _ran(self, user: str, sandbox_id: str, text: str,
             max_rows: int | None = None) -> list[StatementResult]:
        results = self.run_query(user, sandbox_id, text, max_rows=max_rows)
        failed = next((r for r in results if r.error), None)
        if failed is not None:
            raise Conflict(f"{failed.statement.strip()[:80]} failed: "
                           f"{(failed.error or {}).get('message')}")
        return results

    def sample_documents(self, user: str, sandbox_id: str, collection: str,
                         size: int = SAMPLE) -> list[dict[str, Any]]:
        """Up to ``size`` documents picked by ``$sample`` (all when there are fewer), with
        their BSON types (a null field stays apart from a missing one)."""
        self._mongo(user, sandbox_id)
        size = max(1, min(int(size), 10_000))
        text = (f"{collection_ref(collection)}.aggregate([{{$sample: {{size: {size}}}}}, "
                f'{{$project: {{_id: 0, d: {{$objectToArray: "$$ROOT"}}}}}}])')
        (result,) = self._ran(user, sandbox_id, text, max_rows=size)
        documents = []
        for (cell,) in (row[:1] for row in result.rows):
            if isinstance(cell, list):  # a cut (very large) document is a string: skipped
                pairs = json_util.loads(json.dumps(cell),
                                        json_options=json_util.RELAXED_JSON_OPTIONS)
                documents.append({p["k"]: p.get("v") for p in pairs})
        return documents

    def design_validator(self, user: str, sandbox_id: str, collection: str,
                         validator: Mapping[str, Any] | None = None, *, apply: bool = False,
                         level: str = "strict", action: str = "error",
                         sample: int = SAMPLE) -> dict[str, Any]:
        """A validator (inferred from sampled documents when not given) with how many
        existing documents would fail it; ``apply`` sets it with ``collMod``."""
        self._mongo(user, sandbox_id)
        if level not in LEVELS or action not in ACTIONS:
            raise InvalidRequest(f"validationLevel is one of {', '.join(LEVELS)} and "
                                 f"validationAction one of {', '.join(ACTIONS)}")
        sampled = None
        if validator is None:
            documents = self.sample_documents(user, sandbox_id, collection, sample)
            if not documents:
                raise InvalidRequest(f"{collection} has no documents to infer a validator from")
            validator, sampled = infer_validator(documents), len(documents)
        schema = dict(validator.get("$jsonSchema", validator))
        checked = self.check_validator(user, sandbox_id, collection, schema)
        answer: dict[str, Any] = {
            "collection": collection, "validator": schema,
            "fields": [f.to_dict() for f in to_fields(schema)], "sampled": sampled,
            **checked, "level": level, "action": action, "applied": False}
        if apply:
            command = {"collMod": collection, "validator": {"$jsonSchema": schema},
                       "validationLevel": level, "validationAction": action}
            self._ran(user, sandbox_id, f"db.runCommand({json.dumps(command)})")
            answer["applied"] = True
        return answer

    def check_validator(self, user: str, sandbox_id: str, collection: str,
                        schema: Mapping[str, Any]) -> dict[str, Any]:
        """``{"failing", "total", "examples"}``: existing documents ``schema`` rejects."""
        ref = collection_ref(collection)
        failing = json.dumps({"$nor": [{"$jsonSchema": dict(schema)}]})
        total, count, examples = self._ran(user, sandbox_id, (
            f"{ref}.countDocuments({{}})\n{ref}.countDocuments({failing})\n"
            f"{ref}.find({failing}, {{_id: 1}}).limit({EXAMPLES})"))
        return {"failing": int(count.rows[0][0]), "total": int(total.rows[0][0]),
                "examples": [row[0] for row in examples.rows]}

    def design_index(self, user: str, sandbox_id: str, collection: str,
                     design: Mapping[str, Any], *, apply: bool = False) -> dict[str, Any]:
        """``{"collection", "command", "applied", "name"}``: the ``createIndex`` command of
        an index design (compound, unique, partial, TTL), run with ``apply``."""
        self._mongo(user, sandbox_id)
        command = IndexDesign.from_dict(design).command(collection)
        answer: dict[str, Any] = {"collection": collection, "command": command,
                                  "applied": False, "name": None}
        if apply:
            (result,) = self._ran(user, sandbox_id, command)
            answer.update(applied=True, name=result.rows[0][0] if result.rows else None)
        return answer
