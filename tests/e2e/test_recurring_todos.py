"""Recurring todos end to end, through the gateway: a rule and its zone, the next occurrence
created on completion (once, however often and concurrently completed), the end of a
series (COUNT, UNTIL), skipping, stopping, the list's `overdue` and `recurring` filters, and
the event of a new occurrence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.envelope import assert_error, assert_validation_error, moment
from tests.support.rabbit import Vhost
from tests.support.stack import Stack, User, UserFactory
from tests.support.todo_events import events_of, todo_event_queue
from tests.support.todos_api import TODOS, create_todo, get_todo, list_items, list_page, todo_url

BERLIN = ZoneInfo("Europe/Berlin")
WEEKLY_MONDAY = "FREQ=WEEKLY;BYDAY=MO"
MONDAY_9_BERLIN = "2030-01-07T09:00:00+01:00"  # a Monday


def post(api: httpx.Client, user: User, url: str, **headers: str) -> dict[str, Any]:
    response = api.post(url, headers={**user.headers, **headers})
    assert response.status_code == 200, response.text
    return response.json()


def create_weekly(api: httpx.Client, user: User, **fields: Any) -> dict[str, Any]:
    """Every Monday at 09:00 in Berlin, from 2030-01-07."""
    body = {"title": "Weekly review", "due_at": MONDAY_9_BERLIN, "recurrence": WEEKLY_MONDAY}
    body.update(time_zone="Europe/Berlin", **fields)
    response = api.post(TODOS, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def next_occurrences(api: httpx.Client, user: User) -> list[dict[str, Any]]:
    """The user's todos that completing another one created."""
    return [todo for todo in list_items(api, user) if todo["recurred_from"]]


# --- create ----------------------------------------------------------------------------


def test_a_recurring_todo_repeats_in_the_zone_of_x_timezone(api, make_user):
    user = make_user()
    response = api.post(
        TODOS,
        json={"title": "Standup", "due_at": MONDAY_9_BERLIN, "recurrence": "rrule:freq=weekly"},
        headers={**user.headers, "X-Timezone": "Europe/Berlin"},
    )
    assert response.status_code == 201, response.text
    todo = response.json()
    assert todo["recurrence"] == "FREQ=WEEKLY"
    assert todo["time_zone"] == "Europe/Berlin"
    assert todo["recurred_from"] is None
    assert get_todo(api, user, todo["id"]) == todo

    given = create_todo(
        api, user, due_at=MONDAY_9_BERLIN, recurrence="FREQ=DAILY", time_zone="Asia/Tokyo"
    )
    assert given["time_zone"] == "Asia/Tokyo"
    for header in ({}, {"X-Timezone": "Not/AZone"}):
        response = api.post(
            TODOS,
            json={"title": "UTC", "due_at": MONDAY_9_BERLIN, "recurrence": "FREQ=DAILY"},
            headers={**user.headers, **header},
        )
        assert response.status_code == 201, response.text
        assert response.json()["time_zone"] == "UTC"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"recurrence": "FREQ=DAILY", "due_at": None}, "due_at", "needed by a recurring todo"),
        ({"recurrence": "FREQ=DAILY;BYHOUR=9"}, "recurrence", "BYHOUR is not supported"),
        ({"recurrence": "FREQ=DAILY;INTERVAL=0"}, "recurrence", "INTERVAL must be a positive"),
        ({"recurrence": "FREQ=HOURLY"}, "recurrence", "FREQ=HOURLY is not supported"),
        ({"recurrence": "FREQ=DAILY;UNTIL=20200101T000000Z"}, "recurrence", "UNTIL lies before"),
        ({"recurrence": "FREQ=DAILY;" + "X" * 500}, "recurrence", "500"),
        ({"recurrence": "FREQ=DAILY\u0000"}, "recurrence", "NUL"),
        ({"recurrence": "FREQ=DAILY", "due_at": "2200-01-01T00:00:00Z"}, "due_at", "100 years"),
        ({"recurrence": "FREQ=DAILY", "time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
        ({"recurrence": "FREQ=DAILY", "time_zone": "../../etc"}, "time_zone", "regex"),
    ],
)
def test_a_recurring_todo_is_refused_without_due_at_or_with_a_bad_rule_or_zone(
    api, make_user, fields, field, message
):
    user = make_user()
    body = {"title": "Refused", "due_at": MONDAY_9_BERLIN, **fields}
    response = api.post(TODOS, json=body, headers=user.headers)
    assert_validation_error(response, field)
    assert message in response.text
    assert list_items(api, user) == []


