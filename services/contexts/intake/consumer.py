"""Job submission over AMQP: the subscription of the queue ``contexts.jobs.submit``.

Outside systems publish the body of ``POST /api/v1/contexts/jobs`` to exchange
``contexts`` with routing key ``jobs.submit`` and the submitting user's access token in
the header ``authorization: Bearer <token>`` (docs/messaging.md). It runs on the one
consumer runtime (``shared.consumer``), a few submissions at a time; for each message:

1. read it: the token is verified exactly as for HTTP, the body decoded as a
   :class:`JobRequest` (off the event loop: up to 16 MiB of JSON). A message that fails
   here is *rejected*: a copy without the token goes to ``contexts.jobs.submit.dead``
   with the reason in ``x-death-reason``, the requester gets an error reply when it
   asked for one, the original is acked;
2. in one transaction, claim the message in ``contexts.processed_messages`` and run
   :func:`submit_job` (job, tasks, work messages and the accepted event); a body that
   intake refuses (``ValidationFailed``) rolls everything back and is rejected as above;
3. after the commit, answer ``{job_id, total_tasks, sub_batches}`` to ``reply_to`` with
   the message's ``correlation_id``, then ack. A redelivered copy (same user and
   ``message_id``) finds its claim, creates nothing and answers with the job the first
   copy made.

While the database does not answer, the message is held unacked and tried again in
process (the runtime's dependency check): an outage must not dead-letter valid
submissions. Any other failure sends it back after a delay (doubling per delivery); the
queue's delivery limit dead-letters it.
"""

from __future__ import annotations

import asyncio
import logging

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.contexts.intake.message import (
    AUTHORIZATION_HEADER,
    ERROR_REPLY_TYPE,
    REPLY_TYPE,
    Rejected,
    Reply,
    Submission,
    error_body,
    read_submission,
    rejection_reason,
)
from services.contexts.intake.settle import (
    MAX_RETRY_DELAY,
    RETRY_DELAY,
    earlier_reply,
    reply,
    retry_delay,
)
from services.contexts.intake.submission import submit_job
from services.contexts.models import PROCESSED_MESSAGES
from services.contexts.queues import SUBMIT_EXCHANGE, SUBMIT_QUEUE, SUBMIT_ROUTING_KEY
from services.contexts.settings import ContextsSettings
from shared.consumer import Delivery, Policy, Refused, Retries, Subscription, claim
from shared.db import database_check, make_sessionmaker
from shared.errors import ValidationFailed
from shared.messaging import MalformedMessage, declare_work_queue
from shared.platform import Broker
from shared.tokens import TokenVerifier

logger = logging.getLogger("contexts.submit")

CONSUMER = "contexts.submit"
# Submissions are heavy (a registry of up to 20,000 tasks): a few at a time per process.
CONCURRENT_SUBMISSIONS = 4


def submit_subscription(
    settings: ContextsSettings,
    engine: AsyncEngine,
    verifier: TokenVerifier,
    broker: Broker,
) -> Subscription:
    intake = Intake(settings, make_sessionmaker(engine), verifier, broker)
    return Subscription(
        SUBMIT_QUEUE,
        intake.handle,
        intake.read,
        declare_submit_queue,
        Policy(
            concurrency=CONCURRENT_SUBMISSIONS,
            retry_delay=RETRY_DELAY,
            max_retry_delay=MAX_RETRY_DELAY,
            dependency_up=database_check(engine),
            redact_headers=(AUTHORIZATION_HEADER,),
        ),
        on_refused=answer_refusal,
    )


async def declare_submit_queue(channel: AbstractChannel) -> AbstractQueue:
    """The exchange, the queue (with its dead-letter queue) and the binding."""
    exchange = await channel.declare_exchange(
        SUBMIT_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await declare_work_queue(channel, SUBMIT_QUEUE)
    await queue.bind(exchange, routing_key=SUBMIT_ROUTING_KEY)
    return queue


async def answer_refusal(
    channel: AbstractChannel, message: AbstractIncomingMessage, refused: MalformedMessage
) -> None:
    """The requester's error reply to a rejected submission (when it asked for answers)."""
    if message.reply_to:
        rejected = refused if isinstance(refused, Refused) else Rejected(refused.reason)
        await reply(channel, message, error_body(rejected), ERROR_REPLY_TYPE)


class Intake:
    """Reads submit messages and creates their jobs."""

    def __init__(
        self,
        settings: ContextsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        verifier: TokenVerifier,
        broker: Broker,
    ) -> None:
        # The same limits as the HTTP API (registry and documents sizes, task count).
        self.limits = settings
        self.sessionmaker = sessionmaker
        self.verifier = verifier
        self.broker = broker
        self._replies: AbstractChannel | None = None

    async def read(self, message: AbstractIncomingMessage) -> Delivery:
        submission = await asyncio.to_thread(
            read_submission, message, self.verifier, self.limits.max_body_bytes
        )
        return Delivery(message, submission)

    async def handle(self, deliveries: list[Delivery]) -> Retries:
        retries: dict[Delivery, float] = {}
        for delivery in deliveries:
            answer = await self._submit(delivery.data)
            message = delivery.message
            if not message.reply_to:
                continue
            try:
                await reply(await self._channel(), message, msgspec.json.encode(answer), REPLY_TYPE)
            except Exception as exc:
                # The job is committed; the redelivered copy will answer with it.
                logger.warning("reply failed; requeued to answer again", extra={"error": repr(exc)})
                retries[delivery] = retry_delay(message)
        return retries

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

    async def _channel(self) -> AbstractChannel:
        """The channel answers go out on (the broker's connection, opened on first use)."""
        if self._replies is None or self._replies.is_closed:
            self._replies = await (await self.broker.connection()).channel()
        return self._replies
