"""The model requests of the chat service in its ``/metrics``: latency by outcome, errors
by kind (a fixed set, whatever the provider says)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.chat import send, turn
from tests.support.metrics import scrape, value
from tests.support.openai_server import error_reply, text_reply

if TYPE_CHECKING:
    from tests.support.chat import ModelChat


def test_model_requests_are_timed_and_failures_counted_by_kind(model_chat: ModelChat, make_user):
    user = make_user()
    before = scrape(model_chat.chat.url)

    model_chat.script(text_reply("Hello!"))
    assert turn(model_chat.url, user, "hi")["response"] == "Hello!"
    model_chat.script(error_reply(500, "upstream exploded"))
    assert send(model_chat.url, user, "hi again").status_code == 502
    model_chat.script(error_reply(400, "bad request"))
    assert send(model_chat.url, user, "and again").status_code == 502
    after = scrape(model_chat.chat.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("llm_request_duration_seconds_count", caller="chat", outcome="ok") == 1
    assert delta("llm_request_duration_seconds_count", caller="chat", outcome="error") == 2
    assert delta("llm_errors_total", caller="chat", kind="server_error") == 1
    assert delta("llm_errors_total", caller="chat", kind="client_error") == 1
    # The provider's message is in the logs, not in a label.
    kinds = {s.labels.get("kind") for s in after if s.name == "llm_errors_total"}
    assert kinds <= {
        "timeout", "connection", "rate_limited", "server_error", "client_error",
        "invalid_response",
    }  # fmt: skip
