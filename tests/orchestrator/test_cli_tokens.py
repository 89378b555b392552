"""`dbplay token create|list|revoke`: API tokens administered on the installation, and
what a token made this way can do over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.orchestrator.conftest import REPO, Stack


def admin(stack: Stack, *args: str, as_json: bool = True) -> tuple[int, Any, str]:
    """A local admin command on the stack's installation (no DBPLAY_URL/TOKEN)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DBPLAY_HOME": str(stack.home),
           "DBPLAY_REDIS_URL": stack.env["DBPLAY_REDIS_URL"]}
    argv = ["--json", *args] if as_json else list(args)
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", *argv], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    data = json.loads(proc.stdout) if as_json and proc.stdout.strip() else proc.stdout
    return proc.returncode, data, proc.stderr


def as_token(stack: Stack, token: str, *args: str) -> tuple[int, Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DBPLAY_URL": stack.api_url,
           "DBPLAY_TOKEN": token}
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--json", *args],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    return proc.returncode, json.loads(proc.stdout)


def test_created_token_is_shown_once_and_acts_as_its_user(running_stack):
    rc, made, err = admin(running_stack, "token", "create", "--user", "frank", "--name", "ci")
    assert rc == 0, (made, err)
    assert set(made) == {"token", "id", "user", "name", "created_at", "last_used_at",
                         "revoked_at"}
    assert made["token"].startswith("dbp_") and made["user"] == "frank"
    assert made["name"] == "ci" and made["revoked_at"] is None

    rc, sb = as_token(running_stack, made["token"], "sandbox", "create", "empty-sqlite")
    assert rc == 0 and sb["owner"] == "frank", sb

    rc, listed, _ = admin(running_stack, "token", "list", "--user", "frank")
    assert rc == 0 and [t["id"] for t in listed] == [made["id"]]
    assert "token" not in listed[0] and made["token"] not in json.dumps(listed)
    assert listed[0]["last_used_at"] is not None
    as_token(running_stack, made["token"], "sandbox", "rm", sb["id"])


def test_token_list_without_a_user_shows_every_users_tokens(running_stack):
    ids = {admin(running_stack, "token", "create", "--user", name)[1]["id"]
           for name in ("gina", "hugo")}
    rc, listed, _ = admin(running_stack, "token", "list")
    assert rc == 0
    assert ids <= {t["id"] for t in listed}
    assert {"gina", "hugo"} <= {t["user"] for t in listed}


def test_revoked_token_is_listed_as_revoked(running_stack):
    made = admin(running_stack, "token", "create", "--user", "ivan")[1]
    rc, revoked, _ = admin(running_stack, "token", "revoke", str(made["id"]))
    assert (rc, revoked) == (0, {"revoked": made["id"]})
    (listed,) = admin(running_stack, "token", "list", "--user", "ivan")[1]
    assert listed["revoked_at"] is not None
    rc, err, _ = admin(running_stack, "token", "revoke", "999999")
    assert rc == 1 and err["error"]["type"] == "NotFound"


def test_token_create_needs_a_user(running_stack):
    rc, err, _ = admin(running_stack, "token", "create")
    assert rc == 1 and err["error"]["type"] == "InvalidRequest"
    assert "--user" in err["error"]["message"]


def test_human_token_create_prints_the_secret_and_that_it_is_shown_once(running_stack):
    rc, text, err = admin(running_stack, "token", "create", "--user", "judy", as_json=False)
    assert rc == 0, err
    secret = text.splitlines()[1]
    assert secret.startswith("dbp_") and "shown only now" in text
    assert as_token(running_stack, secret, "sandbox", "list") == (0, [])
