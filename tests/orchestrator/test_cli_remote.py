"""`dbplay` as a thin HTTP client: remote mode (DBPLAY_URL + DBPLAY_TOKEN) end to end on a
real stack, who a token may act as, what the user sees when the token is refused or the
API is down, and local mode with the installation token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from orchestrator.api.http import installation_token as server_token
from orchestrator.cli import endpoint
from orchestrator.cli.commands import STATEMENT_FIELDS
from orchestrator.config.settings import SETTINGS, Settings
from tests.orchestrator.conftest import REPO, Stack
from tests.servers import free_port


def dbplay(env: dict[str, str], *args: str, stdin: str | None = None
           ) -> tuple[int, Any, str]:
    """``dbplay --json ARGS`` with exactly ``env`` (plus PATH); (status, JSON, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--json", *args],
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
                          cwd=REPO, capture_output=True, text=True, input=stdin, timeout=180)
    data = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, data, proc.stderr


def remote(stack: Stack, user: str) -> dict[str, str]:
    """Only what a laptop has: the URL and a token (no DBPLAY_HOME, no Redis address)."""
    return {"DBPLAY_URL": stack.api_url, "DBPLAY_TOKEN": stack.token(user),
            "DBPLAY_HOME": "/nonexistent-dbplay-home"}


def local(stack: Stack, **extra: str) -> dict[str, str]:
    return {"DBPLAY_HOME": str(stack.home), "DBPLAY_API_PORT": str(stack.api_port), **extra}


def test_the_client_reads_the_settings_by_their_declared_names_and_defaults(tmp_path):
    declared = {s.name: s.default for s in SETTINGS}
    for name, default in endpoint.DEFAULTS.items():
        assert declared.get(name) == default, name
    assert endpoint.INSTALLATION_TOKEN_FILE == server_token.TOKEN_FILE
    assert endpoint.USER_HEADER == server_token.USER_HEADER
    settings = Settings.load({"DBPLAY_HOME": str(tmp_path / "h")})
    assert endpoint.login_name(os.environ) == settings.user
    assert endpoint.home({"DBPLAY_HOME": str(tmp_path / "h")}) == settings.home
    assert endpoint.local_url({"DBPLAY_LISTEN_ADDRESS": "0.0.0.0"}) == "http://127.0.0.1:8502"
    assert endpoint.local_url({"DBPLAY_LISTEN_ADDRESS": "::", "DBPLAY_API_PORT": "9"}) == \
        "http://[::1]:9"


def test_remote_mode_runs_a_sandbox_end_to_end_over_http(running_stack, tmp_path):
    stack = running_stack
    env = remote(stack, "bob")
    rc, sb, err = dbplay(env, "sandbox", "create", "empty-sqlite", "--ttl", "20m")
    assert rc == 0, (sb, err)
    assert sb["owner"] == "bob" and sb["state"] == "ready"  # the token decided the user
    sid = sb["id"]

    follower = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--json", "sandbox", "events", sid,
         "--follow"], env={"PATH": os.environ["PATH"], **env}, cwd=REPO,
        stdout=subprocess.PIPE, text=True)
    try:
        csv = tmp_path / "people.csv"
        csv.write_text("name,age\nada,36\ngrace,45\n")
        rc, report, err = dbplay(env, "import", sid, "people", str(csv))
        assert rc == 0, (report, err)
        csv.unlink()  # the server has its own copy of the bytes, never the path

        rc, out, _ = dbplay(env, "query", sid, "SELECT name, age FROM people ORDER BY age")
        assert rc == 0, out
        (result,) = out["statements"]
        assert result["rows"] == [["ada", 36], ["grace", 45]]
        assert list(result) == list(STATEMENT_FIELDS)  # the same JSON as the local CLI

        target = tmp_path / "out.csv"
        rc, wrote, _ = dbplay(env, "export", sid, "SELECT name FROM people ORDER BY name",
                              "--format", "csv", "--out", str(target))
        assert rc == 0, wrote
        assert wrote == {"path": str(target.resolve())}
        assert target.read_text().splitlines() == ["name", "ada", "grace"]
        assert oct(target.stat().st_mode & 0o777) == "0o600"

        rc, gone, _ = dbplay(env, "sandbox", "rm", sid)
        assert (rc, gone) == (0, {"deleted": sid})
        lines, _ = follower.communicate(timeout=90)
    finally:
        if follower.poll() is None:
            follower.kill()
    states = [json.loads(line)["to_state"] for line in lines.splitlines()]
    assert follower.returncode == 0
    assert states[:3] == ["requested", "provisioning", "ready"] and states[-1] == "deleted"


def test_remote_json_matches_local_json(running_stack):
    stack = running_stack
    sid = stack.create("empty-sqlite", user="alice")
    rc_remote, shown_remote, _ = dbplay(remote(stack, "alice"), "sandbox", "show", sid)
    rc_local, shown_local, _ = dbplay(local(stack), "--user", "alice", "sandbox", "show", sid)
    assert rc_remote == rc_local == 0
    assert shown_remote == shown_local
    rc, out, _ = dbplay(remote(stack, "alice"), "query", sid, "SELEC 1")
    assert rc == 1 and out["statements"][0]["error"]["type"] == "QuerySyntaxError"
    assert dbplay(remote(stack, "alice"), "sandbox", "rm", sid)[0] == 0


