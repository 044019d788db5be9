"""The ``contexts`` command: ``contexts generate PROJECT_DIR`` through the gateway or the queue.

A client of the platform, run on users' machines: it talks to the gateway over HTTP (and
optionally to the broker over AMQP) and imports nothing from ``services/``
(``tests/unit/test_contexts_cli_imports.py`` checks it).
"""
