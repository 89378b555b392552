"""Statement processes: user work runs in a short-lived, fenced child, never in a worker.

Each worker that runs user jobs starts a *zygote* (``zygote.py``): a process with a
scrubbed environment (no metadata URL, no secret) that has imported every engine. Each
job forks a child from it (``child.py``) that fences itself (``fence.py``: umask 077,
an address-space limit of ``DBPLAY_STATEMENT_MEMORY_MB``, Landlock restricting the file
system to read-only system paths plus the sandbox's own files and the job's own file),
connects to the sandbox, runs one operation (``operations.py``), sends the result back
(``protocol.py``) and exits. ``runner.py`` is the worker's side: it relays a cancel and
turns a child's death into an error for that job alone.
"""
