"""A throwaway clone holds the sandbox's current data, changes on it never reach the
sandbox, and it leaves nothing behind (sandbox and snapshot template)."""

from __future__ import annotations

import pytest

from engines.errors import NotFound
from tests.servers import unavailable


@pytest.mark.parametrize("template", ["empty-postgres", "empty-sqlite"])
def test_a_clone_has_the_data_and_changes_on_it_stay_there(running_stack, template):
    api = running_stack.api()
    if template.split("-")[1] not in api.provisioner_info()["engines"]:
        unavailable(f"the local provisioner cannot start {template} here")
    sid = running_stack.create(template)
    try:
        api.run_query("alice", sid, "CREATE TABLE kept(n int); INSERT INTO kept VALUES (1), (2)")
        before = {t.name for t in api.list_templates("alice")}
        with api.throwaway_clone("alice", sid) as clone:
            assert clone.id != sid and clone.state == "ready"
            assert api.run_query("alice", clone.id, "SELECT count(*) FROM kept")[0].rows == [[2]]
            api.run_query("alice", clone.id, "DROP TABLE kept")
        assert api.run_query("alice", sid, "SELECT count(*) FROM kept")[0].rows == [[2]]
        with pytest.raises(NotFound):
            api.get_sandbox("alice", clone.id)
        assert {t.name for t in api.list_templates("alice")} == before
    finally:
        api.delete_sandbox("alice", sid)
