"""Job submission over AMQP: the consumer of the queue ``contexts.jobs.submit``.

Outside systems publish the body of ``POST /api/v1/contexts/jobs`` to exchange
``contexts`` with routing key ``jobs.submit`` and the submitting user's access token in
the header ``authorization: Bearer <token>`` (docs/messaging.md). For each message:

1. read it: the token is verified exactly as for HTTP, the body decoded as a
   :class:`JobRequest`. A message that fails here is *rejected*: a copy (without the
   token) goes to ``contexts.jobs.submit.dead`` with the reason in ``x-death-reason``,
   the requester gets an error reply when it asked for one, the original is acked;
2. in one transaction, claim the message in ``contexts.processed_messages`` and run
   :func:`submit_job` (job, tasks, work messages and the accepted event); a body that
   intake refuses (``ValidationFailed``) rolls everything back and is rejected as above;
3. after the commit, answer ``{job_id, total_tasks, sub_batches}`` to ``reply_to`` with
   the message's ``correlation_id``, then ack. A redelivered copy (same user and
   ``message_id``) finds its claim, creates nothing and answers with the job the first
   copy made.

While the database does not answer, the message is held unacked and tried again in
process: a redelivery would count toward the delivery limit, and an outage must not
dead-letter valid submissions (held messages fill the prefetch window meanwhile). Any
other failure nacks it after a delay (doubling per delivery); the limit dead-letters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import msgspec
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.contexts.jobs_service import submit_job
from services.contexts.models import PROCESSED_MESSAGES
from services.contexts.queues import SUBMIT_EXCHANGE, SUBMIT_QUEUE, SUBMIT_ROUTING_KEY
from services.contexts.settings import ContextsSettings
from services.contexts.submit_message import (
    ERROR_REPLY_TYPE,
    REPLY_TYPE,
    Rejected,
    Reply,
    Submission,
    error_body,
    read_submission,
    rejection_reason,
)
from services.contexts.submit_settle import (
    MAX_RETRY_DELAY,
    RETRY_DELAY,
    dead_letter_without_token,
    earlier_reply,
    reply,
    retry_delay,
)
from shared.consumer.dead_letter import publish_dead_letter
from shared.consumer.delivery import consuming, settle, stop_consuming
from shared.consumer.processed import claim
from shared.db import database_check
from shared.errors import ValidationFailed
from shared.logging import request_id_var
from shared.messaging import (
    declare_exchanges,
    declare_work_queue,
    get_connection,
)
from shared.metrics import MESSAGES_CONSUMED
from shared.settings import CommonSettings
from shared.tokens import TokenVerifier

logger = logging.getLogger("contexts.submit")

CONSUMER = "contexts.submit"
# Submissions are heavy (a registry of up to 20,000 tasks): a few at a time per process.
PREFETCH = 4
START_RETRY_DELAY = 5.0


class SubmitConsumer:
    """Consumes ``contexts.jobs.submit`` until :meth:`stop`."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
        verifier: TokenVerifier,
        limits: ContextsSettings | None = None,
    ) -> None:
        self.connection = connection
        self.sessionmaker = sessionmaker
        self.verifier = verifier
        self._database_answers = database_check(sessionmaker)
        # The same limits as the HTTP API (registry and documents sizes, task count).
        self.limits = limits or ContextsSettings()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._dead_letters: AbstractExchange | None = None
        self._consumer_tag: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stop_requested = asyncio.Event()
        # The longest wait between two tries of a submission held during an outage.
        self.max_hold_delay = MAX_RETRY_DELAY

    @property
    def is_consuming(self) -> bool:
        return consuming(self._channel, self._consumer_tag, self._stopping)

    async def start(self) -> None:
        """Declare the exchange, the queue (with its dead-letter queue), bind, consume."""
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=PREFETCH)
        _, self._dead_letters = await declare_exchanges(channel)
        exchange = await channel.declare_exchange(
            SUBMIT_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await declare_work_queue(channel, SUBMIT_QUEUE)
        await self._queue.bind(exchange, routing_key=SUBMIT_ROUTING_KEY)
        self._channel = channel
        self._consumer_tag = await self._queue.consume(self._on_message)
        logger.info("consuming", extra={"queue": SUBMIT_QUEUE})

    async def stop(self, grace_period: float = 30.0) -> None:
        """Stop taking messages, let the ones in hand finish (commit, reply, ack), close."""
        self._stopping = True
        self._stop_requested.set()
        if self._queue is not None and self._consumer_tag is not None:
            await stop_consuming(self._queue, self._consumer_tag)
        await asyncio.sleep(0)
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=grace_period)
            for task in late:  # rolled back and not acked: the broker redelivers them
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await self._channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Handled in a task of our own: aiormq cancels its delivery tasks when a channel
        # dies, which must not interrupt a transaction half-way.
        if self._stopping:
            return  # left unacked: back to the queue when the channel closes
        MESSAGES_CONSUMED.labels(SUBMIT_QUEUE).inc()
        task = asyncio.create_task(self._handle(message))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        request_id_var.set(message.correlation_id or message.message_id or "-")
        try:
            await self._process(message)
        except Exception:  # never let one delivery take the consumer down
            logger.exception("unexpected error handling a submission")

    async def _process(self, message: AbstractIncomingMessage) -> None:
        try:
            # Decoding up to 16 MiB of JSON is CPU work: off the event loop.
            submission = await asyncio.to_thread(
                read_submission, message, self.verifier, self.limits.max_body_bytes
            )
            answer = await self._submit_when_possible(submission)
        except Rejected as exc:
            await self._reject(message, exc)
            return
        except _Stopping:
            return  # unacked: back to the queue when the channel closes
        except Exception:
            delay = retry_delay(message)
            logger.exception("submission failed; requeued after %.1fs", delay)
            await asyncio.sleep(delay)
            await settle(message.nack(requeue=True), "nack", SUBMIT_QUEUE)
            return
        if message.reply_to:
            try:
                await self._reply(message, msgspec.json.encode(answer), REPLY_TYPE)
            except Exception as exc:
                # The job is committed; the redelivered copy will answer with it.
                logger.warning("reply failed; requeued to answer again", extra={"error": repr(exc)})
                await asyncio.sleep(retry_delay(message))
                await settle(message.nack(requeue=True), "nack", SUBMIT_QUEUE)
                return
        await settle(message.ack(), "ack", SUBMIT_QUEUE)

    async def _submit_when_possible(self, submission: Submission) -> Reply:
        """:meth:`_submit`, tried again in process for as long as the database is down."""
        delay = RETRY_DELAY
        while True:
            try:
                return await self._submit(submission)
            except Rejected:
                raise
            except Exception as exc:
                if await self._database_answers():
                    raise  # not an outage: the broker's delivery limit bounds the retries
                if self._stopping:
                    raise _Stopping from exc
                logger.warning(
                    "database unavailable; submission held, retrying in %.1fs",
                    delay,
                    extra={"error": repr(exc)},
                )
            with contextlib.suppress(TimeoutError):  # woken early by stop()
                await asyncio.wait_for(self._stop_requested.wait(), delay)
            if self._stopping:
                raise _Stopping
            delay = min(delay * 2, self.max_hold_delay)

    async def _submit(self, submission: Submission) -> Reply:
        """Create the job (or find the one an earlier copy made) in one transaction."""
        async with self.sessionmaker() as session, session.begin():
            if not await claim(session, PROCESSED_MESSAGES, CONSUMER, submission.key):
                logger.info("duplicate submission", extra={"key": str(submission.key)})
                return await earlier_reply(session, submission)
            try:
                job = await submit_job(
                    session,
                    user_id=submission.user_id,
                    request=submission.request,
                    correlation_id=submission.correlation_id,
                    limits=self.limits,
                    submission_key=submission.key,
                )
            except ValidationFailed as exc:  # leaves the transaction: nothing is kept
                raise Rejected(rejection_reason(exc), error=exc) from exc
        logger.info("job submitted over AMQP", extra={"job_id": str(job.job_id)})
        return Reply(job_id=job.job_id, total_tasks=job.total_tasks, sub_batches=job.sub_batches)

    async def _reject(self, message: AbstractIncomingMessage, rejected: Rejected) -> None:
        """Dead-letter a copy without the token (confirmed), answer the error, ack."""
        logger.warning("submission dead-lettered", extra={"reason": rejected.reason})
        copy = dead_letter_without_token(message, rejected.reason)
        assert self._dead_letters is not None
        if not await publish_dead_letter(self._dead_letters, copy, SUBMIT_QUEUE):
            await asyncio.sleep(retry_delay(message))  # keep the original, try again later
            await settle(message.nack(requeue=True), "nack", SUBMIT_QUEUE)
            return
        if message.reply_to:
            with contextlib.suppress(Exception):  # the answer to a refusal is a courtesy
                await self._reply(message, error_body(rejected), ERROR_REPLY_TYPE)
        await settle(message.ack(), "ack", SUBMIT_QUEUE)

    async def _reply(self, message: AbstractIncomingMessage, body: bytes, kind: str) -> None:
        assert self._channel is not None
        await reply(self._channel, message, body, kind)


