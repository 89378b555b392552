"""Index advice, proven: the workload of a sandbox, index candidates from its statements'
parse trees, screening (HypoPG's hypothetical indexes on PostgreSQL, ``EXPLAIN QUERY
PLAN`` on SQLite), a choice within a size budget, and the measurements that prove each
suggestion on a throwaway clone.

Everything here is pure: it builds scripts and reads their results. The service layer
(:mod:`orchestrator.api.tuning`) runs them as query jobs on the sandbox and its clone.
"""
