"""The designer's tests share one running stack (see tests/orchestrator/conftest.py)."""

from tests.orchestrator.conftest import running_stack  # noqa: F401