class _Stopping(Exception):
    """The consumer stops while a submission waits for the database."""


@contextlib.asynccontextmanager
async def submit_consumer(
    settings: CommonSettings, engine: AsyncEngine, verifier: TokenVerifier
) -> AsyncIterator[Callable[[], Awaitable[bool]]]:
    """Run the submit consumer for the duration of the block (the service's lifespan).

    The broker may be down when the service starts: the HTTP API must come up anyway,
    so the consumer starts in the background and retries until the broker answers.
    The block gets a readiness check: whether the consumer is consuming right now.
    """
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    holder: list[SubmitConsumer] = []

    async def start_when_possible() -> None:
        while True:
            consumer: SubmitConsumer | None = None
            try:
                connection = await get_connection(settings.amqp_url, name=settings.service_name)
                limits = settings if isinstance(settings, ContextsSettings) else None
                consumer = SubmitConsumer(connection, sessionmaker, verifier, limits)
                await consumer.start()
            except Exception as exc:
                logger.warning("submit consumer not started; retrying", extra={"error": repr(exc)})
                if consumer is not None:
                    await consumer.stop(grace_period=0)
                await asyncio.sleep(START_RETRY_DELAY)
                continue
            holder.append(consumer)
            return

    async def intake_consuming() -> bool:
        return bool(holder) and holder[0].is_consuming

    starter = asyncio.create_task(start_when_possible())
    try:
        yield intake_consuming
    finally:
        starter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starter
        if holder:
            await holder[0].stop()
