"""Submit a context-generation job over AMQP with a plain aio-pika client and wait for the reply.

Run it from your project's root:

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672/todo_platform ACCESS_TOKEN=<access token> \
        python submit_job.py .claude_tasks/task_registry.json docs/prd.md docs/fullstack-architecture.md

The first argument is the registry, the others are the documents its ``spec_refs`` point to
(sent under the path given, so give them relative to the project root). It prints the
service's answer, ``{"job_id": ..., "total_tasks": ..., "sub_batches": ...}``; follow the
job over HTTP (``GET /api/v1/contexts/jobs/{job_id}``) with the same access token.
Exit code 0 when the job was accepted, 1 when it was refused (the reason is printed).
"""

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import aio_pika

# Direct reply-to: RabbitMQ's pseudo queue for answers; nothing to declare or clean up.
REPLY_TO = "amq.rabbitmq.reply-to"


async def submit(amqp_url: str, token: str, body: dict, timeout: float = 60.0) -> dict:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        # Consume the reply pseudo queue (no acks) *before* publishing the request.
        replies = await channel.get_queue(REPLY_TO, ensure=False)
        correlation_id = uuid.uuid4().hex
        answer: asyncio.Future = asyncio.get_running_loop().create_future()

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            if message.correlation_id == correlation_id and not answer.done():
                answer.set_result(json.loads(message.body))

        await replies.consume(on_reply, no_ack=True)

        # The exchange is declared by the contexts service; declaring it with the same
        # arguments is harmless and makes the example independent of start-up order.
        exchange = await channel.declare_exchange(
            "contexts", aio_pika.ExchangeType.TOPIC, durable=True
        )
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            # A redelivered copy with the same message_id never makes a second job.
            message_id=str(uuid.uuid4()),
            correlation_id=correlation_id,
            reply_to=REPLY_TO,
            headers={"authorization": f"Bearer {token}"},
        )
        # mandatory: if no queue is bound (the service never ran), the publish fails.
        await exchange.publish(message, routing_key="jobs.submit", mandatory=True)
        return await asyncio.wait_for(answer, timeout)


def main() -> int:
    if len(sys.argv) < 2 or "ACCESS_TOKEN" not in os.environ:
        print(__doc__, file=sys.stderr)
        return 2
    registry_path, *document_paths = sys.argv[1:]
    body = {
        "registry": json.loads(Path(registry_path).read_text(encoding="utf-8")),
        "documents": {path: Path(path).read_text(encoding="utf-8") for path in document_paths},
        "options": {"generator": "template", "regenerate": False},
    }
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/todo_platform")
    reply = asyncio.run(submit(amqp_url, os.environ["ACCESS_TOKEN"], body))
    print(json.dumps(reply))
    return 1 if "error" in reply else 0


if __name__ == "__main__":
    sys.exit(main())
