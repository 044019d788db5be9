"""What the offline engine reads back from a conversation's history (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.chat.engine_api import HistoryMessage, Turn
from services.chat.offline import replies
from services.chat.offline.engine import _answer_to
from services.chat.offline.history import (
    deleted_matching,
    earlier_messages,
    last_task_number,
    last_undoable,
    open_question,
)
from services.chat.offline.intents import ChangeStatus, Choose, TaskRef, UpdateTask
from services.chat.offline.parser import parse

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MEETINGS = [
    {"number": 2, "title": "Team meeting", "status": "pending"},
    {"number": 5, "title": "Meeting notes", "status": "pending"},
]


def user(text: str) -> HistoryMessage:
    return HistoryMessage(role="user", content=text)


def assistant(text: str) -> HistoryMessage:
    return HistoryMessage(role="assistant", content=text)


def tool(name: str, result: dict[str, Any], **arguments: Any) -> HistoryMessage:
    return HistoryMessage(role="tool", tool_name=name, tool_arguments=arguments, tool_result=result)


def asked(request: str) -> list[HistoryMessage]:
    """A conversation whose last answer asked which meeting task was meant."""
    return [
        user(request),
        tool("find_tasks", {"tasks": MEETINGS, "count": 2}, query="meeting"),
        assistant(replies.which_one("meeting", MEETINGS, UTC)),
    ]


def test_a_question_is_found_with_its_request_and_candidates() -> None:
    question = open_question(asked("delete the meeting task"))
    assert question is not None
    assert question.request == "delete the meeting task"
    assert [task["number"] for task in question.candidates] == [2, 5]


def test_no_question_once_the_conversation_moved_on() -> None:
    history = [*asked("delete the meeting task"), user("show my tasks"), assistant("...")]
    assert open_question(history) is None
    assert open_question([assistant("Added task 1.")]) is None


def test_answers_finish_the_original_request() -> None:
    question = open_question(asked("delete the meeting task"))
    assert question is not None
    second = ChangeStatus("delete", (TaskRef(number=5),))
    assert _answer_to(question, parse("the second one", NOW), NOW) == second
    assert _answer_to(question, parse("5", NOW), NOW) == second  # a number shown in the list
    assert _answer_to(question, parse("2", NOW), NOW) == ChangeStatus("delete", (TaskRef(2),))
    assert _answer_to(question, parse("the last one", NOW), NOW) == second
    assert _answer_to(question, parse("notes", NOW), NOW) == second  # words of one title
    assert _answer_to(question, Choose(position=3), NOW) is None  # there is no third
    assert _answer_to(question, parse("show my tasks", NOW), NOW) is None  # a new request


def test_a_number_that_was_not_offered_is_never_read_as_a_position() -> None:
    # Tasks 2 and 5 were offered; "1" is neither (and not "the first one"), "7" neither.
    question = open_question(asked("delete the meeting task"))
    assert question is not None
    assert _answer_to(question, parse("1", NOW), NOW) is None
    assert _answer_to(question, parse("task 7", NOW), NOW) is None
    assert _answer_to(question, parse("the first one", NOW), NOW) == ChangeStatus(
        "delete", (TaskRef(number=2),)
    )


def test_after_asking_again_the_next_answer_still_finishes_the_request() -> None:
    history = [
        *asked("delete the meeting task"),
        user("1"),
        assistant(replies.pick_again(MEETINGS, UTC)),
    ]
    question = open_question(history)
    assert question is not None and question.request == "delete the meeting task"
    assert _answer_to(question, parse("5", NOW), NOW) == ChangeStatus("delete", (TaskRef(5),))


def test_an_answer_keeps_the_changes_asked_for() -> None:
    question = open_question(asked("rename the meeting task to Standup"))
    assert question is not None
    answered = _answer_to(question, parse("task 2", NOW), NOW)
    assert answered == UpdateTask(TaskRef(number=2), title="Standup")


def test_undo_takes_the_last_answers_undoable_calls() -> None:
    history = [
        user("delete task 1"),
        tool("delete_task", {"number": 1, "status": "deleted"}),
        assistant("Deleted task 1."),
        user("delete tasks 3, 4 and 9"),
        tool("delete_task", {"number": 3, "status": "deleted"}),
        tool("delete_task", {"number": 4, "status": "deleted"}),
        tool("delete_task", {"error": "no task number 9"}),
        assistant("..."),
        user("show my tasks"),
        tool("list_tasks", {"tasks": [], "count": 0}),
        assistant("You have no tasks."),
    ]
    undone = last_undoable(history)
    assert [(m.tool_name, (m.tool_result or {})["number"]) for m in undone] == [
        ("delete_task", 3),
        ("delete_task", 4),
    ]
    assert last_undoable([user("hi"), assistant("Hi!")]) == []


def test_it_is_the_last_task_acted_on() -> None:
    history = [
        tool("add_task", {"number": 7, "status": "created"}),
        tool("complete_task", {"error": "no task number 8"}),
    ]
    assert last_task_number(history) == 7
    assert last_task_number([]) is None


def test_deleted_tasks_can_be_found_by_name_until_restored() -> None:
    history = [
        tool("delete_task", {"number": 2, "title": "Team meeting", "status": "deleted"}),
        tool("delete_task", {"number": 3, "title": "Pay bills", "status": "deleted"}),
        tool("restore_task", {"number": 3, "title": "Pay bills", "status": "restored"}),
    ]
    assert [t["number"] for t in deleted_matching(history, "meeting")] == [2]
    assert deleted_matching(history, "bills") == []


def test_a_retry_after_a_failed_turn_still_answers_the_question() -> None:
    # "2" was sent once, the turn failed (its message stayed stored, unanswered), and the
    # user sends "2" again: it still answers "which one?".
    question_asked = asked("delete the meeting task")
    retry = Turn(message="2", history=[*question_asked, user("2")], now=NOW)
    earlier = earlier_messages(retry)
    assert earlier == question_asked
    question = open_question(earlier)
    assert question is not None and question.request == "delete the meeting task"


def test_an_earlier_different_message_is_kept() -> None:
    turn = Turn(message="5", history=[assistant("Which one do you mean?"), user("2")], now=NOW)
    assert earlier_messages(turn) == [assistant("Which one do you mean?"), user("2")]


def test_nothing_to_undo_after_an_edit() -> None:
    history = [
        tool("delete_task", {"number": 1, "status": "deleted"}),
        tool("update_task", {"number": 2, "status": "updated"}),
    ]
    assert last_undoable(history) == []  # not the older delete
