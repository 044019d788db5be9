"""Jobs: the HTTP API of a job (submit, list, get, retry, progress), its storage and views."""
