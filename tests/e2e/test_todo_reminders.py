"""Due-date reminders end to end: two todos processes on one database fire each reminder
once, through the outbox, to the owner's live event stream at the gateway; completing or
deleting cancels, and a todo brought back after its reminder time sends none; changing the
time (due_at, remind_at or remind_before alone) re-arms; a reminder missed while the service
was down fires late; bad reminders are 400s. (A broker outage:
``test_todo_reminders_broker.py``.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.envelope import assert_validation_error, moment
from tests.support.event_stream import open_stream
from tests.support.metrics import scrape, value
from tests.support.reminders import (
    LAG_BOUND,
    ReminderStack,
    create,
    iso,
    listening,
    reminder_of,
    reminder_stack,
    reminders_within,
    seconds_until,
    soon,
)
from tests.support.stack import User, register_user
from tests.support.todos_api import TODOS, todo_url


@pytest.fixture(scope="module")
def reminders(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReminderStack]:
    with reminder_stack(service_env, tmp_path_factory.mktemp("reminder-logs"), 2) as stack:
        yield stack


def lag_of(event_body: dict[str, Any], arrived: float) -> float:
    _, remind_at = reminder_of(event_body)
    return arrived - remind_at.timestamp()


async def test_each_reminder_fires_once_within_the_bound(reminders: ReminderStack) -> None:
    async with listening(reminders.gateway.url) as (stream, api):
        at = soon(3)
        absolute = await create(api, title="Call Ana", remind_at=iso(at))
        relative = await create(
            api, title="Report", due_at=iso(at + timedelta(minutes=30)), remind_before="PT30M"
        )
        assert relative["remind_before"] == "PT30M"
        assert moment(relative["remind_at"]) == moment(absolute["remind_at"]) == at
        # Many due at once, for both replicas to race for.
        batch = [await create(api, title=f"Batch {n}", remind_at=iso(at)) for n in range(20)]
        events = await reminders_within(stream, 3 + LAG_BOUND + 3)  # and a few seconds after
    fired = [body["data"]["id"] for body, _ in events]
    expected = {absolute["id"], relative["id"], *(todo["id"] for todo in batch)}
    assert sorted(fired) == sorted(expected)  # each exactly once
    lags = [lag_of(body, arrived) for body, arrived in events]
    print(
        f"reminder lag (event on the stream - remind_at): max {max(lags):.3f}s, "
        f"min {min(lags):.3f}s over {len(lags)}"
    )
    assert max(lags) <= LAG_BOUND
    # Counted by the replica that fired each (this is the module's first test).
    samples = [sample for process in reminders.todos for sample in scrape(process.url)]
    assert value(samples, "todo_reminders_fired_total", late="false") == len(expected)
    assert value(samples, "todo_reminder_lag_seconds_count") == len(expected)
    first = next(body for body, _ in events if body["data"]["id"] == absolute["id"])
    assert first["data"] == {
        "id": absolute["id"],
        "number": absolute["number"],
        "title": "Call Ana",
        "due_at": None,
        "remind_at": first["data"]["remind_at"],
        "late": False,
    }


async def test_completing_or_deleting_cancels_and_reopening_re_arms(
    reminders: ReminderStack,
) -> None:
    async with listening(reminders.gateway.url) as (stream, api):
        at = soon(3)
        done, deleted, reopened, restored = [
            await create(api, title=title, remind_at=iso(at))
            for title in ("done", "deleted", "reopened", "restored")
        ]
        for todo in (done, reopened):
            assert (await api.post(todo_url(todo["id"], "complete"))).status_code == 200
        for todo in (deleted, restored):
            assert (await api.delete(todo_url(todo["id"]))).status_code == 204
        assert (await api.post(todo_url(reopened["id"], "reopen"))).status_code == 200
        assert (await api.post(todo_url(restored["id"], "restore"))).status_code == 200
        events = await reminders_within(stream, 3 + LAG_BOUND + 2)
    assert sorted(body["data"]["title"] for body, _ in events) == ["reopened", "restored"]


async def test_changing_the_time_re_arms_a_fired_reminder(reminders: ReminderStack) -> None:
    async with listening(reminders.gateway.url) as (stream, api):
        todo = await create(api, due_at=iso(soon(2) + timedelta(hours=1)), remind_before="PT1H")
        first = await reminders_within(stream, 2 + LAG_BOUND + 1)
        assert [body["data"]["id"] for body, _ in first] == [todo["id"]]
        moved = await api.patch(
            todo_url(todo["id"]), json={"due_at": iso(soon(2) + timedelta(hours=1))}
        )
        assert moved.status_code == 200, moved.text
        assert moment(moved.json()["remind_at"]) > moment(todo["remind_at"])
        again = await reminders_within(stream, 2 + LAG_BOUND + 2)
    assert [body["data"]["id"] for body, _ in again] == [todo["id"]]
    assert moment(again[0][0]["data"]["remind_at"]) == moment(moved.json()["remind_at"])


async def test_a_reminder_due_while_the_service_was_down_fires_late_after_a_start(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    with reminder_stack(service_env, tmp_path_factory.mktemp("reminder-late"), 2) as stack:
        user = register_user(stack.gateway.url)
        async with httpx.AsyncClient(base_url=stack.gateway.url, headers=user.headers) as api:
            todo = await create(api, remind_at=iso(soon(5)))
        stack.stop_todos()  # every todos process of the database
        # Past remind_at by more than the lateness threshold (5 s).
        await asyncio.sleep(moment(todo["remind_at"]).timestamp() + 7 - time.time())
        async with open_stream(stack.gateway.url, user.headers) as stream:
            started_after = await asyncio.to_thread(stack.start_todos)
            events = await reminders_within(stream, 8)
            late_counted = value(
                scrape(started_after.url), "todo_reminders_fired_total", late="true"
            )
    assert len(events) == 1
    data, _ = reminder_of(events[0][0])
    assert data["id"] == todo["id"] and data["late"] is True
    assert late_counted == 1


async def test_a_todo_brought_back_after_its_reminder_time_sends_no_reminder(
    reminders: ReminderStack,
) -> None:
    async with listening(reminders.gateway.url) as (stream, api):
        at = soon(5)  # room for five requests on a loaded machine
        kept, reopened, restored = [
            await create(api, title=title, remind_at=iso(at))
            for title in ("kept", "reopened", "restored")
        ]
        assert (await api.post(todo_url(reopened["id"], "complete"))).status_code == 200
        assert (await api.delete(todo_url(restored["id"]))).status_code == 204
        # Their time passes while they are away; the one left pending fires meanwhile.
        passed = await reminders_within(stream, seconds_until(at) + LAG_BOUND)
        assert [body["data"]["id"] for body, _ in passed] == [kept["id"]]
        back = await api.post(todo_url(reopened["id"], "reopen"))
        assert back.status_code == 200 and back.json()["status"] == "pending"
        assert (await api.post(todo_url(restored["id"], "restore"))).status_code == 200
        # Not sent late: the scheduler polls every 0.5 s, so this is several rounds.
        after = await reminders_within(stream, LAG_BOUND + 1)
    assert after == []


async def test_changing_only_the_reminder_re_arms_it_and_its_event_carries_due_at(
    reminders: ReminderStack,
) -> None:
    async with listening(reminders.gateway.url) as (stream, api):
        at = soon(4)
        due = at + timedelta(hours=1)
        absolute = await create(api, title="Absolute", due_at=iso(due), remind_at=iso(at))
        relative = await create(api, title="Relative", due_at=iso(due), remind_before="PT1H")
        first = await reminders_within(stream, seconds_until(at) + LAG_BOUND + 1)
        assert sorted(body["data"]["id"] for body, _ in first) == sorted(
            [absolute["id"], relative["id"]]
        )
        for body, _ in first:
            todo = absolute if body["data"]["id"] == absolute["id"] else relative
            assert_reminder_data(body["data"], todo)

        # Fired; now only remind_at of one, only remind_before of the other, moves ahead.
        again_at = soon(3)
        moved_at = await api.patch(todo_url(absolute["id"]), json={"remind_at": iso(again_at)})
        ahead = int((due - again_at).total_seconds())  # the reminder about 3 s from now
        moved_before = await api.patch(
            todo_url(relative["id"]), json={"remind_before": f"PT{ahead}S"}
        )
        for response in (moved_at, moved_before):
            assert response.status_code == 200, response.text
            assert moment(response.json()["due_at"]) == due  # unchanged
        again = await reminders_within(stream, seconds_until(again_at) + LAG_BOUND + 2)
    assert sorted(body["data"]["id"] for body, _ in again) == sorted(
        [absolute["id"], relative["id"]]
    )  # each once more, and once only
    for body, _ in again:
        moved = moved_at if body["data"]["id"] == absolute["id"] else moved_before
        assert_reminder_data(body["data"], moved.json())


def assert_reminder_data(data: dict[str, Any], todo: dict[str, Any]) -> None:
    """The data of a reminder event, every field, against the todo as the API returned it."""
    assert data == {
        "id": todo["id"],
        "number": todo["number"],
        "title": todo["title"],
        "due_at": data["due_at"],
        "remind_at": data["remind_at"],
        "late": False,
    }
    assert isinstance(data["due_at"], str) and isinstance(data["remind_at"], str)
    assert moment(data["due_at"]) == moment(todo["due_at"])
    assert moment(data["remind_at"]) == moment(todo["remind_at"])


# --- what is refused, what reads back ----------------------------------------------------


@pytest.fixture
def api(reminders: ReminderStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reminders.gateway.url, timeout=10) as client:
        yield client


@pytest.fixture
def user(reminders: ReminderStack) -> User:
    return register_user(reminders.gateway.url)


def pending_recurring(api: httpx.Client, user: User) -> list[dict[str, Any]]:
    params = {"recurring": "true", "status": "pending"}
    return api.get(TODOS, params=params, headers=user.headers).json()["items"]


def later(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"remind_before": "PT30M", "remind_at": "later"}, "remind_at", "pick one"),
        ({"remind_before": "PT30M", "due_at": None}, "remind_before", "needs a due_at"),
        ({"remind_at": "past"}, "remind_at", "in the future"),
        ({"remind_before": "P2D"}, "remind_before", "in the past"),
        ({"remind_before": "30 minutes"}, "remind_before", "ISO 8601 duration"),
        ({"remind_before": "P1M"}, "remind_before", "years and months"),
        ({"remind_before": "P367D"}, "remind_before", "366 days"),
        ({"remind_before": "P99999999W"}, "remind_before", "366 days"),
        ({"remind_before": "PT0S"}, "remind_before", "longer than zero"),
        ({"remind_before": "P" + "9" * 60 + "D"}, "remind_before", "remind_before"),
    ],
)
def test_a_bad_reminder_is_a_validation_error(api, user, fields, field, message):
    values = {"later": later(hours=1), "past": later(seconds=-5)}
    body = {"title": "Refused", "due_at": later(days=1)}
    body.update({k: values.get(v, v) if isinstance(v, str) else v for k, v in fields.items()})
    created = api.post(TODOS, json=body, headers=user.headers)
    assert_validation_error(created, field)
    assert message in created.text
    todo = api.post(TODOS, json={"title": "Patched", "due_at": later(days=1)}, headers=user.headers)
    changes = {k: v for k, v in body.items() if k != "title"}
    patched = api.patch(todo_url(todo.json()["id"]), json=changes, headers=user.headers)
    assert_validation_error(patched, field)


def test_the_reminder_reads_back_and_follows_a_recurring_todo(api, user):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    body = {
        "title": "Water the plants",
        "due_at": iso(due),
        "remind_before": "PT90M",
        "recurrence": "FREQ=DAILY",
    }
    todo = api.post(TODOS, json=body, headers=user.headers).json()
    assert todo["remind_before"] == "PT1H30M"
    assert moment(todo["remind_at"]) == due - timedelta(minutes=90)
    assert api.get(todo_url(todo["id"]), headers=user.headers).json() == todo

    skipped = api.post(todo_url(todo["id"], "skip"), headers=user.headers).json()
    assert moment(skipped["remind_at"]) == moment(skipped["due_at"]) - timedelta(minutes=90)

    api.post(todo_url(todo["id"], "complete"), headers=user.headers)
    following = pending_recurring(api, user)
    assert len(following) == 1 and following[0]["remind_before"] == "PT1H30M"
    assert moment(following[0]["remind_at"]) == moment(following[0]["due_at"]) - timedelta(
        minutes=90
    )

    absolute = api.patch(
        todo_url(following[0]["id"]),
        json={"remind_before": None, "remind_at": later(hours=1)},
        headers=user.headers,
    ).json()
    assert absolute["remind_before"] is None and absolute["remind_at"]
    api.post(todo_url(following[0]["id"], "complete"), headers=user.headers)
    (third,) = pending_recurring(api, user)
    assert third["remind_before"] is None and third["remind_at"] is None

    cleared = api.patch(todo_url(third["id"]), json={"remind_at": None}, headers=user.headers)
    assert cleared.status_code == 200 and cleared.json()["remind_at"] is None