def test_a_token_cannot_act_as_another_user(running_stack):
    stack = running_stack
    alices = stack.create("empty-sqlite", user="alice")
    rc, err, _ = dbplay(remote(stack, "bob"), "--user", "alice", "sandbox", "list")
    assert rc == 1 and err["error"]["type"] == "NotAllowed", err
    rc, err, _ = dbplay(remote(stack, "bob"), "sandbox", "show", alices)
    assert rc == 1 and err["error"]["type"] == "NotFound"  # like one that does not exist
    rc, mine, _ = dbplay(remote(stack, "bob"), "--user", "bob", "sandbox", "list")
    assert rc == 0 and alices not in {s["id"] for s in mine}
    dbplay(remote(stack, "alice"), "sandbox", "rm", alices)


def test_a_revoked_token_gets_a_clear_unauthorized_error(running_stack):
    stack = running_stack
    rc, made, _ = dbplay(local(stack), "token", "create", "--user", "carol")
    assert rc == 0, made
    env = {"DBPLAY_URL": stack.api_url, "DBPLAY_TOKEN": made["token"]}
    assert dbplay(env, "sandbox", "list")[:2] == (0, [])
    assert dbplay(local(stack), "token", "revoke", str(made["id"]))[0] == 0
    # the API remembers a good token for a second (orchestrator/api/http/token_cache.py)
    rc, err, _ = stack.wait_for(lambda: (r := dbplay(env, "sandbox", "list"))[0] and r,
                                timeout=10, what="the revoked token to be refused")
    assert rc == 1 and err["error"]["type"] == "Unauthorized", err
    assert "DBPLAY_TOKEN" in err["error"]["message"]
    rc, err, _ = dbplay({**env, "DBPLAY_TOKEN": "dbp_not-a-token"}, "sandbox", "list")
    assert rc == 1 and err["error"]["type"] == "Unauthorized"


def test_local_mode_acts_as_the_named_user_with_the_installation_token(running_stack):
    stack = running_stack
    rc, sb, err = dbplay(local(stack), "--user", "dave", "sandbox", "create", "empty-sqlite")
    assert rc == 0, (sb, err)
    assert sb["owner"] == "dave"
    rc, listed, _ = dbplay(local(stack, DBPLAY_USER="dave"), "sandbox", "list")
    assert rc == 0 and [s["id"] for s in listed] == [sb["id"]]
    rc, listed, _ = dbplay(local(stack, DBPLAY_USER="erin"), "sandbox", "list")
    assert rc == 0 and listed == []
    assert dbplay(local(stack), "--user", "dave", "sandbox", "rm", sb["id"])[0] == 0


def test_api_not_answering_is_service_unavailable(tmp_path):
    port = str(free_port())
    rc, err, _ = dbplay({"DBPLAY_URL": f"http://127.0.0.1:{port}", "DBPLAY_TOKEN": "dbp_x"},
                        "sandbox", "list")
    assert rc == 1 and err["error"]["type"] == "ServiceUnavailable"
    assert "DBPLAY_URL" in err["error"]["message"]

    home = tmp_path / "home"
    rc, err, _ = dbplay({"DBPLAY_HOME": str(home), "DBPLAY_API_PORT": port}, "query", "x", "1")
    assert rc == 1 and err["error"]["type"] == "ServiceUnavailable"
    assert "dbplay up" in err["error"]["message"]
    home.mkdir()
    (home / endpoint.INSTALLATION_TOKEN_FILE).write_text("dbpi_stale\n")  # the API stopped
    rc, err, _ = dbplay({"DBPLAY_HOME": str(home), "DBPLAY_API_PORT": port}, "sandbox", "list")
    assert rc == 1 and err == {"error": {"type": "ServiceUnavailable", "message": (
        f"the DB Playground API at http://127.0.0.1:{port} does not answer (Connection "
        "refused); start the stack with `dbplay up`")}}


def test_half_a_remote_configuration_is_refused_not_ignored():
    rc, err, _ = dbplay({"DBPLAY_URL": "http://127.0.0.1:9"}, "sandbox", "list")
    assert rc == 1 and err["error"]["type"] == "InvalidRequest"
    assert "DBPLAY_TOKEN" in err["error"]["message"]


def test_the_everyday_commands_import_no_server_side_package(tmp_path):
    probe = ("import sys; from orchestrator.cli import main; "
             "heavy = ('sqlalchemy', 'redis', 'docker', 'dramatiq', 'fastapi', 'pydantic', "
             "'uvicorn', 'orchestrator.store', 'orchestrator.api', 'orchestrator.jobs'); "
             "print([m for m in sys.modules if m.split('.')[0] in heavy or "
             "m.startswith(heavy)])")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
