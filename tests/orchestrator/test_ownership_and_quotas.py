"""Ownership and quotas are enforced by the API on every call."""

from __future__ import annotations

import pytest

from engines.errors import NotFound, QuotaExceeded


def test_second_user_cannot_see_query_snapshot_or_delete_first_users_sandbox(running_stack):
    stack = running_stack
    rc, sb = stack.cli("sandbox", "create", "empty-sqlite", user="alice")
    assert rc == 0, sb
    sid = sb["id"]
    rc, bob_list = stack.cli("sandbox", "list", user="bob")
    assert rc == 0 and sid not in {s["id"] for s in bob_list}
    for args in (["query", sid, "SELECT 1"], ["snapshot", sid, "--name", "stolen"],
                 ["sandbox", "rm", sid], ["schema", sid], ["sandbox", "connect", sid],
                 ["schedule", sid, "--cron", "* * * * *", "--name", "x"]):
        rc, out = stack.cli(*args, user="bob")
        assert rc != 0, args
        assert out["error"] == {"type": "NotFound", "message": f"no sandbox {sid!r}"}, args
    api = stack.api()
    job = api.submit_query("alice", sid, "SELECT 1")
    with pytest.raises(NotFound):
        api.get_job("bob", job.id)
    with pytest.raises(NotFound):
        api.cancel_job("bob", job.id)
    assert api.wait_job("alice", job.id, 30).state == "done"
    rc, out = stack.cli("query", sid, "SELECT 1 AS one", user="alice")
    assert rc == 0 and out["statements"][0]["rows"] == [[1]]
    assert "stolen" not in {t.name for t in api.list_templates("alice")}
    api.delete_sandbox("alice", sid)


def test_sandbox_quota_and_ttl_limits(running_stack):
    api = running_stack.api()
    limit = running_stack.settings.max_sandboxes_per_user
    with pytest.raises(QuotaExceeded):
        api.create_sandbox("carol", "empty-sqlite", ttl_s=running_stack.settings.max_ttl + 1)
    made = [api.create_sandbox("carol", "empty-sqlite", wait=False) for _ in range(limit)]
    with pytest.raises(QuotaExceeded):
        api.create_sandbox("carol", "empty-sqlite")
    for sb in made:
        running_stack.wait_for(lambda sb=sb: api.get_sandbox("carol", sb.id).state == "ready")
        api.delete_sandbox("carol", sb.id)
    assert api.list_sandboxes("carol") == []
