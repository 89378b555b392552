"""What `dbplay up` listens on: the UI and Redis on the loopback address only (the
``DBPLAY_LISTEN_ADDRESS`` default), so nobody else on the network reaches a fresh install;
and the setup code it prints creates the first (admin) account, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engines.errors import NotAllowed
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings
from tests.security.installation import (
    Installation,
    connect_refused,
    listening,
    non_loopback_addresses,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    inst = Installation(tmp_path_factory.mktemp("dbplay-up") / "home")
    try:
        yield inst.up()
    finally:
        inst.down()


def test_the_ui_started_by_dbplay_up_listens_on_loopback_only(installation: Installation):
    assert listening(installation.ui_port) == ["127.0.0.1"]
    for address in non_loopback_addresses():  # e.g. eth0, docker0: what others can reach
        assert connect_refused(address, installation.ui_port), address


def test_redis_started_by_dbplay_up_listens_on_loopback_only(installation: Installation):
    assert set(listening(installation.redis_port)) <= {"127.0.0.1"}
    assert listening(installation.redis_port)
    for address in non_loopback_addresses():
        assert connect_refused(address, installation.redis_port), address


def test_redis_refuses_a_client_without_the_installations_password(installation: Installation):
    """Whoever writes to Redis could submit jobs as any user: another OS user of the
    machine reaches loopback, so the installation's Redis requires its password."""
    anonymous = redis.Redis(host="127.0.0.1", port=installation.redis_port,
                            socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.lpush("dbplay.DQ.interactive", "forged")
    with pytest.raises(redis.AuthenticationError):
        anonymous.keys("*")
    settings = Settings.load(installation.env)
    assert redis.Redis.from_url(settings.redis_url).ping()
    secret = installation.home / "redis.secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    password = secret.read_text().strip()
    assert len(password) >= 32
    status = installation.dbplay("--json", "status")
    assert status.returncode == 0 and "answers" in status.stdout, status.stderr
    assert password not in status.stdout + json.dumps(installation.up_output)
    for proc in Path("/proc").iterdir():  # nobody can read it off a command line
        try:
            argv = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert password.encode() not in argv, proc


def test_dbplay_up_prints_a_setup_code_that_creates_the_first_admin_once(
        installation: Installation):
    code = installation.up_output["setup_code"]
    assert installation.up_output["setup_url"] == f"http://127.0.0.1:{installation.ui_port}"
    api = Orchestrator.from_settings(Settings.load(installation.env))
    try:
        assert not api.has_users()
        with pytest.raises(NotAllowed):
            api.create_first_admin("ABCD-EFGH", "mallory", PASSWORD)
        assert api.create_first_admin(code, "root-admin", PASSWORD).admin
        with pytest.raises(NotAllowed):  # the code works once
            api.create_first_admin(code, "mallory", PASSWORD)
        assert api.has_users() and not api.authenticate("mallory", PASSWORD)
    finally:
        api.close()
    again = installation.dbplay("up", "--detach")  # an admin exists: no new code
    assert again.returncode == 0, again.stderr
    assert "setup code" not in again.stdout


def test_the_human_output_of_up_says_where_to_go_with_the_code(tmp_path):
    inst = Installation(tmp_path / "home")
    try:
        proc = inst.dbplay("up", "--detach", "--no-ui")
        assert proc.returncode == 0, proc.stderr
        assert (f"Open http://127.0.0.1:{inst.ui_port} and use setup code "
                in proc.stdout), proc.stdout
        assert "to create the first (admin) account" in proc.stdout
    finally:
        inst.down()
