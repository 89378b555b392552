"""The HTTP API of DB Playground (FastAPI): ``create_app`` in :mod:`.app`, served by
``python -m orchestrator.api.http`` (the stack's ``api`` service).

This package's ``__init__`` imports nothing, so the CLI may use
:mod:`.installation_token` without loading FastAPI.
"""
