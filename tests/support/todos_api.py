"""Calls of the todos API through the gateway, shared by the end-to-end tests (each asserts
its success; the error envelope is checked with tests/support/envelope.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.support.stack import User

TODOS = "/api/v1/todos"


def todo_url(todo_id: object, action: str = "") -> str:
    return f"{TODOS}/{todo_id}" + (f"/{action}" if action else "")


def create_todo(api: httpx.Client, user: User, **fields: Any) -> dict[str, Any]:
    """Create a todo (title defaults to "A todo") and return its body."""
    response = api.post(TODOS, json={"title": "A todo", **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def get_todo(api: httpx.Client, user: User, todo_id: str) -> dict[str, Any]:
    response = api.get(todo_url(todo_id), headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def list_items(api: httpx.Client, user: User, **params: Any) -> list[dict[str, Any]]:
    """Every todo of ``user`` matching ``params`` (at most 100, one page)."""
    response = api.get(TODOS, params={"limit": 100, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def list_page(api: httpx.Client, user: User, **params: Any) -> dict[str, Any]:
    response = api.get(TODOS, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    return body
