"""The API fuzzer's figures of this run, printed at its end by tests/fuzz/conftest.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fuzz.fuzzer import Figures

# Filled by tests/fuzz/test_openapi_fuzz.py once the fuzzer has answered.
REPORT: list[Figures] = []
