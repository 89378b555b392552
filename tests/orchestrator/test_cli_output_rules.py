"""How `dbplay` reports: usage errors as JSON, `-` for missing metadata, durations as
durations, PostgreSQL-style intervals, and `(0 rows)` for reads that found nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engines.errors import QuotaExceeded
from orchestrator.api.service import Orchestrator
from orchestrator.cli import output as cli_output
from orchestrator.config.settings import Settings, format_duration
from tests.orchestrator.conftest import REPO
from tests.servers import free_port


def _dbplay(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DBPLAY_HOME": str(tmp_path),
           "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("argv", [
    ["--json", "query"],                       # missing arguments, --json first
    ["query", "abc", "--json"],                 # missing argument, --json last
    ["sandbox", "create", "x", "--ttl", "soon", "--json"],   # bad value
    ["sandbox", "frobnicate", "--json"],        # bad choice
    ["schedules", "rm", "one", "--json"],       # not an integer
])
def test_usage_error_with_json_anywhere_prints_a_json_error(tmp_path, argv):
    proc = _dbplay(tmp_path, *argv)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "UsageError" and error["message"]
    assert proc.stderr == ""


def test_usage_error_without_json_prints_usage_to_stderr(tmp_path):
    proc = _dbplay(tmp_path, "query", "abc")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("usage: dbplay query")
    assert "the following arguments are required: text" in proc.stderr


def test_help_still_exits_zero(tmp_path):
    proc = _dbplay(tmp_path, "schedules", "--help")
    assert proc.returncode == 0 and "rm" in proc.stdout


def test_metadata_tables_show_a_dash_for_missing_values_and_results_show_null():
    listing = cli_output.records([{"id": 1, "last_status": None}], ["id", "last_status"])
    assert listing.splitlines()[-1].split() == ["1", "-"]
    assert "NULL" not in cli_output.mapping({"error": None})
    rows = cli_output.statements([{"statement": "SELECT NULL", "columns": ["x"],
                                   "rows": [[None]], "rowcount": 1, "truncated": False,
                                   "elapsed_ms": 1.0, "error": None}])
    assert rows.splitlines()[2] == "NULL"


def test_a_ttl_above_the_maximum_names_the_maximum_as_a_duration(tmp_path):
    settings = Settings.load({"DBPLAY_HOME": str(tmp_path), "DBPLAY_PROVISIONER": "local",
                              "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    api = Orchestrator.from_settings(settings)
    try:
        with pytest.raises(QuotaExceeded, match=r"longest time to live is 24h \(DBPLAY_MAX"):
            api.create_sandbox("alice", "empty-sqlite", ttl_s=25 * 3600)
    finally:
        api.close()
    assert [format_duration(s) for s in (86400, 5400, 90, 0)] == ["24h", "90m", "90s", "0s"]


@pytest.mark.parametrize(("python", "postgres"), [
    ("1 day, 0:00:00", "1 day"),
    ("1:00:00", "01:00:00"),
    ("-1 day, 23:00:00", "-01:00:00"),
    ("2 days, 3:00:04.500000", "2 days 03:00:04.5"),
    ("0:00:00", "00:00:00"),
    ("not 1:00:00", "not 1:00:00"),
])
def test_intervals_print_like_postgresql(python, postgres):
    assert cli_output.interval(python) == postgres
    shown = cli_output.table(["i", "t"], [[python, python]], types=["interval", "text"])
    assert shown.splitlines()[2].split("  ")[0].strip() == postgres
    assert shown.splitlines()[2].rstrip().endswith(python)  # text columns stay as they are


def test_interval_from_a_real_postgres_sandbox_prints_like_psql(running_stack):
    rc, sb = running_stack.cli("sandbox", "create", "empty-postgres")
    assert rc == 0, sb
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "query", sb["id"],
         "SELECT interval '1 day' AS d, interval '1 hour' AS h"],
        env=running_stack.env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[2].split() == ["1", "day", "01:00:00"]
    running_stack.cli("sandbox", "rm", sb["id"])


def test_an_empty_document_read_prints_zero_rows_not_rows_affected(running_stack):
    rc, sb = running_stack.cli("sandbox", "create", "empty-mongodb")
    assert rc == 0, sb
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "query", sb["id"],
         "db.none.find({}); db.none.deleteMany({})"],
        env=running_stack.env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    read, write = proc.stdout.split("\n\n")
    assert read.startswith("(0 rows, ") and "affected" not in read
    assert "(0 rows" not in write
    running_stack.cli("sandbox", "rm", sb["id"])


def test_an_empty_chroma_read_prints_zero_rows_but_a_write_does_not():
    base = {"statement": "x", "columns": [], "rows": [], "rowcount": 0, "truncated": False,
            "elapsed_ms": 1.0, "error": None}
    assert cli_output.statements([base], True).startswith("(0 rows, ")
    write = {**base, "notice": "deleted 0 record(s) in 'c'"}
    assert cli_output.statements([write], True).startswith("OK, 0 rows affected")
    assert cli_output.statements([base], False).startswith("OK, 0 rows affected")
    assert cli_output.statements([{**base, "returns_rows": True}], False).startswith(
        "(0 rows, ")
