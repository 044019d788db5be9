"""Job submission over AMQP against the running contexts service, seen through the gateway.

Messages are published the way an outside producer does (exchange ``contexts``, routing
key ``jobs.submit``, the user's token in the ``authorization`` header); what they did is
checked over HTTP as the users see it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared.consumer import REASON_HEADER
from shared.settings import REPO_ROOT
from tests.support.contexts import JOBS, ContextsStack, sample_request
from tests.support.rabbit import get_message
from tests.support.samples import SAMPLES
from tests.support.stack import User, UserFactory

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
DEAD_LETTERS = "contexts.jobs.submit.dead"


class Producer:
    """An outside system: publishes submissions, collects replies on direct reply-to."""

    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self.replies: dict[str, asyncio.Future[AbstractIncomingMessage]] = {}

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self.replies.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message)

    async def submit(
        self,
        body: bytes,
        headers: dict[str, Any],
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> str:
        correlation_id = correlation_id or uuid.uuid4().hex
        self.replies[correlation_id] = asyncio.get_running_loop().create_future()
        exchange = await self.channel.get_exchange("contexts")
        message = aio_pika.Message(
            body,
            headers=headers,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id or str(uuid.uuid4()),
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_TO,
        )
        await exchange.publish(message, "jobs.submit", mandatory=True)
        return correlation_id

    async def reply(self, correlation_id: str) -> dict[str, Any]:
        message = await asyncio.wait_for(self.replies[correlation_id], 30)
        assert message.correlation_id == correlation_id
        answer: dict[str, Any] = json.loads(message.body)
        return answer

    async def dead_letter(self, correlation_id: str) -> AbstractIncomingMessage:
        queue = await self.channel.get_queue(DEAD_LETTERS)
        deadline = time.monotonic() + 15
        while True:
            message = await get_message(queue, timeout=max(0.1, deadline - time.monotonic()))
            await message.ack()
            if message.correlation_id == correlation_id:
                return message


@pytest.fixture
async def producer(contexts_stack: ContextsStack) -> AsyncIterator[Producer]:
    connection = await aio_pika.connect(contexts_stack.env["AMQP_URL"])
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        producer = Producer(channel)
        replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await replies.consume(producer._on_reply, no_ack=True)
        yield producer


def bearer(user: User) -> dict[str, str]:
    return {"authorization": f"Bearer {user.access_token}"}


def jobs_of(capi: httpx.Client, user: User) -> list[dict[str, Any]]:
    response = capi.get(JOBS, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_job_submitted_over_amqp_is_answered_and_belongs_to_its_submitter(
    producer: Producer, make_user: UserFactory, capi: httpx.Client
) -> None:
    ada, bob = make_user(), make_user()
    body = json.dumps(sample_request("flat")).encode()

    correlation_id = await producer.submit(body, bearer(ada))
    reply = await producer.reply(correlation_id)

    assert (reply["total_tasks"], reply["sub_batches"]) == (24, 3)
    job = capi.get(f"{JOBS}/{reply['job_id']}", headers=ada.headers)
    assert job.status_code == 200 and job.json()["total_tasks"] == 24
    assert capi.get(f"{JOBS}/{reply['job_id']}", headers=bob.headers).status_code == 404


def malformed_registry() -> dict[str, Any]:
    body = sample_request("flat")
    tasks = body["registry"]["tasks"]
    body["registry"]["tasks"] = [*tasks, tasks[0]]  # a duplicate task id
    return body


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("invalid token", "unauthorized: Invalid access token"),
        ("missing header", "unauthorized: Missing access token"),
        ("bad JSON", "body is not JSON"),
        ("malformed registry", "invalid job request"),
    ],
)
async def test_refused_submissions_are_dead_lettered_and_create_no_job(
    case: str, reason: str, producer: Producer, make_user: UserFactory, capi: httpx.Client
) -> None:
    user = make_user()
    headers: dict[str, Any] = bearer(user)
    body = json.dumps(sample_request("flat")).encode()
    if case == "invalid token":
        headers = {"authorization": f"Bearer {user.access_token[:-4]}AAAA"}
    elif case == "missing header":
        headers = {}
    elif case == "bad JSON":
        body = b"{'registry': "
    elif case == "malformed registry":
        body = json.dumps(malformed_registry()).encode()

    correlation_id = await producer.submit(body, headers)

    dead = await producer.dead_letter(correlation_id)
    assert str(dead.headers[REASON_HEADER]).startswith(reason)
    assert "error" in await producer.reply(correlation_id)
    # The consumer goes on: the next submission is taken.
    good = await producer.submit(json.dumps(sample_request("tree")).encode(), bearer(user))
    accepted = await producer.reply(good)
    assert [job["job_id"] for job in jobs_of(capi, user)] == [accepted["job_id"]]


async def test_a_redelivered_submission_creates_one_job(
    producer: Producer, make_user: UserFactory, capi: httpx.Client
) -> None:
    user = make_user()
    body = json.dumps(sample_request("flat")).encode()
    message_id, correlation_id = str(uuid.uuid4()), uuid.uuid4().hex

    first = await producer.reply(
        await producer.submit(
            body, bearer(user), message_id=message_id, correlation_id=correlation_id
        )
    )
    second = await producer.reply(
        await producer.submit(
            body, bearer(user), message_id=message_id, correlation_id=correlation_id
        )
    )

    assert second["job_id"] == first["job_id"]
    assert [job["job_id"] for job in jobs_of(capi, user)] == [first["job_id"]]


def test_the_documented_example_submits_a_job(
    contexts_stack: ContextsStack, make_user: UserFactory, capi: httpx.Client, tmp_path: Path
) -> None:
    user = make_user()
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "tree", project)

    done = subprocess.run(
        [
            sys.executable, str(REPO_ROOT / "docs" / "examples" / "submit_job.py"),
            ".claude_tasks/task_registry.json", "docs/prd.md", "docs/fullstack-architecture.md",
        ],
        cwd=project,
        env={**os.environ, "AMQP_URL": contexts_stack.env["AMQP_URL"],
             "ACCESS_TOKEN": user.access_token},
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert (reply["total_tasks"], reply["sub_batches"]) == (16, 2)
    job = capi.get(f"{JOBS}/{reply['job_id']}", headers=user.headers).json()
    assert job["total_tasks"] == 16 and job["skipped"] == 1
