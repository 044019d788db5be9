"""Settings of the chat service (environment variables; see the README)."""

from __future__ import annotations

from shared.settings import CommonSettings


class ChatSettings(CommonSettings, kw_only=True):
    service_name: str = "chat"
    # The todos service the tools act on, as the caller.
    todos_url: str = "http://127.0.0.1:8001"
    todos_timeout: float = 10.0
    # Empty: the offline engine (a deterministic parser, no network). Set: the model engine
    # against OPENAI_BASE_URL (any OpenAI-compatible server; empty means OpenAI itself).
    openai_api_key: str = ""
    openai_base_url: str = ""
    chat_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 20.0  # per model request
    llm_max_retries: int = 2
    # The whole turn, below the gateway's UPSTREAM_TIMEOUT (30 s) so that a slow turn is our
    # answer, not the gateway's 504. Model requests (retries included) must finish by this
    # deadline, else the turn is a 502 LLM_UNAVAILABLE (the tool calls that ran are stored).
    # A tool call only starts while at least TODOS_TIMEOUT is left, so the last one ends in
    # time too; later calls get a tool error (the offline engine says so in its reply).
    chat_turn_timeout_seconds: float = 25.0
    # Earlier messages the engine sees each turn (tool calls count as messages).
    chat_history_window: int = 20
    # Tool rounds per turn before the assistant gives up (ends runaway loops).
    chat_max_tool_rounds: int = 6
    # Tool calls per turn, all rounds together; further calls get a tool error, not run.
    chat_max_tool_calls: int = 20

    def __post_init__(self) -> None:
        if self.chat_turn_timeout_seconds <= self.todos_timeout:
            # No tool call could ever start: every turn would fail its tools.
            raise ValueError("CHAT_TURN_TIMEOUT_SECONDS must be above TODOS_TIMEOUT")
