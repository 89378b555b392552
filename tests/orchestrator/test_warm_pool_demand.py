"""The warm pool follows demand: a template launched recently keeps a ready sandbox that the
next create claims without provisioning; a template idle past the window keeps none."""

from __future__ import annotations

from typing import Any

from orchestrator.store.models import POOL_OWNER
from tests.orchestrator.conftest import Stack


def _refill(stack: Stack) -> dict[str, Any]:
    api = stack.api()
    job = api.jobs.submit(POOL_OWNER, "pool_refill")
    done = api.jobs.wait(job.id, 120)
    assert done.state == "done", done.error
    result: dict[str, Any] = done.result
    return result


def _pool_sandboxes(stack: Stack, state: str = "ready") -> list[str]:
    from sqlalchemy import select

    from orchestrator.store.models import Sandbox

    with stack.api().db.session() as session:
        return list(session.scalars(select(Sandbox.id).where(
            Sandbox.owner == POOL_OWNER, Sandbox.state == state)))


def test_a_recently_launched_template_keeps_a_ready_sandbox_the_next_create_claims(
        stack_factory: Any) -> None:
    stack = stack_factory(DBPLAY_POOL_SIZE="1", DBPLAY_POOL_WINDOW="1h")
    assert _refill(stack)["created"] == []  # nothing launched yet: no pool at all
    first = stack.create("chinook-sqlite")
    stack.wait_for(lambda: _pool_sandboxes(stack), 60, "a ready pool sandbox")
    [pooled] = _pool_sandboxes(stack)
    second = stack.create("chinook-sqlite")
    assert second == pooled  # claimed, not provisioned
    rc, events = stack.cli("sandbox", "events", second)
    assert rc == 0
    assert any("claimed from the warm pool by alice" in e["reason"] for e in events)
    rc, out = stack.cli("query", second, "select count(*) as n from Artist")
    assert rc == 0 and out["statements"][0]["rows"] == [[275]], out
    assert first != second


def test_a_template_idle_past_the_window_keeps_no_pool_sandbox(stack_factory: Any) -> None:
    stack = stack_factory(DBPLAY_POOL_SIZE="1", DBPLAY_POOL_WINDOW="3s")
    stack.create("chinook-sqlite")
    stack.wait_for(lambda: _pool_sandboxes(stack), 60, "a ready pool sandbox")
    [pooled] = _pool_sandboxes(stack)
    stack.wait_for(lambda: _refill(stack)["drained"] == [pooled], 30, "the pool to drain")
    assert _pool_sandboxes(stack) == []
    assert pooled in _pool_sandboxes(stack, "expired")
