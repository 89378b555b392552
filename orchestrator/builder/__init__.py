"""The query builder: one engine-neutral query spec (:mod:`.spec`), compiled to SQL for
PostgreSQL and SQLite (:mod:`.sql_compiler`) or to a MongoDB aggregation pipeline
(:mod:`.mongo_compiler`), and read back from SQL (:mod:`.sql_parser`). Pure modules:
they depend on the engines' descriptors, sqlglot and pydantic only."""
