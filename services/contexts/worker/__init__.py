"""The contexts worker process: consumes ``contexts.generate`` in batches of ten."""
