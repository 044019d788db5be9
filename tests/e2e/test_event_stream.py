"""The live event stream `GET /api/v1/events` (Server-Sent Events) through the gateway."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack

import httpx

from services.gateway.event_stream import EventHub, Subscriber, sse_body
from services.gateway.settings import GatewaySettings
from shared.messaging import Envelope
from shared.platform import Broker
from tests.support.event_stream import TIMEOUT, open_stream
from tests.support.stack import Stack, User, UserFactory


async def create_todo(stack: Stack, user: User, title: str) -> dict:
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=user.headers) as api:
        created = await api.post("/api/v1/todos", json={"title": title})
    assert created.status_code == 201, created.text
    return created.json()


async def test_each_user_receives_own_events_only(stack: Stack, make_user: UserFactory) -> None:
    alice, bob = make_user(), make_user()
    async with (
        open_stream(stack.gateway.url, alice.headers) as alice_stream,
        open_stream(stack.gateway.url, bob.headers) as bob_stream,
    ):
        headers = alice_stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"

        started = time.monotonic()
        todo = await create_todo(stack, alice, "Streamed to Alice")
        event = await alice_stream.next_event(timeout=3)
        assert time.monotonic() - started < 1.5
        assert event.event == "todos.todo.created"
        body = event.json()
        assert event.id == body["id"]
        assert body["type"] == "todos.todo.created"
        assert body["correlation_id"] and body["occurred_at"]
        assert body["data"]["id"] == todo["id"] and body["data"]["title"] == "Streamed to Alice"

        bobs = await create_todo(stack, bob, "Bob's own")
        event = await bob_stream.next_event(timeout=3)  # Alice's came first, had Bob got it
        assert event.event == "todos.todo.created"
        assert event.json()["data"]["id"] == bobs["id"]
        await alice_stream.assert_no_event(within=0.5)
        await bob_stream.assert_no_event(within=0.2)


async def test_no_token_is_401(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=5) as client:
        missing = await client.get("/api/v1/events")
        forged = await client.get("/api/v1/events", headers={"Authorization": "Bearer x.y.z"})
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_idle_stream_gets_heartbeats(stack: Stack, make_user: UserFactory) -> None:
    gateway = stack.start_gateway(event_stream_heartbeat="1")
    try:
        user = make_user()
        async with open_stream(gateway.url, user.headers) as stream:
            for _ in range(2):
                frame = await stream.next(timeout=3)
                assert frame.event is None and frame.comments == ["heartbeat"]
    finally:
        gateway.stop()


async def test_sixth_stream_of_a_user_is_429(stack: Stack, make_user: UserFactory) -> None:
    user, other = make_user(), make_user()
    async with AsyncExitStack() as streams:
        for _ in range(5):
            await streams.enter_async_context(open_stream(stack.gateway.url, user.headers))
        async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=5) as client:
            refused = await client.get("/api/v1/events", headers=user.headers)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert "retry-after" in refused.headers
        # The limit is per user: someone else still gets a stream.
        async with open_stream(stack.gateway.url, other.headers):
            pass
    # Closed streams are released: the user can connect again.
    deadline = time.monotonic() + 5
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=TIMEOUT) as client:
        while True:
            async with client.stream("GET", "/api/v1/events", headers=user.headers) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams were not released"
            await asyncio.sleep(0.1)


async def test_broker_down_gateway_starts_and_stream_is_503(
    stack: Stack, make_user: UserFactory
) -> None:
    gateway = stack.start_gateway(amqp_url="amqp://guest:guest@127.0.0.1:1/")
    try:
        user = make_user()
        async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
            response = await client.get("/api/v1/events", headers=user.headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        gateway.stop()


async def test_lagging_stream_is_ended_not_buffered() -> None:
    """In-process: a stream whose buffer is full is dropped, the others of the user are not."""
    settings = GatewaySettings(event_stream_buffer=2)
    hub = EventHub(settings, Broker(settings.amqp_url, name="tests"))  # never connected
    user_id = str(uuid.uuid4())
    lagging, reading = Subscriber(user_id, 2), Subscriber(user_id, 10)
    hub._subscribers[user_id] |= {lagging, reading}
    for n in range(3):
        hub.publish(Envelope(type="todos.todo.created", data={"n": n}, user_id=uuid.UUID(user_id)))
    assert hub._subscribers[user_id] == {reading}
    assert reading.queue.qsize() == 3
    body = [frame async for frame in sse_body(hub, lagging, 10, time.time() + 60)]
    assert body == [b"retry: 3000\n: connected\n\n"]  # buffered frames dropped, stream ended
    other = Envelope(type="todos.todo.created", data={}, user_id=uuid.uuid4())
    hub.publish(other)  # nobody of that user is connected: nothing queued anywhere
    assert reading.queue.qsize() == 3
