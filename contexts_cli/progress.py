"""Following a job until it finishes, with a live progress bar per sub-batch.

The job resource (``GET .../jobs/{id}``) is the truth about progress; the Server-Sent
Events of ``GET .../jobs/{id}/events`` say *when* it changed, so the CLI re-reads the job
when an event arrives (at most a few times per second, however fast the events come)
instead of polling. Should the stream break, the CLI falls back to polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from contexts_cli.gateway_client import CliError, Gateway

# The job statuses that change no more (unless the job is retried): the platform's
# published contract for ``GET /api/v1/contexts/jobs/{id}`` (docs/contexts.md, "status").
FINISHED_STATUSES = ("completed", "completed_with_errors", "failed")
REFRESH_INTERVAL = 0.25  # seconds between two reads of the job while events pour in
POLL_INTERVAL = 1.0  # without an event stream
# Above this many sub-batches only the ones in progress get a bar (plus the total).
ALL_BARS_UP_TO = 20


class ProgressView:
    """One bar for the whole job and one per sub-batch (the running ones, for big jobs)."""

    def __init__(self, console: Console, job: dict[str, Any]) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            transient=False,
        )
        total = int(job.get("total_tasks", 0))
        self.overall = self.progress.add_task("all tasks", total=total or 1, note="")
        self.batches: dict[int, TaskID] = {}
        self.show_all = int(job.get("sub_batches", 0)) <= ALL_BARS_UP_TO

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def update(self, job: dict[str, Any]) -> None:
        done, failed = int(job.get("done", 0)), int(job.get("failed", 0))
        note = f"[red]{failed} failed" if failed else ""
        self.progress.update(self.overall, completed=done + failed, note=note)
        for batch in job.get("batches") or []:
            self._update_batch(batch)

    def _update_batch(self, batch: dict[str, Any]) -> None:
        index, size = int(batch["index"]), int(batch["size"])
        finished = int(batch.get("done", 0)) + int(batch.get("failed", 0))
        running = 0 < finished < size
        if index not in self.batches:
            if not (self.show_all or running):
                return
            self.batches[index] = self.progress.add_task(f"sub-batch {index}", total=size, note="")
        failed = int(batch.get("failed", 0))
        self.progress.update(
            self.batches[index],
            completed=finished,
            note=f"[red]{failed} failed" if failed else "",
            visible=self.show_all or running,
        )


async def follow(
    gateway: Gateway, job_id: str, console: Console, *, patience: float
) -> dict[str, Any]:
    """Show the job's progress until it finishes; return its final state."""
    job = await gateway.job(job_id)
    if job["status"] in FINISHED_STATUSES:
        return job
    deadline = time.monotonic() + patience
    changed = asyncio.Event()
    with ProgressView(console, job) as view:
        view.update(job)
        listener = asyncio.create_task(_listen(gateway, job_id, changed))
        try:
            while job["status"] not in FINISHED_STATUSES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CliError(
                        f"job {job_id} still {job['status']} after {patience:.0f}s; "
                        "it goes on: run the command again later to collect the results"
                    )
                # Wake on an event, or poll when the stream is gone (or silent).
                wait = POLL_INTERVAL if listener.done() else min(remaining, 5.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), wait)
                changed.clear()
                job = await gateway.job(job_id)
                view.update(job)
                await asyncio.sleep(REFRESH_INTERVAL)  # coalesce bursts of events
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, CliError):
                await listener
    return job


async def _listen(gateway: Gateway, job_id: str, changed: asyncio.Event) -> None:
    """Set ``changed`` on every event of the job's stream, until the stream ends."""
    with contextlib.suppress(CliError):
        async for _ in gateway.events(job_id):
            changed.set()
    changed.set()  # the stream's end: the job finished (or the stream broke)
