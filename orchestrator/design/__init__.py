"""The schema designer: a typed model of a relational schema, read from a live sandbox or
from DBML, diffed into a migration and rendered as DDL for the sandbox's dialect.

The modules here import only ``engines``, SQLAlchemy, Alembic and pydbml; the service
(:mod:`orchestrator.api.design`) runs what they produce on sandboxes and clones.
"""
