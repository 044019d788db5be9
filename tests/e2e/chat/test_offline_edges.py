"""The offline assistant at the edges: long lists, wrong answers to "which one?", inputs the
todos service cannot store. Through the gateway, with the real todos service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.chat import send, todos_of, turn
from tests.support.todos_api import create_todo

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway


def test_beyond_the_first_page_tags_are_kept_and_the_listing_says_it_is_cut(
    chat_gateway: ChatGateway, make_user, api
):
    user = make_user()
    for n in range(1, 102):
        create_todo(api, user, title=f"Chore {n}", tags=["home"] if n == 101 else [])

    # Task 101 is not on the first page of 100: its tag must not be lost.
    turn(chat_gateway.url, user, "tag task 101 with work")
    assert todos_of(chat_gateway.url, user, number=101)[0]["tags"] == ["home", "work"]

    listed = turn(chat_gateway.url, user, "show me all my tasks")
    result = listed["tool_calls"][0]["result"]
    assert (result["count"], result["has_more"]) == (50, True)
    assert "first 50" in listed["response"]
    assert "narrow" in listed["response"]


def test_a_number_that_was_not_offered_deletes_nothing(chat_gateway: ChatGateway, make_user, api):
    user = make_user()
    create_todo(api, user, title="Team meeting")
    create_todo(api, user, title="Buy stamps")
    create_todo(api, user, title="Meeting notes")
    url = chat_gateway.url

    asked = turn(url, user, "delete the meeting task")
    assert "Which one" in asked["response"]
    again = turn(url, user, "2", asked["conversation_id"])  # #2 was not offered (#1 and #3)
    assert [call["name"] for call in again["tool_calls"]] == []
    assert "Which one" in again["response"]
    assert len(todos_of(url, user)) == 3

    chosen = turn(url, user, "3", asked["conversation_id"])
    assert [call["name"] for call in chosen["tool_calls"]] == ["delete_task"]
    assert [t["title"] for t in todos_of(url, user, sort="created_at")] == [
        "Team meeting",
        "Buy stamps",
    ]


def test_a_huge_task_number_is_a_polite_refusal_not_an_outage(chat_gateway: ChatGateway, make_user):
    answer = turn(chat_gateway.url, make_user(), "complete task 99999999999")
    assert "error" in answer["tool_calls"][0]["result"]
    assert answer["response"].startswith("Sorry")


def test_a_message_with_a_nul_character_is_a_400(chat_gateway: ChatGateway, make_user):
    response = send(chat_gateway.url, make_user(), "add milk\u0000")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_zone_directory_as_x_timezone_is_a_400(chat_gateway: ChatGateway, make_user):
    response = send(chat_gateway.url, make_user(), "hi", headers={"X-Timezone": "Europe"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][0]["key"] == "x-timezone"


def test_one_message_changes_at_most_ten_tasks(chat_gateway: ChatGateway, make_user, api):
    user = make_user()
    create_todo(api, user, title="Keep me")
    numbers = ", ".join(str(n) for n in range(1, 701))
    answer = turn(chat_gateway.url, user, f"delete tasks {numbers}")
    assert answer["tool_calls"] == []
    assert "at most 10 tasks" in answer["response"]
    assert [t["title"] for t in todos_of(chat_gateway.url, user)] == ["Keep me"]
