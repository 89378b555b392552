"""What a new user meets at the terminal: mistakes get a clear message (never a
traceback, never a silently lowered limit), failed exports leave no file behind, and
human output is readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import output as cli_output
from tests.orchestrator.conftest import REPO, running_stack  # noqa: F401


def human(stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``dbplay ARGS`` without ``--json``, as a person types it."""
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "--user", "alice", *args],
                          env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def sandbox_id(running_stack):  # noqa: F811
    code, data = running_stack.cli("sandbox", "create", "empty-sqlite")
    assert code == 0, data
    return data["id"]


def exported_files(stack) -> list[Path]:
    folder = stack.settings.exports_dir
    return sorted(folder.rglob("*.*")) if folder.exists() else []


@pytest.mark.parametrize("ttl", ["-5m", "abc"])
def test_bad_ttl_is_a_usage_error_not_a_traceback(running_stack, ttl):  # noqa: F811
    proc = human(running_stack, "sandbox", "create", "empty-sqlite", f"--ttl={ttl}")
    assert proc.returncode == 2
    assert "bad duration" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("option", [["--max-rows", "100000"], ["--max-rows", "0"],
                                    ["--timeout", "3600"]])
def test_limit_beyond_the_cap_is_refused_naming_the_cap(running_stack, sandbox_id,  # noqa: F811
                                                        option):
    code, data = running_stack.cli("query", sandbox_id, "SELECT 1", *option)
    assert code == 1
    assert data["error"]["type"] == "InvalidRequest"
    assert "DBPLAY_MAX" in data["error"]["message"]


def test_export_to_a_missing_directory_fails_first_and_leaves_no_file(running_stack,  # noqa: F811
                                                                      sandbox_id):
    code, data = running_stack.cli("export", sandbox_id, "SELECT 1 AS x", "--format", "csv",
                                   "--out", "/nonexistent-dir/x.csv")
    assert code == 1
    assert data["error"] == {"type": "InvalidRequest", "message":
                             "cannot write --out /nonexistent-dir/x.csv: directory "
                             "/nonexistent-dir does not exist"}
    assert exported_files(running_stack) == []


def test_export_failing_midway_leaves_no_partial_file(running_stack, sandbox_id,  # noqa: F811
                                                      tmp_path):
    # rows stream out until row 15000 overflows: the worker had written a partial CSV
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
             "SELECT CASE WHEN x < 15000 THEN x ELSE abs(-9223372036854775808) END FROM c")
    code, data = running_stack.cli("export", sandbox_id, query, "--format", "csv",
                                   "--out", str(tmp_path / "out.csv"))
    assert code == 1 and "overflow" in data["error"]["message"], data
    assert exported_files(running_stack) == []
    assert not (tmp_path / "out.csv").exists()


def test_explain_on_an_engine_without_planner_prints_its_explanation(running_stack):  # noqa: F811
    code, data = running_stack.cli("sandbox", "create", "empty-chroma")
    assert code == 0, data
    try:
        proc = human(running_stack, "explain", data["id"], "list_collections()")
        assert proc.returncode == 0, proc.stderr
        assert "Chroma has no query planner" in proc.stdout
        assert proc.stdout.strip() != "None"
    finally:
        running_stack.cli("sandbox", "rm", data["id"])


def test_sqlite_plan_lines_do_not_repeat_the_node_word(running_stack, sandbox_id):  # noqa: F811
    assert running_stack.cli("query", sandbox_id, "CREATE TABLE IF NOT EXISTS p (a)")[0] == 0
    proc = human(running_stack, "explain", sandbox_id, "SELECT * FROM p")
    assert proc.returncode == 0, proc.stderr
    assert "-> SCAN p" in proc.stdout and "SCAN SCAN" not in proc.stdout


def test_row_counts_read_as_english(running_stack, sandbox_id):  # noqa: F811
    proc = human(running_stack, "query", sandbox_id, "SELECT 1 AS one")
    assert "(1 row, " in proc.stdout
    proc = human(running_stack, "query", sandbox_id,
                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) "
                 "SELECT x FROM c", "--max-rows", "2")
    assert "(2 rows, truncated, " in proc.stdout


def test_table_columns_line_up_with_wide_characters():
    text = cli_output.table(["place", "n"], [["東京", 1], ["Kraków", 2]])
    _header, _rule, tokyo, krakow = text.splitlines()
    # the second column starts at the same terminal column on every line
    starts = {cli_output.width(line[: line.rindex(" ") + 1]) for line in (tokyo, krakow)}
    assert starts == {len("Kraków  ")}
