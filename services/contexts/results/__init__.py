"""What a job produced: the summary, the contexts, the updated registry and the archive."""
