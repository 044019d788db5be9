"""Finding the tasks a user names by words ("the meeting task") with ``find_tasks``."""

from __future__ import annotations

import re
from typing import Any

from services.chat.engine_api import Toolbox
from services.chat.offline import replies
from services.chat.offline.phrases import word_stem

_STOPWORDS = {"the", "a", "an", "my", "to", "for", "of", "and", "with", "about", "on", "in", "at"}


async def find_tasks(
    tools: Toolbox, name: str, statuses: tuple[str, ...]
) -> list[dict[str, Any]] | str:
    """Tasks matching ``name``: the whole phrase, else every one of its words.

    "the call mom one" finds "Call my mom": the longest word is searched, and only titles
    holding all the words (as word starts) are kept, so one common word alone never
    picks a task to change. Words are taken in their stem form, so "the bills one"
    finds "Pay electricity bill".
    """
    words = [word_stem(w) for w in re.findall(r"[\w'-]+", name.lower()) if w not in _STOPWORDS]
    longest = sorted(words, key=len, reverse=True)[:1]
    fallback = [word for word in longest if len(words) > 1 or word != name.lower()]
    for query in [name, *fallback]:
        for status in statuses:
            result = await tools.call("find_tasks", {"query": query, "status": status})
            if "error" in result:
                return replies.refused("find_tasks", result)
            tasks = list(result.get("tasks") or [])
            if query != name:
                tasks = [task for task in tasks if _has_words(task, words)]
            if tasks:
                return tasks
    return []


def _has_words(task: dict[str, Any], words: list[str]) -> bool:
    title = str(task.get("title", "")).lower()
    return all(re.search(rf"\b{re.escape(word)}", title) for word in words)
