"""Imported files are read by the client and uploaded, never opened by path in a worker:
`dbplay import` hands the worker an upload id (no path in the job), and crafted jobs that
point at /etc/passwd, at ``..`` paths or at another user's upload are refused; a crafted
template import cannot name a path either (nor delete one when it fails)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orchestrator.jobs.uploads import UploadStore, uploads_root
from orchestrator.store.models import Job
from tests.orchestrator.conftest import REPO, Stack
from tests.servers import unavailable

TEMPLATE = "chinook-sqlite"


@pytest.fixture(scope="module")
def api(running_stack: Stack) -> Any:
    return running_stack.api()


@pytest.fixture(scope="module")
def sandbox_id(running_stack: Stack) -> str:
    rc, sandbox = running_stack.cli("sandbox", "create", TEMPLATE, user="alice")
    assert rc == 0, sandbox
    return str(sandbox["id"])


def job_rows(api: Any, sandbox_id: str, kind: str) -> list[Job]:
    with api.db.session() as session:
        return list(session.scalars(select(Job).where(Job.sandbox_id == sandbox_id,
                                                      Job.kind == kind)))


def crafted(api: Any, owner: str, kind: str, sandbox_id: str | None, **params: Any) -> Any:
    """Submit a job straight to the queue, as someone with the job API (not the CLI)."""
    job = api.jobs.submit(owner, kind, sandbox_id, **params)
    return api.jobs.wait(job.id, 120)


def table_exists(running_stack: Stack, sandbox_id: str, table: str) -> bool:
    rc, _ = running_stack.cli("query", sandbox_id, f"SELECT count(*) FROM {table}",
                              user="alice")
    return rc == 0


def test_dbplay_import_uploads_the_file_and_the_job_names_no_path(
        running_stack: Stack, api: Any, sandbox_id: str, tmp_path):
    data = tmp_path / "private-pets.csv"
    data.write_text("name,legs\ncat,4\nhen,2\n")
    rc, report = running_stack.cli("import", sandbox_id, "pets", str(data), user="alice")
    assert rc == 0 and report["rows"] == 2, report
    [job] = job_rows(api, sandbox_id, "import_data")
    params = json.dumps(job.params)
    assert str(tmp_path) not in params and "path" not in job.params
    assert UploadStore(uploads_root(running_stack.home)).root.is_dir()
    assert not list(uploads_root(running_stack.home).rglob("*.csv"))  # removed after use


def cli_in_own_mounts(running_stack: Stack, mount_over: Path, setup: str,
                      *args: str) -> tuple[int, Any]:
    """``dbplay --json --user alice ARGS`` in a mount namespace of its own where
    ``mount_over`` is a fresh tmpfs (after ``setup`` ran in it): files the CLI sees there
    do not exist for the workers, and files under ``mount_over`` that the workers see do
    not exist for the CLI."""
    if shutil.which("unshare") is None:
        unavailable("unshare (util-linux) is needed to give the CLI its own mounts")
    cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "orchestrator.cli",
                                            "--json", "--user", "alice", *args])
    script = f"mount -t tmpfs none {shlex.quote(str(mount_over))} && {setup} && exec {cli}"
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          env=running_stack.env, cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    if "unshare failed" in proc.stderr or "mount:" in proc.stderr:
        unavailable(f"cannot make a mount namespace here: {proc.stderr.strip()}")
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


def test_a_file_only_the_cli_can_see_is_imported(running_stack: Stack, api: Any,
                                                 sandbox_id: str, tmp_path: Path):
    """The CLI reads the file: a file in the CLI's own mounts, which no worker can open,
    is imported all the same (a worker opening the path would find nothing)."""
    private = tmp_path / "cli-only"
    private.mkdir()
    rc, report = cli_in_own_mounts(
        running_stack, private, f"printf 'name,legs\\ncat,4\\n' > {private}/pets.csv",
        "import", sandbox_id, "cli_only", f"{private}/pets.csv")
    assert rc == 0 and report["rows"] == 1, report
    assert not (private / "pets.csv").exists()  # the workers' view: no such file


def test_a_file_the_worker_could_read_but_the_cli_cannot_is_not_imported(
        running_stack: Stack, api: Any, sandbox_id: str, tmp_path: Path):
    """Naming a file the worker can read but the CLI user cannot gets nothing: the CLI
    fails to read it, and no job is ever sent."""
    hidden = tmp_path / "worker-only"
    hidden.mkdir()
    (hidden / "secret.csv").write_text("secret\nthe worker could read this\n")
    before = len(job_rows(api, sandbox_id, "import_data"))
    rc, out = cli_in_own_mounts(running_stack, hidden, "true", "import", sandbox_id,
                                "stolen_file", str(hidden / "secret.csv"))
    assert rc != 0 and out["error"]["type"] == "InvalidRequest", out
    assert len(job_rows(api, sandbox_id, "import_data")) == before
    assert not table_exists(running_stack, sandbox_id, "stolen_file")


@pytest.mark.parametrize("params", [
    {"path": "/etc/passwd"},                       # the old job shape: a worker-side path
    {"upload": "/etc/passwd"},
    {"upload": "../../../../../../etc/passwd"},
    {"upload": "../bob/" + "0" * 32 + ".csv"},
    {"upload": "0" * 32 + ".csv/../../../../etc/passwd"},
])
def test_a_crafted_import_job_naming_a_path_is_refused(
        running_stack: Stack, api: Any, sandbox_id: str, params: dict[str, str]):
    done = crafted(api, "alice", "import_data", sandbox_id, target="stolen", fmt="csv",
                   **params)
    assert done.state == "failed" and done.error["type"] == "InvalidRequest", done.error
    assert not table_exists(running_stack, sandbox_id, "stolen")


def test_another_users_upload_cannot_be_imported(running_stack: Stack, api: Any,
                                                 sandbox_id: str):
    store = UploadStore(uploads_root(running_stack.home))
    bobs = store.put("bob", b"secret\nbob's data\n", "bob.csv")
    try:
        done = crafted(api, "alice", "import_data", sandbox_id, target="bobs", upload=bobs,
                       fmt="csv")
        assert done.state == "failed" and done.error["type"] == "InvalidRequest"
        assert not table_exists(running_stack, sandbox_id, "bobs")
        assert store.open_path("bob", bobs).read_bytes().startswith(b"secret")
    finally:
        store.discard("bob", bobs)


@pytest.mark.parametrize("digest", ["../../..", "/etc", "../" + "a" * 61])
def test_a_crafted_template_import_cannot_name_or_remove_a_path(
        running_stack: Stack, api: Any, digest: str):
    done = crafted(api, "alice", "import_template", None, name="evil", engine="sqlite",
                   digest=digest, size=1)
    assert done.state == "failed" and done.error["type"] == "InvalidRequest", done.error
    assert (running_stack.home / "dbplay.db").is_file()  # its failure hook deleted nothing
    assert running_stack.settings.templates_dir.is_dir()
    assert "evil" not in [t.name for t in api.list_templates("alice")]
