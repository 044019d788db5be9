"""Settings of the contexts worker (environment variables; see the README)."""

from __future__ import annotations

from shared.settings import CommonSettings


class WorkerSettings(CommonSettings, kw_only=True):
    service_name: str = "contexts-worker"
    # Deliveries handled together (also the channel's prefetch), and how long a partial
    # batch waits for more after its first delivery.
    worker_batch_size: int = 10
    worker_batch_wait_seconds: float = 0.2
    # Batches in flight at once (the prefetch is batch size x this): while one batch waits
    # on the database or the broker, the next one is generated.
    worker_concurrency: int = 2
    # Attempts of one task (generation + verification) before it is marked failed, and the
    # wait before the second attempt (doubling for each further one).
    worker_max_attempts: int = 3
    worker_retry_backoff_seconds: float = 1.0
    # At shutdown, how long the batch in flight may take to finish before it is abandoned
    # (rolled back, redelivered). Model calls bound it: keep it above LLM_TIMEOUT_SECONDS.
    worker_stop_grace_seconds: float = 90.0
    # The ``llm`` generator: any OpenAI-compatible chat-completions endpoint.
    openai_base_url: str = ""
    openai_api_key: str = ""
    contexts_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 60.0
