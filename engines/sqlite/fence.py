"""The fence around a SQLite sandbox: its statements touch only its own database file.

SQLite sandboxes run inside a worker process, so SQL that names another file
(``ATTACH``, ``VACUUM INTO``), loads native code (``load_extension``) or redirects the
library's own files (``PRAGMA temp_store_directory``) would act with the worker's rights
on the host. :func:`install` fences a connection:

* an authorizer (``sqlite3_set_authorizer``) that denies ``ATTACH`` and ``DETACH``
  (``VACUUM INTO`` and plain ``VACUUM`` arrive as ``ATTACH`` too, so both are denied),
  the ``load_extension`` SQL function, and every pragma not in :data:`SAFE_PRAGMAS`
  (read-only introspection and settings that affect only this connection) or
  :data:`READ_ONLY_PRAGMAS` (readable, not settable);
* ``SQLITE_LIMIT_ATTACHED`` = 0, so no other database can be attached even if an
  authorizer decision were wrong;
* extension loading switched off (where the Python build has it at all);
* temporary tables and sort spills in memory (``temp_store = MEMORY``), bounded by
  SQLite's process-wide ``hard_heap_limit`` (:data:`HEAP_LIMIT_BYTES`), so a statement
  writes no file outside the sandbox's own database and journal, and fails with
  "out of memory" instead of growing the worker without end.

The adapter's own schema reads (``PRAGMA table_info``...) are on the safe list; its
dump and restore use the backup API, which the authorizer does not see.
"""

from __future__ import annotations

import sqlite3

#: SQLite's process-wide heap cap, set once per process (the pragma can only lower it)
HEAP_LIMIT_BYTES = 512 * 1024 * 1024

#: pragmas a sandbox may run and set: introspection, or settings of this connection only
SAFE_PRAGMAS = frozenset({
    "analysis_limit", "application_id", "automatic_index", "busy_timeout", "cache_size",
    "cache_spill", "case_sensitive_like", "cell_size_check", "collation_list",
    "defer_foreign_keys", "foreign_key_check", "foreign_key_list", "foreign_keys",
    "function_list", "ignore_check_constraints", "incremental_vacuum", "index_info",
    "index_list", "index_xinfo", "integrity_check", "journal_mode", "legacy_alter_table",
    "module_list", "optimize", "pragma_list", "query_only", "quick_check",
    "recursive_triggers", "reverse_unordered_selects", "secure_delete", "shrink_memory",
    "synchronous", "table_info", "table_list", "table_xinfo", "user_version",
    "wal_checkpoint",
})

#: pragmas a sandbox may read but not set (setting them would lift a fence, corrupt the
#: file or change every connection of the process)
READ_ONLY_PRAGMAS = frozenset({
    "auto_vacuum", "compile_options", "data_version", "encoding", "freelist_count",
    "hard_heap_limit", "locking_mode", "max_page_count", "mmap_size", "page_count",
    "page_size", "schema_version", "soft_heap_limit", "temp_store", "threads",
    "trusted_schema",
})

#: SQL functions a sandbox may not call
DENIED_FUNCTIONS = frozenset({"load_extension"})

#: how SQLite reports an authorizer's "no" (statements; VACUUM)
NOT_AUTHORIZED = ("not authorized", "authorization denied")


class Fence:
    """The authorizer of one connection; remembers why it last said no."""

    def __init__(self) -> None:
        self.denial: str | None = None

    def reset(self) -> None:
        self.denial = None

    def explain(self, message: str) -> str | None:
        """The reason for a denial SQLite reported as ``message``, or ``None``."""
        if self.denial is not None and any(m in message for m in NOT_AUTHORIZED):
            return self.denial
        return None

    def authorize(self, action: int, arg1: str | None, arg2: str | None,
                  _database: str | None, _trigger: str | None) -> int:
        reason = denial_reason(action, arg1, arg2)
        if reason is None:
            return sqlite3.SQLITE_OK
        self.denial = reason
        return sqlite3.SQLITE_DENY


def denial_reason(action: int, arg1: str | None, arg2: str | None) -> str | None:
    """Why a sandbox may not do what the authorizer was asked about, or ``None``."""
    if action == sqlite3.SQLITE_ATTACH:
        if arg1:
            return (f"ATTACH and VACUUM INTO are not allowed in a sandbox ({arg1!r}): it may "
                    "only use its own database")
        return ("VACUUM and ATTACH are not allowed in a sandbox: it may only use its own "
                "database")
    if action == sqlite3.SQLITE_DETACH:
        return "DETACH is not allowed in a sandbox: it may only use its own database"
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return f"{arg2}() is not allowed in a sandbox: extensions cannot be loaded"
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in SAFE_PRAGMAS or (name in READ_ONLY_PRAGMAS and arg2 is None):
            return None
        what = f"PRAGMA {name} = {arg2}" if arg2 is not None else f"PRAGMA {name}"
        return (f"{what} is not allowed in a sandbox: only introspection pragmas and "
                "settings of this connection may be used")
    return None


def install(conn: sqlite3.Connection) -> Fence:
    """Fence ``conn`` (see the module docstring); returns its authorizer."""
    if hasattr(conn, "enable_load_extension"):
        conn.enable_load_extension(False)
    current = conn.execute("PRAGMA hard_heap_limit").fetchone()[0]
    if current == 0 or current > HEAP_LIMIT_BYTES:
        conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    fence = Fence()
    conn.set_authorizer(fence.authorize)
    return fence
