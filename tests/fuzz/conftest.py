"""The API fuzzer's figures, printed at the end of the run (whether it passed or not)."""

from __future__ import annotations

from typing import Any

from tests.support.fuzz_report import REPORT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for figures in REPORT:
        terminalreporter.section("API fuzzer (schemathesis)")
        for line in figures.lines():
            terminalreporter.write_line(line)
