"""Settings of the gateway (environment variables; see the README)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.settings import DEV_KEYS_DIR, CommonSettings, is_dev_key_path, key_material


class GatewaySettings(CommonSettings, kw_only=True):
    service_name: str = "gateway"
    jwt_private_key: str = ""
    jwt_private_key_file: str = str(DEV_KEYS_DIR / "jwt_private.pem")
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    # Rate limits use the `limits` notation ("600/minute", "10/second;600/hour").
    rate_limit: str = "600/minute"
    login_max_failures: int = 5
    # The share of one core that password hashing (bcrypt, cost 12) may take per process:
    # what a storm of logins can take from every other request.
    password_hashing_share: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25
    login_failure_window: int = 900
    # Empty: in-memory counters (one replica). Set it so that replicas share counters.
    redis_url: str = ""
    # Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    cors_origins: str = ""
    # How long a gateway keeps a personal access token's row: the bound on how long a
    # revoked token still works on another replica (docs/design.md §2).
    personal_token_cache_seconds: float = 5.0
    todos_url: str = "http://127.0.0.1:8001"
    chat_url: str = "http://127.0.0.1:8002"
    contexts_url: str = "http://127.0.0.1:8003"
    upstream_timeout: float = 30.0
    upstream_connect_timeout: float = 2.0
    upstream_pool_size: int = 128
    max_body_bytes: int = 1024 * 1024
    # POST /api/v1/contexts/jobs: a 10 MiB registry plus 5 MiB of documents, JSON-escaped.
    contexts_max_body_bytes: int = 16 * 1024 * 1024
    # Live event stream (GET /api/v1/events): seconds between heartbeat comments on an
    # idle stream, open streams per user, events buffered per stream before a lagging
    # client is disconnected, unacked deliveries per gateway, topic patterns relayed.
    event_stream_heartbeat: float = 15.0
    event_stream_max_per_user: int = 5
    event_stream_buffer: int = 100
    event_stream_prefetch: int = 200
    event_stream_routing_keys: str = "todos.#,contexts.#"

    def private_key_pem(self) -> bytes:
        return key_material(self.jwt_private_key, self.jwt_private_key_file, "JWT_PRIVATE_KEY")

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.jwt_private_key and is_dev_key_path(self.jwt_private_key_file):
            problems.append("JWT_PRIVATE_KEY(_FILE) is missing or points at the dev keys")
        return problems
