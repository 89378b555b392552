"""What an advisor needs from the service layer: a way to run a script on a sandbox (as
a query job, as the sandbox's own role) and a throwaway clone of it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from engines.result import SchemaInfo, StatementResult


class Runner(Protocol):
    def __call__(self, text: str) -> list[StatementResult]: ...


@dataclass
class AdviceInputs:
    """Everything an advisor starts from."""

    run_on_sandbox: Runner
    clone: Callable[[], AbstractContextManager[Runner]]
    schema: SchemaInfo
    #: ``result`` of each of the user's query jobs on the sandbox, newest first
    history: list[Any]
    budget_bytes: int
    limit: int
