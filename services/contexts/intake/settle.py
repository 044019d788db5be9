"""Helpers of the submit consumer: finding an earlier copy's job, the delay before a
failed delivery is tried again, and answering ``reply_to``."""

from __future__ import annotations

import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.intake.message import Rejected, Reply, Submission
from services.contexts.models import JobModel
from shared.consumer.delivery import previous_deliveries, redelivery_delay
from shared.messaging import CONTENT_TYPE, CORRELATION_HEADER

logger = logging.getLogger("contexts.submit")

CONFIRM_TIMEOUT = 10.0
RETRY_DELAY, MAX_RETRY_DELAY = 1.0, 30.0


async def earlier_reply(session: AsyncSession, submission: Submission) -> Reply:
    """The job an earlier copy of the message created, found by its claim key.

    The claim and the job are written in one transaction, so the job is there unless it
    was deleted since; a copy that can no longer be answered is refused, never dropped
    without a word."""
    row = (
        await session.execute(
            select(JobModel.id, JobModel.total_tasks, JobModel.sub_batches).where(
                JobModel.user_id == submission.user_id,
                JobModel.submission_key == submission.key,
            )
        )
    ).first()
    if row is None:
        raise Rejected("duplicate message_id: the job of the earlier message no longer exists")
    return Reply(job_id=row.id, total_tasks=row.total_tasks, sub_batches=row.sub_batches)


def retry_delay(message: AbstractIncomingMessage) -> float:
    """The wait before a delivery that failed goes back to the queue (doubling per
    delivery: the broker counts them toward the queue's delivery limit)."""
    return redelivery_delay(previous_deliveries(message), RETRY_DELAY, MAX_RETRY_DELAY)


async def reply(
    channel: AbstractChannel, message: AbstractIncomingMessage, body: bytes, kind: str
) -> None:
    assert message.reply_to
    answer = aio_pika.Message(
        body,
        content_type=CONTENT_TYPE,
        correlation_id=message.correlation_id,
        headers={CORRELATION_HEADER: message.correlation_id or ""},
        type=kind,
    )
    # Default exchange, routing key = the reply queue (a named queue or the direct
    # reply-to pseudo queue ``amq.rabbitmq.reply-to.<...>`` of the requester).
    await channel.default_exchange.publish(
        answer, message.reply_to, mandatory=False, timeout=CONFIRM_TIMEOUT
    )
