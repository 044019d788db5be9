"""Repeating tasks through the MCP tools: add with a rule, complete (the next occurrence
appears), skip, stop, and the overdue and recurring filters of list_tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.mcp_client import mcp_client, refusal, structured
from tests.support.stack import Stack, UserFactory


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_a_repeating_task_through_the_tools(stack: Stack, make_user: UserFactory) -> None:
    user = make_user()
    monday = datetime(2030, 1, 7, 9, 0)  # a Monday, 09:00 Berlin wall clock
    url = f"{stack.gateway.url}/mcp"
    async with mcp_client(url, user.access_token, **{"X-Timezone": "Europe/Berlin"}) as client:
        added = structured(
            await client.call_tool(
                "add_task",
                {
                    "title": "Water plants",
                    "due_at": monday.isoformat(),
                    "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                },
            )
        )
        assert (added["recurrence"], added["time_zone"]) == (
            "FREQ=WEEKLY;BYDAY=MO",
            "Europe/Berlin",
        )
        assert added["due_at"] == "2030-01-07T08:00:00Z"

        skipped = structured(await client.call_tool("skip_task", {"task_id": added["task_id"]}))
        assert (skipped["status"], skipped["due_at"]) == ("skipped", "2030-01-14T08:00:00Z")

        done = structured(await client.call_tool("complete_task", {"task_id": added["task_id"]}))
        pending = structured(await client.call_tool("list_tasks", {"status": "pending"}))
        [following] = pending["tasks"]
        assert (done["next_task_id"], done["next_due_at"]) == (
            following["task_id"],
            following["due_at"],
        )
        assert following["title"] == "Water plants" and following["task_id"] != added["task_id"]
        assert following["due_at"] == "2030-01-21T08:00:00Z"

        stopped = structured(
            await client.call_tool(
                "update_task", {"task_id": following["task_id"], "recurrence": "none"}
            )
        )
        assert stopped["recurrence"] is None
        refused = refusal(
            await client.call_tool(
                "add_task",
                {"title": "x", "due_at": monday.isoformat(), "recurrence": "FREQ=HOURLY"},
            )
        )
        assert "recurrence" in refused and "FREQ" in refused
        assert "due_at" in refusal(
            await client.call_tool("add_task", {"title": "x", "recurrence": "FREQ=DAILY"})
        )
        one_off = structured(await client.call_tool("add_task", {"title": "One-off"}))
        assert "does not recur" in refusal(
            await client.call_tool("skip_task", {"task_id": one_off["task_id"]})
        )


async def test_the_overdue_and_recurring_filters(stack: Stack, make_user: UserFactory) -> None:
    user = make_user()
    yesterday = iso(datetime.now(UTC) - timedelta(days=1))
    tomorrow = iso(datetime.now(UTC) + timedelta(days=1))
    async with mcp_client(f"{stack.gateway.url}/mcp", user.access_token) as client:
        for arguments in (
            {"title": "Late", "due_at": yesterday},
            {"title": "Soon", "due_at": tomorrow},
            {"title": "Daily", "due_at": tomorrow, "recurrence": "FREQ=DAILY"},
        ):
            structured(await client.call_tool("add_task", arguments))
        overdue = structured(await client.call_tool("list_tasks", {"overdue": True}))
        repeating = structured(await client.call_tool("list_tasks", {"recurring": True}))
        one_off = structured(await client.call_tool("list_tasks", {"recurring": False}))
    assert [t["title"] for t in overdue["tasks"]] == ["Late"]
    assert [t["title"] for t in repeating["tasks"]] == ["Daily"]
    assert [t["title"] for t in one_off["tasks"]] == ["Late", "Soon"]


async def test_reminders_through_the_tools(stack: Stack, make_user: UserFactory) -> None:
    user = make_user()
    due = datetime(2030, 5, 1, 15, 0, tzinfo=UTC)
    async with mcp_client(f"{stack.gateway.url}/mcp", user.access_token) as client:
        added = structured(
            await client.call_tool(
                "add_task", {"title": "Dentist", "due_at": iso(due), "remind_before": "PT30M"}
            )
        )
        assert (added["remind_before"], added["remind_at"]) == ("PT30M", "2030-05-01T14:30:00Z")
        moved = structured(
            await client.call_tool(
                "update_task", {"task_id": added["task_id"], "remind_at": "2030-05-01T09:00:00Z"}
            )
        )
        assert moved["remind_at"] == "2030-05-01T09:00:00Z"
        assert "remind" in refusal(
            await client.call_tool("add_task", {"title": "x", "remind_before": "PT30M"})
        )
        assert "remind_at" in refusal(
            await client.call_tool("add_task", {"title": "x", "remind_at": "2001-01-01T00:00:00Z"})
        )
