"""The offline engine's corpus: everyday phrasings and the tool calls each must produce
(what a case is: ``corpus_cases.py``), gathered from the modules that hold them by topic."""

from __future__ import annotations

from tests.e2e.chat.corpus_adding import ADDING, LISTING
from tests.e2e.chat.corpus_cases import END_OF_WEEK, Case, Due, Todo
from tests.e2e.chat.corpus_changing import AMBIGUOUS, CHANGING
from tests.e2e.chat.corpus_scheduling import REMINDING, REPEATING
from tests.e2e.chat.corpus_updating import TAGGING, TALKING, UPDATING

__all__ = ["CORPUS", "END_OF_WEEK", "Case", "Due", "Todo"]

CORPUS: list[Case] = (
    ADDING + LISTING + CHANGING + AMBIGUOUS + UPDATING + TAGGING + REPEATING + REMINDING + TALKING
)
