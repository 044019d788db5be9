"""Following a job while it runs (the event stream), and retrying the tasks that failed."""

from __future__ import annotations

import io
import tarfile
import threading
from typing import Any

import httpx

from tests.support.contexts import (
    JOBS,
    flat_registry,
    iter_events,
    iter_frames,
    submit,
    wait_finished,
)
from tests.support.stack import UserFactory


def test_events_arrive_while_the_job_runs(
    capi: httpx.Client, make_user: UserFactory, needs_worker: None
) -> None:
    user, total = make_user(), 300
    job_id = submit(capi, user, {"registry": flat_registry(total)}).json()["job_id"]
    events: list[tuple[str, Any]] = []
    status_when_first_task_arrived: list[str] = []

    def follow() -> None:
        with httpx.Client(base_url=str(capi.base_url), timeout=120) as client:
            for event in iter_events(client, user, job_id):
                events.append(event)

    reader = threading.Thread(target=follow)
    reader.start()
    while not events and reader.is_alive():
        reader.join(0.05)
    if events:
        job = capi.get(f"{JOBS}/{job_id}", headers=user.headers).json()
        status_when_first_task_arrived.append(job["status"])
    reader.join(120)
    assert not reader.is_alive(), "the stream did not end with the job"
    names = [name for name, _ in events]
    assert names.count("task") == total and names.count("batch") == total // 10
    assert names[-1] == "job" and events[-1][1]["status"] == "completed"
    # The stream was live: it delivered progress before the job had finished.
    assert status_when_first_task_arrived and status_when_first_task_arrived[0] in (
        "queued",
        "running",
    )
    dones = [data["done"] for name, data in events if name == "task"]
    assert dones == list(range(1, total + 1))


def test_failed_tasks_can_be_retried_once_the_job_has_finished(
    capi: httpx.Client, make_user: UserFactory, needs_worker: None
) -> None:
    """The stack's worker has no model, so ``llm`` tasks fail (with the reason)."""
    user = make_user()
    body = {"registry": flat_registry(3), "options": {"generator": "llm"}}
    job_id = submit(capi, user, body).json()["job_id"]
    url = f"{JOBS}/{job_id}"
    job = wait_finished(capi, user, job_id)
    assert (job["status"], job["done"], job["failed"]) == ("completed_with_errors", 0, 3)
    items = capi.get(f"{url}/contexts", headers=user.headers).json()["items"]
    assert {item["status"] for item in items} == {"failed"}
    assert all(item["error"] for item in items)
    summary = capi.get(f"{url}/summary", headers=user.headers).text
    assert "Contexts generated: 0/3" in summary and "Failed tasks (3):" in summary
    registry = capi.get(f"{url}/registry", headers=user.headers).json()
    assert {task["status"] for task in registry["tasks"]} == {"ready"}  # nothing generated
    archive = capi.get(f"{url}/archive", headers=user.headers)
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as unpacked:
        assert [m.name for m in unpacked.getmembers() if m.isfile()] == [
            ".claude_tasks/task_registry.json"
        ]
    frames = list(iter_frames(capi, user, job_id))
    assert [name for name, _, _ in frames] == ["task"] * 3 + ["batch", "job"]
    assert frames[-1][2]["status"] == "completed_with_errors"
    first_final_id = frames[-1][1]

    retried = capi.post(f"{url}/retry", headers=user.headers)
    assert retried.status_code == 202, retried.text
    assert (retried.json()["status"], retried.json()["failed"]) == ("running", 0)
    # Running again (each attempt waits its backoff, seconds): its failures are not final.
    assert capi.post(f"{url}/retry", headers=user.headers).status_code == 409
    job = wait_finished(capi, user, job_id)  # the tasks ran again (and failed again)
    assert (job["status"], job["failed"]) == ("completed_with_errors", 3)
    # A browser that saw the first run's end is not told "nothing more": the job ran again,
    # and its stream tells the second run, each failed task once.
    stale = {**user.headers, "Last-Event-ID": first_final_id}
    assert capi.get(f"{url}/events", headers=stale).status_code == 200
    frames = list(iter_frames(capi, user, job_id))
    assert [name for name, _, _ in frames] == ["task"] * 3 + ["batch", "job"]
    assert sorted(data["task_id"] for name, _, data in frames if name == "task") == sorted(
        item["task_id"] for item in items
    )
    assert frames[-1][2] == {**frames[-1][2], "status": "completed_with_errors", "failed": 3}
    assert frames[-1][1] != first_final_id
    told_all = {**user.headers, "Last-Event-ID": frames[-1][1]}
    assert capi.get(f"{url}/events", headers=told_all).status_code == 204
