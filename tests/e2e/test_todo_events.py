"""Todo changes made through the API are published on `events` through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aio_pika.abc import AbstractQueue

from shared.messaging import connect, declare_exchanges, from_message
from tests.support.rabbit import Vhost
from tests.support.stack import Stack, UserFactory
from tests.support.todo_events import events_of, todo_event_queue


@pytest.fixture
async def todo_events(vhost: Vhost, stack: Stack) -> AsyncIterator[AbstractQueue]:
    """A queue receiving every todo event of this test run."""
    async with todo_event_queue(vhost.url) as queue:
        yield queue


async def test_every_change_publishes_one_event_after_commit(
    stack: Stack, make_user: UserFactory, todo_events: AbstractQueue
) -> None:
    user = make_user()
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=user.headers) as api:
        created = await api.post(
            "/api/v1/todos", json={"title": "Event me"}, headers={"X-Request-ID": "trace-ev-1"}
        )
        todo_id = created.json()["id"]
        await api.patch(f"/api/v1/todos/{todo_id}", json={"priority": "high"})
        await api.post(f"/api/v1/todos/{todo_id}/complete")
        await api.post(f"/api/v1/todos/{todo_id}/complete")  # no change: no event
        await api.post(f"/api/v1/todos/{todo_id}/reopen")
        await api.delete(f"/api/v1/todos/{todo_id}")
        await api.post(f"/api/v1/todos/{todo_id}/restore")
        rejected = await api.post("/api/v1/todos", json={"title": ""})  # rolled back: no event
        assert rejected.status_code == 400
    seen = await events_of(todo_events, user, 6)
    verbs = [envelope.type for _, envelope in seen]
    assert verbs == [
        "todos.todo.created",
        "todos.todo.updated",
        "todos.todo.completed",
        "todos.todo.reopened",
        "todos.todo.deleted",
        "todos.todo.restored",
    ]
    first_message, first = seen[0]
    assert first.data["id"] == todo_id and first.data["title"] == "Event me"
    assert first.correlation_id == "trace-ev-1"
    assert first_message.message_id == str(first.id)
    assert seen[1][1].data["priority"] == "high" and seen[2][1].data["status"] == "completed"
    assert len({envelope.id for _, envelope in seen}) == 6


async def test_broker_outage_while_todos_are_created_loses_nothing(
    stack: Stack, vhost: Vhost, make_user: UserFactory
) -> None:
    user = make_user()
    connection = await connect(vhost.url, name="test-outage-observer")
    channel = await connection.channel()
    events, _ = await declare_exchanges(channel)
    # Durable, so it keeps what arrives while the broker drops our connection too.
    name = f"test-outage-{uuid.uuid4().hex[:8]}"
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(events, routing_key="todos.todo.created")
    try:
        async with httpx.AsyncClient(base_url=stack.gateway.url, headers=user.headers) as api:

            async def create(n: int) -> None:
                response = await api.post("/api/v1/todos", json={"title": f"outage {n}"})
                assert response.status_code == 201

            writes = asyncio.gather(*(create(n) for n in range(200)))
            for _ in range(3):  # every connection of the vhost is dropped, three times
                await asyncio.sleep(0.3)
                await asyncio.to_thread(vhost.close_connections)
            await writes
        ids: set[str] = set()
        deliveries = 0
        deadline = asyncio.get_running_loop().time() + 30
        while len(ids) < 200 and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(Exception):  # our channel may be reconnecting
                message = await queue.get(no_ack=True, fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                envelope = from_message(message)
                if str(envelope.user_id) == user.id:
                    deliveries += 1
                    ids.add(str(envelope.id))
        assert len(ids) == 200  # nothing lost; duplicates (at-least-once) share an id
        assert deliveries >= 200
    finally:
        with contextlib.suppress(Exception):
            await queue.delete(if_unused=False, if_empty=False)
        await connection.close()
