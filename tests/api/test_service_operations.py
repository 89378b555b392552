"""The whole-service operations the mixins call are declared once, on ServiceBase; the
orchestrator must implement every one of them (a placeholder reached at run time would
be a NotImplementedError in front of a user)."""

from __future__ import annotations

import inspect

from orchestrator.api.base import ServiceBase
from orchestrator.api.service import Orchestrator

DECLARED = [name for name, member in vars(ServiceBase).items()
            if inspect.isfunction(member) and "raise NotImplementedError" in
            inspect.getsource(member)]


def test_servicebase_declares_the_operations_the_mixins_share() -> None:
    assert {"get_sandbox", "run_query", "throwaway_clone"} <= set(DECLARED)


def test_every_operation_declared_on_servicebase_is_implemented_by_the_orchestrator() -> None:
    placeholders = [name for name in DECLARED
                    if next(c for c in Orchestrator.__mro__ if name in vars(c)) is ServiceBase]
    assert placeholders == []
