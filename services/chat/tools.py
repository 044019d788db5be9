"""What each tool does, as calls to the todos API, and the result it gives the engine.

Tasks are referred to by their per-user ``number``: a tool first finds the todo with that
number (``GET /api/v1/todos?number=N``, or the trash with ``deleted=true``), then acts on
its id. Results are plain JSON values (stored in JSONB and shown to the model):

- ``add_task`` / ``complete_task`` / ``reopen_task`` / ``delete_task`` / ``restore_task`` /
  ``update_task`` -> ``{"task_id", "number", "status": "created" | "completed" | "reopened" |
  "deleted" | "restored" | "updated", "title", "description", "priority", "due_at", "tags",
  "task_status"}`` where ``task_status`` is the task's own state afterwards (``pending`` or
  ``completed``);
- ``list_tasks`` / ``find_tasks`` -> ``{"tasks": [{"task_id", "number", "title", "status",
  "priority", "due_at", "tags"}], "count", "has_more", "next_cursor"}``: one page (``count``
  tasks); with ``has_more`` the rest starts at ``list_tasks(cursor=next_cursor)``;
- a refusal -> ``{"error": "no task number 7"}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from services.chat import tool_args as args
from services.chat.todos_client import TodosAnswer, TodosClient

Result = dict[str, Any]


def _utc(value: datetime) -> str:
    """A timestamp for the todos API, in UTC (``Z``: no ``+`` to be mangled in a URL).

    Arguments are aware by now: the toolbox reads a time without an offset in the user's zone.
    """
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def listed(todo: dict[str, Any]) -> Result:
    """A todo as an item of ``list_tasks`` / ``find_tasks``."""
    return {
        "task_id": todo["id"],
        "number": todo["number"],
        "title": todo["title"],
        "status": todo["status"],
        "priority": todo["priority"],
        "due_at": todo["due_at"],
        "tags": todo["tags"],
    }


def acted(todo: dict[str, Any], action: str) -> Result:
    """A todo after ``action`` (``"completed"``, ``"deleted"``, ...)."""
    return {
        "task_id": todo["id"],
        "number": todo["number"],
        "status": action,
        "title": todo["title"],
        "description": todo["description"],
        "priority": todo["priority"],
        "due_at": todo["due_at"],
        "tags": todo["tags"],
        "task_status": todo["status"],
    }


def refusal(answer: TodosAnswer, number: int | None = None) -> Result:
    """A 4xx of the todos service, in words the engine can pass on."""
    if answer.status == 404 and number is not None:
        return {"error": f"no task number {number}"}
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    result: Result = {
        "error": error.get("message") or f"the todos service refused ({answer.status})"
    }
    if error.get("details"):
        result["details"] = error["details"]
    return result


async def _by_number(client: TodosClient, number: int, *, deleted: bool = False) -> Any:
    """The caller's todo with this number (in the trash with ``deleted``), or None."""
    params = {"number": str(number), "limit": "1"}
    if deleted:
        params["deleted"] = "true"
    answer = await client.request("GET", params=params)
    if answer.status != 200:
        return None
    items = answer.body["items"]
    return items[0] if items else None


async def add_task(client: TodosClient, task: args.AddTask) -> Result:
    body: dict[str, Any] = {"title": task.title, "tags": task.tags}
    if task.description is not None:
        body["description"] = task.description
    if task.priority is not None:
        body["priority"] = task.priority
    if task.due_at is not None:
        body["due_at"] = _utc(task.due_at)
    answer = await client.request("POST", json=body)
    if answer.status != 201:
        return refusal(answer)
    return acted(answer.body, "created")


async def _list(client: TodosClient, params: dict[str, str]) -> Result:
    # Oldest first: the order of the numbers people call their tasks by.
    answer = await client.request("GET", params={"sort": "created_at", **params})
    if answer.status != 200:
        return refusal(answer)
    tasks = [listed(todo) for todo in answer.body["items"]]
    next_cursor = answer.body.get("next_cursor")
    # A page is not the whole list: say so, and how to get the rest.
    return {
        "tasks": tasks,
        "count": len(tasks),
        "has_more": bool(next_cursor),
        "next_cursor": next_cursor,
    }


async def list_tasks(client: TodosClient, query: args.ListTasks) -> Result:
    params = {"limit": str(query.limit)}
    if query.status != "all":
        params["status"] = query.status
    if query.priority is not None:
        params["priority"] = query.priority
    if query.tag is not None:
        params["tag"] = query.tag
    if query.due_before is not None:
        params["due_before"] = _utc(query.due_before)
    if query.due_after is not None:
        params["due_after"] = _utc(query.due_after)
    if query.number is not None:
        params["number"] = str(query.number)
    if query.cursor is not None:
        params["cursor"] = query.cursor
    return await _list(client, params)


async def find_tasks(client: TodosClient, query: args.FindTasks) -> Result:
    params = {"q": query.query, "limit": "100"}
    if query.status != "all":
        params["status"] = query.status
    return await _list(client, params)


def _status_change(
    path: str, action: str
) -> Callable[[TodosClient, args.TaskNumber], Awaitable[Result]]:
    async def change(client: TodosClient, task: args.TaskNumber) -> Result:
        todo = await _by_number(client, task.number)
        if todo is None:
            return {"error": f"no task number {task.number}"}
        answer = await client.request("POST", f"/{todo['id']}/{path}")
        if answer.status != 200:
            return refusal(answer, task.number)
        return acted(answer.body, action)

    return change


complete_task = _status_change("complete", "completed")
reopen_task = _status_change("reopen", "reopened")


async def delete_task(client: TodosClient, task: args.TaskNumber) -> Result:
    todo = await _by_number(client, task.number)
    if todo is None:
        return {"error": f"no task number {task.number}"}
    answer = await client.request("DELETE", f"/{todo['id']}")
    if answer.status != 204:
        return refusal(answer, task.number)
    return acted(todo, "deleted")


async def restore_task(client: TodosClient, task: args.TaskNumber) -> Result:
    todo = await _by_number(client, task.number, deleted=True)
    if todo is None:
        if await _by_number(client, task.number) is not None:
            return {"error": f"task {task.number} is not deleted"}
        return {"error": f"no task number {task.number}"}
    answer = await client.request("POST", f"/{todo['id']}/restore")
    if answer.status != 200:
        return refusal(answer, task.number)
    return acted(answer.body, "restored")


async def update_task(client: TodosClient, task: args.UpdateTask) -> Result:
    changes: dict[str, Any] = {
        name: getattr(task, name)
        for name in ("title", "description", "priority", "tags")
        if getattr(task, name) is not None
    }
    if task.due_at is not None:
        changes["due_at"] = _utc(task.due_at)
    if not changes:
        return {"error": "nothing to change: give a title, description, priority, due_at or tags"}
    todo = await _by_number(client, task.number)
    if todo is None:
        return {"error": f"no task number {task.number}"}
    answer = await client.request("PATCH", f"/{todo['id']}", json=changes)
    if answer.status != 200:
        return refusal(answer, task.number)
    return acted(answer.body, "updated")


Tool = Callable[[TodosClient, Any], Awaitable[Result]]

TOOLS: dict[str, Tool] = {
    "add_task": add_task,
    "list_tasks": list_tasks,
    "find_tasks": find_tasks,
    "complete_task": complete_task,
    "reopen_task": reopen_task,
    "update_task": update_task,
    "delete_task": delete_task,
    "restore_task": restore_task,
}
assert TOOLS.keys() == args.TOOL_ARGUMENTS.keys()
