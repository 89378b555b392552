"""Tuning insights: a sandbox's workload and index advice proven on a throwaway clone
(mixed into :class:`orchestrator.api.service.Orchestrator`; the logic is in
:mod:`orchestrator.tuning`).

``advise`` is a service call that waits for its jobs (each step - a workload read, the
screening script, each index built and timed on the clone - is an ordinary query job on
the interactive workers). It takes tens of seconds on a large table; the CLI's HTTP
client waits for an answer as long as it takes. The last advice of each sandbox is kept
(a private file under ``$DBPLAY_HOME/advice/<user>/``) so ``--apply N`` applies exactly
the suggestion the user read.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engines.errors import Conflict, InvalidRequest
from engines.result import StatementResult
from orchestrator.api.base import ServiceBase
from orchestrator.config.file_modes import private_dir, write_private
from orchestrator.tuning import mongo_advisor, postgres_advisor, sqlite_advisor
from orchestrator.tuning.runner import AdviceInputs, Runner
from orchestrator.tuning.workload import from_history

#: most suggestions built and measured on the clone per advice
MAX_PROVEN = 12
_ADVISORS: dict[str, Callable[[AdviceInputs], dict[str, Any]]] = {
    "postgres": postgres_advisor.advise,
    "sqlite": sqlite_advisor.advise,
    "mongodb": mongo_advisor.advise,
}


class Tuning(ServiceBase):
    # -- the workload --------------------------------------------------------------
    def _history(self, user: str, sandbox_id: str) -> list[Any]:
        return [job.result for job in self.list_jobs(user, sandbox_id, limit=500)
                if job.kind == "query" and isinstance(job.result, list)]

    def tuning_workload(self, user: str, sandbox_id: str) -> list[dict[str, Any]]:
        """The sandbox's statements ranked by total time: ``[{"statement", "calls",
        "total_ms", "mean_ms", "source"}]`` (``pg_stat_statements`` where the server has
        it, else the playground's history of the sandbox)."""
        engine = self._advisable(user, sandbox_id)
        history = self._history(user, sandbox_id)
        if engine == "postgres":
            run = self._runner(user, sandbox_id)
            extensions, _ = postgres_advisor.read_state(run)
            entries = postgres_advisor.workload(run, history, extensions)
        elif engine == "mongodb":
            entries = mongo_advisor.workload(self._runner(user, sandbox_id), history)
        else:
            entries = from_history(history)
        return [e.to_dict() for e in entries]

    # -- advice ----------------------------------------------------------------------
    def advise(self, user: str, sandbox_id: str, apply: int | None = None) -> dict[str, Any]:
        """``{"suggestions": [{"ddl", "statements", "before_ms", "after_ms", "verified",
        "size_bytes", "write_cost_pct", "reason"}], "workload": [...]}``, every suggestion
        built and timed on a throwaway clone; the sandbox itself is untouched. With
        ``apply=N`` the N-th suggestion (1-based) of this sandbox's last advice is run on
        the sandbox instead (new advice first if there is none) and that advice returned."""
        engine = self._advisable(user, sandbox_id)
        if apply is not None:
            return self.apply_advice(user, sandbox_id, apply)
        inputs = AdviceInputs(
            run_on_sandbox=self._runner(user, sandbox_id),
            clone=lambda: self._clone_runner(user, sandbox_id),
            schema=self.schema(user, sandbox_id), history=self._history(user, sandbox_id),
            budget_bytes=self.settings.advice_budget_mb * 2**20, limit=MAX_PROVEN)
        advice = _ADVISORS[engine](inputs)
        path = self._advice_file(user, sandbox_id)
        private_dir(path.parent)
        write_private(path, json.dumps(advice))
        return advice

    def last_advice(self, user: str, sandbox_id: str) -> dict[str, Any] | None:
        self.get_sandbox(user, sandbox_id)  # NotFound for another user's
        path = self._advice_file(user, sandbox_id)
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def apply_advice(self, user: str, sandbox_id: str, number: int) -> dict[str, Any]:
        advice = self.last_advice(user, sandbox_id) or self.advise(user, sandbox_id)
        suggestions = advice["suggestions"]
        if not 1 <= int(number) <= len(suggestions):
            raise InvalidRequest(f"there is no suggestion {number}: the last advice for "
                                 f"{sandbox_id} has {len(suggestions)} (1 to "
                                 f"{len(suggestions)})")
        ddl = suggestions[int(number) - 1]["ddl"]
        results = self.run_query(user, sandbox_id, ddl)
        failed = next((r.error for r in results if r.error), None)
        if failed:
            raise Conflict(f"applying {ddl!r} failed: {failed.get('message')}")
        return advice

    # -- helpers ---------------------------------------------------------------------
    def _advisable(self, user: str, sandbox_id: str) -> str:
        engine = self.get_sandbox(user, sandbox_id).engine
        if engine not in _ADVISORS:
            raise InvalidRequest(f"index advice covers PostgreSQL, SQLite and MongoDB sandboxes; "
                                 f"sandbox {sandbox_id} is {engine}")
        return engine

    def _runner(self, user: str, sandbox_id: str) -> Runner:
        def run(text: str) -> list[StatementResult]:
            return self.run_query(user, sandbox_id, text, max_rows=1000)
        return run

    @contextlib.contextmanager
    def _clone_runner(self, user: str, sandbox_id: str) -> Iterator[Runner]:
        with self.throwaway_clone(user, sandbox_id) as clone:
            yield self._runner(user, clone.id)

    def _advice_file(self, user: str, sandbox_id: str) -> Path:
        return self.settings.home / "advice" / self._user(user) / f"{sandbox_id}.json"
