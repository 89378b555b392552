"""Share links over the real stack (CLI over HTTP, local provisioner): a share opened by
another user is a sandbox of their own with the script, frozen at share time and never
touching the owner's; a public share reads without a token, a private one does not;
a revoked or unknown share is not found."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.servers import unavailable

pytestmark = [pytest.mark.timeout(600)]


def _sandbox_with_a_row(stack: Stack, template: str) -> str:
    engines = stack.api().provisioner_info()["engines"]
    if template.split("-")[1] not in engines:
        unavailable(f"the local provisioner cannot start {template} here ({engines})")
    sandbox_id = stack.create(template)
    rc, out = stack.cli("query", sandbox_id, "CREATE TABLE kept (a integer); "
                                             "INSERT INTO kept VALUES (42)")
    assert rc == 0, out
    return sandbox_id


def _rows(stack: Stack, sandbox_id: str, sql: str, user: str = "alice") -> Any:
    rc, out = stack.cli("query", sandbox_id, sql, user=user)
    assert rc == 0, out
    return out["statements"][-1]["rows"]


def _get(stack: Stack, route: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"{stack.api_url}/api/v1{route}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("template", ["empty-postgres", "empty-sqlite"])
def test_a_share_opened_by_another_user_is_their_own_sandbox_with_the_script(
        running_stack: Stack, template: str) -> None:
    stack = running_stack
    owners = _sandbox_with_a_row(stack, template)
    script = "INSERT INTO kept VALUES (7);\nSELECT count(*) FROM kept"
    rc, made = stack.cli("share", owners, "--script", script)
    assert rc == 0, made
    assert set(made) == {"id", "url"} and made["url"].endswith(f"/shared?share={made['id']}")
    # the share froze the state: what the owner writes afterwards is not in it
    _rows(stack, owners, "INSERT INTO kept VALUES (43); SELECT 1")

    rc, opened = stack.cli("open", made["id"], user="bob")
    assert rc == 0, opened
    assert set(opened) == {"id", "script"} and opened["script"] == script
    assert opened["id"] != owners
    assert _rows(stack, opened["id"], script, user="bob") == [[2]]  # 42 and bob's 7

    assert _rows(stack, owners, "SELECT a FROM kept ORDER BY a") == [[42], [43]]
    rc, theirs = stack.cli("sandbox", "show", opened["id"])  # alice cannot see bob's
    assert rc != 0 and theirs["error"]["type"] == "NotFound", theirs
    rc, shown = stack.cli("sandbox", "show", opened["id"], user="bob")
    assert rc == 0 and shown["state"] == "ready", shown
    # a reset of the opener's sandbox goes back to the frozen state, not to empty
    rc, reset = stack.cli("sandbox", "reset", opened["id"], user="bob")
    assert rc == 0, reset
    assert _rows(stack, opened["id"], "SELECT a FROM kept", user="bob") == [[42]]
    for sandbox_id, user in ((owners, "alice"), (opened["id"], "bob")):
        assert stack.cli("sandbox", "rm", sandbox_id, user=user)[0] == 0


def test_a_public_share_reads_without_a_token_with_its_results_and_a_private_one_does_not(
        running_stack: Stack) -> None:
    stack = running_stack
    owners = _sandbox_with_a_row(stack, "empty-sqlite")
    rc, public = stack.cli("share", owners, "--script", "SELECT a * 2 AS doubled FROM kept",
                           "--public")
    assert rc == 0, public
    rc, private = stack.cli("share", owners, "--script", "SELECT a FROM kept")
    assert rc == 0, private
    assert public["id"] != private["id"] and len(public["id"]) >= 22  # unguessable

    status, seen = _get(stack, f"/shares/{public['id']}")
    assert status == 200, seen
    assert seen["script"] == "SELECT a * 2 AS doubled FROM kept" and seen["public"] is True
    assert seen["results"][0]["columns"] == ["doubled"]
    assert seen["results"][0]["rows"] == [[84]]
    assert "sandbox_id" not in seen  # strangers learn nothing of the owner's sandbox

    status, refused = _get(stack, f"/shares/{private['id']}")
    assert status == 401 and "sign in" in refused["error"]["message"], refused
    status, signed_in = _get(stack, f"/shares/{private['id']}", stack.token("bob"))
    assert status == 200 and signed_in["script"] == "SELECT a FROM kept", signed_in
    status, unknown = _get(stack, "/shares/no-such-share")
    assert status == 404 and unknown["error"]["type"] == "NotFound", unknown
    # the script ran on a copy: the owner's sandbox is as it was, with no sandbox left over
    assert _rows(stack, owners, "SELECT a FROM kept") == [[42]]
    rc, listed = stack.cli("sandbox", "list")
    assert [s["id"] for s in listed] == [owners], listed
    assert stack.cli("sandbox", "rm", owners)[0] == 0


def test_a_revoked_share_is_not_found_and_only_its_owner_revokes_it(
        running_stack: Stack) -> None:
    stack = running_stack
    owners = _sandbox_with_a_row(stack, "empty-sqlite")
    rc, made = stack.cli("share", owners, "--public")
    assert rc == 0, made
    rc, refused = stack.cli("shares", "rm", made["id"], user="bob")
    assert rc != 0 and refused["error"]["type"] == "NotFound", refused

    rc, mine = stack.cli("shares", "show", made["id"])  # the owner sees its template
    assert rc == 0 and mine["template"].startswith("share-"), mine
    rc, revoked = stack.cli("shares", "rm", made["id"])
    assert rc == 0 and revoked["revoked"] is True, revoked
    rc, opened = stack.cli("open", made["id"], user="bob")
    assert rc != 0 and opened["error"]["type"] == "NotFound", opened
    status, seen = _get(stack, f"/shares/{made['id']}")
    assert status == 404, seen
    # its frozen state went with it (no sandbox of it was live)
    rc, templates = stack.cli("templates", "list")
    assert mine["template"] not in [t["name"] for t in templates], templates
    rc, listed = stack.cli("shares")
    assert [(s["id"], s["revoked"]) for s in listed if s["id"] == made["id"]] \
        == [(made["id"], True)]
    assert stack.cli("sandbox", "rm", owners)[0] == 0
