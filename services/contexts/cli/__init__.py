"""The ``contexts`` command: ``contexts generate PROJECT_DIR`` through the gateway or the queue."""
