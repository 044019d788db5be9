"""The tools' published schemas say "T or null" as a type list: the same values pass."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from shared.platform.mcp import nullable_as_type_list


class Item(BaseModel):
    title: Annotated[str | None, Field(max_length=5)]
    due_at: datetime | None
    tags: list[str] | None
    priority: Literal["low", "high"] | None
    count: Annotated[int | None, Field(ge=1)]


class Page(BaseModel):
    items: list[Item]
    next_cursor: str | None


GOOD = {"title": "milk", "due_at": None, "tags": None, "priority": None, "count": None}
INSTANCES = [
    {"items": [], "next_cursor": None},
    {"items": [GOOD], "next_cursor": "abc"},
    {"items": [{**GOOD, "title": None, "tags": ["a"], "priority": "low", "count": 3}]},
    {"items": [{**GOOD, "title": "too long"}], "next_cursor": None},
    {"items": [{**GOOD, "priority": "urgent"}], "next_cursor": None},
    {"items": [{**GOOD, "count": 0}], "next_cursor": None},
    {"items": [{**GOOD, "tags": [1]}], "next_cursor": None},
    {"items": [{**GOOD, "title": 5}], "next_cursor": None},
    {"items": [GOOD], "next_cursor": 7},
    {"items": None, "next_cursor": None},
]


def test_the_instances_hold_both_verdicts():
    verdicts = {Draft202012Validator(Page.model_json_schema()).is_valid(i) for i in INSTANCES}
    assert verdicts == {True, False}


@pytest.mark.parametrize("instance", INSTANCES)
def test_the_same_values_pass_and_fail(instance):
    original = Page.model_json_schema()
    compact = nullable_as_type_list(original)
    assert Draft202012Validator(compact).is_valid(instance) == Draft202012Validator(
        original
    ).is_valid(instance)


def test_optional_fields_become_type_lists_but_enums_keep_their_any_of():
    item = nullable_as_type_list(Page.model_json_schema())["$defs"]["Item"]["properties"]
    assert item["title"]["type"] == ["string", "null"] and item["title"]["maxLength"] == 5
    assert item["due_at"] == {"type": ["string", "null"], "format": "date-time", "title": "Due At"}
    assert "anyOf" not in item["tags"] and item["tags"]["items"] == {"type": "string"}
    assert "anyOf" in item["priority"]  # an enum does not allow null by itself