# --- completing ------------------------------------------------------------------------


def test_completing_creates_the_next_occurrence_once(api, make_user):
    user = make_user()
    first = create_weekly(api, user, description="Notes", priority="high", tags=["work"])

    done = post(api, user, todo_url(first["id"], "complete"))
    assert done["status"] == "completed"

    first_done, following = list_items(api, user, sort="created_at")
    assert first_done["id"] == first["id"]
    assert following["recurred_from"] == first["id"]
    assert following["number"] == first["number"] + 1
    assert following["status"] == "pending" and following["completed_at"] is None
    same = ("title", "description", "priority", "tags", "recurrence", "time_zone")
    assert {k: following[k] for k in same} == {k: first[k] for k in same}
    assert moment(following["due_at"]) == datetime(2030, 1, 14, 9, tzinfo=BERLIN)

    # Completing again, or reopening and completing, never makes a second one.
    post(api, user, todo_url(first["id"], "complete"))
    post(api, user, todo_url(first["id"], "reopen"))
    post(api, user, todo_url(first["id"], "complete"))
    assert len(list_items(api, user)) == 2


def test_completing_by_patch_creates_the_next_occurrence_too(api, make_user):
    user = make_user()
    first = create_weekly(api, user)
    response = api.patch(todo_url(first["id"]), json={"status": "completed"}, headers=user.headers)
    assert response.status_code == 200, response.text
    following = next_occurrences(api, user)
    assert [moment(todo["due_at"]) for todo in following] == [
        datetime(2030, 1, 14, 9, tzinfo=BERLIN)
    ]


