"""The offline engine's corpus, end to end: every phrasing of ``corpus.py`` through the gateway.

Each case is a fresh user: its setup todos are created through the todos API, then its
messages are sent to ``POST /api/v1/chat`` in one conversation (with ``X-Timezone``). The
answer's ``tool_calls`` must be exactly the expected calls, in order, with the arguments
and results that matter; afterwards the todos, read back through the API, must show it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.chat.corpus import CORPUS, END_OF_WEEK, Case, Due, Todo

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway
    from tests.support.stack import User, UserFactory


def test_the_corpus_is_large_enough() -> None:
    assert sum(len(case.steps) for case in CORPUS) >= 60
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_phrasing(case: Case, chat_gateway: ChatGateway, make_user: UserFactory) -> None:
    user = make_user()
    with httpx.Client(base_url=chat_gateway.url, headers=user.headers, timeout=20) as client:
        for todo in case.setup:
            _create(client, todo, case)
        conversation_id = None
        for step in case.steps:
            now = datetime.now(case.tz)
            body: dict[str, Any] = {"message": step.message}
            if conversation_id:
                body["conversation_id"] = conversation_id
            answer = client.post("/api/v1/chat", json=body, headers={"X-Timezone": case.zone})
            assert answer.status_code == 200, answer.text
            reply = answer.json()
            conversation_id = reply["conversation_id"]
            calls = reply["tool_calls"]
            context = f"{step.message!r} -> {calls}\n{reply['response']}"
            assert [c["name"] for c in calls] == [c.name for c in step.calls], context
            for made, expected in zip(calls, step.calls, strict=True):
                for key, value in expected.arguments.items():
                    assert _same(made["arguments"].get(key), value, now), (key, context)
                for key, value in expected.result.items():
                    assert made["result"].get(key) == value, (key, context)
            pieces = (step.reply_has,) if isinstance(step.reply_has, str) else step.reply_has
            for piece in pieces:
                assert piece.lower() in reply["response"].lower(), context
        _check_todos(client, user, case)


def _check_todos(client: httpx.Client, user: User, case: Case) -> None:
    listed = client.get("/api/v1/todos", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    by_title = {todo["title"]: todo for todo in listed.json()["items"]}
    now = datetime.now(case.tz)
    for title, fields in case.todos.items():
        assert title in by_title, (title, sorted(by_title))
        for key, value in fields.items():
            assert _same(by_title[title][key], value, now), (title, key, by_title[title])
    for title in case.gone:
        assert title not in by_title, (title, user.email)


def _create(client: httpx.Client, todo: Todo, case: Case) -> None:
    body: dict[str, Any] = {"title": todo.title, "status": todo.status, "tags": list(todo.tags)}
    if todo.priority:
        body["priority"] = todo.priority
    if todo.due:
        body["due_at"] = todo.due.resolve(datetime.now(case.tz)).isoformat()
    if todo.recurrence:
        body["recurrence"] = todo.recurrence
    created = client.post("/api/v1/todos", json=body, headers={"X-Timezone": case.zone})
    assert created.status_code == 201, created.text


def _same(actual: Any, expected: Any, now: datetime) -> bool:
    """Equal, comparing moments as instants (the engine sends them with the user's offset)."""
    if isinstance(expected, Due):
        expected = expected.resolve(now)
    elif expected == END_OF_WEEK:
        today = datetime.combine(now.date(), datetime.min.time(), tzinfo=now.tzinfo)
        expected = today + timedelta(days=7 - today.weekday())
    if isinstance(expected, datetime):
        return isinstance(actual, str) and datetime.fromisoformat(actual) == expected
    return bool(actual == expected)
