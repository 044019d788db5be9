"""The offline engine's confirmations, built from tool results (pure)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.chat.offline import replies

PARIS = ZoneInfo("Europe/Paris")


def test_a_due_date_is_shown_in_the_users_zone() -> None:
    task = {
        "number": 5,
        "title": "Write report",
        "priority": "high",
        "due_at": "2030-11-27T22:59:00Z",
        "tags": ["work"],
        "status": "created",
    }
    text = replies.added(task, PARIS)
    assert text == 'Added task 5: "Write report" (high priority, due Wed 27 Nov 2030 23:59, #work).'


def test_a_refusal_is_said_plainly() -> None:
    text = replies.refused("complete_task", {"error": "no task number 7"})
    assert text == "Sorry, I couldn't complete that: no task number 7."


def test_candidates_are_listed_with_their_numbers_and_a_question() -> None:
    tasks = [
        {"number": 2, "title": "Team meeting", "status": "pending", "priority": "medium"},
        {"number": 5, "title": "Meeting notes", "status": "completed", "priority": "low"},
    ]
    lines = replies.which_one("meeting", tasks, PARIS).splitlines()
    assert lines[1:3] == ["• #2 Team meeting", "• #5 Meeting notes ✓ (low priority)"]
    assert replies.WHICH_ONE in lines[-1]


def test_renaming_says_the_new_title() -> None:
    task = {"number": 1, "title": "Call mom tonight", "status": "updated"}
    assert replies.updated(task, {"title": "Call mom tonight"}, PARIS) == (
        'Renamed task 1 to "Call mom tonight".'
    )


def test_an_empty_listing_says_so() -> None:
    assert replies.listing([], "pending tasks", PARIS, more=False) == "You have no pending tasks."


def test_a_listing_cut_to_one_page_says_so_and_how_to_narrow_it() -> None:
    tasks = [{"number": n, "title": f"Task {n}", "status": "pending"} for n in (1, 2)]
    whole = replies.listing(tasks, "tasks", PARIS, more=False)
    assert whole.splitlines()[0] == "Your tasks (2):"
    cut = replies.listing(tasks, "tasks", PARIS, more=True)
    assert "first 2" in cut.splitlines()[0]
    assert cut.splitlines()[-1] == replies.NARROW