def test_an_overdue_daily_task_is_followed_by_one_in_the_future(api, make_user):
    user = make_user()
    now = datetime.now(UTC)
    due = (now - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    first = create_todo(api, user, due_at=due.isoformat(), recurrence="FREQ=DAILY")
    post(api, user, todo_url(first["id"], "complete"))

    (following,) = next_occurrences(api, user)
    expected = due + timedelta(days=(now - due).days + 1)
    assert moment(following["due_at"]) == expected
    assert now < expected <= now + timedelta(days=1)


async def test_concurrent_completes_create_exactly_one_next_occurrence(
    stack: Stack, make_user: UserFactory
):
    user = make_user()
    async with httpx.AsyncClient(
        base_url=stack.gateway.url, headers=user.headers, timeout=30
    ) as client:
        body = {"title": "Once", "due_at": MONDAY_9_BERLIN, "recurrence": WEEKLY_MONDAY}
        first = (await client.post(TODOS, json=body)).json()
        url = todo_url(first["id"])

        completes = await asyncio.gather(*(client.post(f"{url}/complete") for _ in range(10)))
        assert [r.status_code for r in completes] == [200] * 10

        async def reopen_and_complete() -> None:
            for action in ("reopen", "complete"):
                response = await client.post(f"{url}/{action}")
                assert response.status_code == 200, response.text

        await asyncio.gather(*(reopen_and_complete() for _ in range(10)))
        listed = (await client.get(TODOS, params={"limit": 100})).json()["items"]
    assert len(listed) == 2
    assert [todo["recurred_from"] for todo in listed].count(first["id"]) == 1


def test_count_ends_the_series(api, make_user):
    user = make_user()
    first = create_weekly(api, user, recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=2")
    post(api, user, todo_url(first["id"], "complete"))
    (second,) = next_occurrences(api, user)

    post(api, user, todo_url(second["id"], "complete"))

    assert len(list_items(api, user)) == 2
    assert list_items(api, user, status="pending") == []


@pytest.mark.parametrize(
    ("until", "dues"),
    [
        # Inclusive: 2030-01-14 09:00 in Berlin is 08:00Z, the series' last occurrence.
        ("UNTIL=20300114T080000Z", [(2030, 1, 7), (2030, 1, 14)]),
        ("UNTIL=20300114T075959Z", [(2030, 1, 7)]),  # a second before it: the first only
        ("UNTIL=20300120", [(2030, 1, 7), (2030, 1, 14)]),  # a date: a day in Berlin
    ],
)
def test_until_ends_the_series(api, make_user, until, dues):
    user = make_user()
    expected = [datetime(*day, 9, tzinfo=BERLIN) for day in dues]
    todo = create_weekly(api, user, recurrence=f"{WEEKLY_MONDAY};{until}")
    series = [todo]
    while True:
        if len(series) == len(expected):  # the last one: nothing further to skip to
            refused = api.post(todo_url(todo["id"], "skip"), headers=user.headers)
            assert_validation_error(refused, "todo_id")
            assert "no further occurrence" in refused.text
        post(api, user, todo_url(todo["id"], "complete"))
        pending = list_items(api, user, status="pending")
        if not pending:
            break
        assert len(series) < len(expected), f"an occurrence after UNTIL: {pending}"
        (todo,) = pending
        assert todo["recurred_from"] == series[-1]["id"]
        assert todo["recurrence"] == series[0]["recurrence"]
        series.append(todo)
    assert [moment(todo["due_at"]) for todo in series] == expected
    assert len(list_items(api, user)) == len(expected)  # every one completed, none more


# --- skipping and stopping -------------------------------------------------------------


def test_skip_moves_the_due_date_to_the_next_occurrence(api, make_user):
    user = make_user()
    first = create_weekly(api, user)

    skipped = post(api, user, todo_url(first["id"], "skip"), **{"If-Match": '"1"'})

    assert moment(skipped["due_at"]) == datetime(2030, 1, 14, 9, tzinfo=BERLIN)
    assert skipped["status"] == "pending" and skipped["version"] == 2
    assert len(list_items(api, user)) == 1
    stale = api.post(todo_url(first["id"], "skip"), headers={**user.headers, "If-Match": '"1"'})
    assert_error(stale, 412, "VERSION_CONFLICT")
    # The series keeps its rhythm: completing the moved one gives the Monday after.
    post(api, user, todo_url(first["id"], "complete"))
    (following,) = next_occurrences(api, user)
    assert moment(following["due_at"]) == datetime(2030, 1, 21, 9, tzinfo=BERLIN)


def test_skip_is_refused_for_a_todo_that_does_not_recur_is_done_or_whose_series_ended(
    api, make_user
):
    user = make_user()
    plain = create_todo(api, user, due_at=MONDAY_9_BERLIN)
    response = api.post(todo_url(plain["id"], "skip"), headers=user.headers)
    assert_validation_error(response, "todo_id")
    assert "does not recur" in response.text

    done = create_weekly(api, user)
    post(api, user, todo_url(done["id"], "complete"))
    response = api.post(todo_url(done["id"], "skip"), headers=user.headers)
    assert_validation_error(response, "todo_id")
    assert "is completed" in response.text

    last = create_weekly(api, user, recurrence="FREQ=WEEKLY;COUNT=1")
    response = api.post(todo_url(last["id"], "skip"), headers=user.headers)
    assert_validation_error(response, "todo_id")
    assert "no further occurrence" in response.text
    assert get_todo(api, user, last["id"]) == last


def test_recurrence_null_stops_the_series(api, make_user):
    user = make_user()
    first = create_weekly(api, user)
    url = todo_url(first["id"])

    cleared = api.patch(url, json={"due_at": None}, headers=user.headers)
    assert_validation_error(cleared, "due_at")

    stopped = api.patch(url, json={"recurrence": None}, headers=user.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["recurrence"] is None
    post(api, user, todo_url(first["id"], "complete"))
    assert len(list_items(api, user)) == 1


def test_patch_makes_a_todo_recur_from_its_due_date(api, make_user):
    user = make_user()
    plain = create_todo(api, user, title="Plain")
    url = todo_url(plain["id"])
    refused = api.patch(url, json={"recurrence": "FREQ=DAILY"}, headers=user.headers)
    assert_validation_error(refused, "due_at")

    response = api.patch(
        url,
        json={"recurrence": "FREQ=DAILY", "due_at": "2030-03-30T02:30:00+01:00"},
        headers={**user.headers, "X-Timezone": "Europe/Berlin"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["time_zone"] == "Europe/Berlin"
    post(api, user, todo_url(plain["id"], "complete"))
    (following,) = next_occurrences(api, user)
    # 02:30 does not exist in Berlin on 2030-03-31 (summer time begins): 03:30 CEST instead.
    assert moment(following["due_at"]) == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)


# --- the list's filters ----------------------------------------------------------------


def test_overdue_and_recurring_filters_page_like_any_list(api, make_user):
    user = make_user()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    titles = {
        "late": {"due_at": past},
        "done late": {"due_at": past, "status": "completed"},
        "soon": {"due_at": future},
        "someday": {},
        "weekly soon": {"due_at": future, "recurrence": "FREQ=WEEKLY"},
        "weekly late": {"due_at": past, "recurrence": "FREQ=WEEKLY"},
    }
    for title, fields in titles.items():
        create_todo(api, user, title=title, **fields)

    def walk(**params: Any) -> set[str]:
        found: list[str] = []
        query = {"limit": 1, "sort": "due_at", **params}
        while True:
            page = list_page(api, user, **query)
            found += [todo["title"] for todo in page["items"]]
            if page["next_cursor"] is None:
                assert len(found) == len(set(found))
                return set(found)
            query["cursor"] = page["next_cursor"]

    assert walk(overdue="true") == {"late", "weekly late"}
    assert walk(overdue="false") == {"done late", "soon", "someday", "weekly soon"}
    assert walk(recurring="true") == {"weekly soon", "weekly late"}
    assert walk(recurring="false") == {"late", "done late", "soon", "someday"}
    assert walk(recurring="true", overdue="true") == {"weekly late"}
    assert_validation_error(
        api.get(TODOS, params={"overdue": "maybe"}, headers=user.headers), "overdue"
    )


# --- events ----------------------------------------------------------------------------


async def test_the_next_occurrence_is_published_with_recurred_from(
    stack: Stack, vhost: Vhost, make_user: UserFactory
):
    user = make_user()
    async with (
        todo_event_queue(vhost.url) as queue,
        httpx.AsyncClient(base_url=stack.gateway.url, headers=user.headers) as client,
    ):
        body = {"title": "Evented", "due_at": MONDAY_9_BERLIN, "recurrence": WEEKLY_MONDAY}
        first = (await client.post(TODOS, json=body)).json()
        await client.post(todo_url(first["id"], "complete"))
        seen = await events_of(queue, user, 3)

    types = [envelope.type for _, envelope in seen]
    assert types == ["todos.todo.created", "todos.todo.completed", "todos.todo.created"]
    assert seen[0][1].data["recurred_from"] is None
    assert seen[0][1].data["recurrence"] == WEEKLY_MONDAY
    following = seen[2][1].data
    assert following["recurred_from"] == first["id"]
    assert following["due_at"].startswith("2030-01-14T08:00:00")
