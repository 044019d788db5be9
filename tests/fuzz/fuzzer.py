"""The API fuzzer itself: schemathesis over the gateway's merged document, bounded.

Run by tests/fuzz/test_openapi_fuzz.py in a process of its own,
``python -m tests.fuzz.fuzzer`` with a JSON job on stdin, answering its figures as JSON
on stdout. A fresh interpreter is what makes the fixed seed mean the same requests in
every run: Hypothesis mixes into its data the literals of every local module loaded in
the process, which in a pytest process depends on the tests collected with this one.

For each operation: ``EXAMPLES`` requests that fit the document (positive) and
``EXAMPLES`` that do not (negative), from ``SEED``, always with the user's token; path ids
are, half of the time, those of the user's real todo, conversation, job and task, so that
the operations are fuzzed past their 404 too. Every answer must pass ``CHECKS``. Requests
stop after ``BUDGET`` seconds (operations not reached are listed as not run).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# A deeper run by hand: FUZZ_EXAMPLES=200 FUZZ_BUDGET=900 FUZZ_SEED=7 make fuzz
SEED = int(os.environ.get("FUZZ_SEED", "20240611"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # per operation and generation mode
BUDGET = float(os.environ.get("FUZZ_BUDGET", "150"))  # seconds of requests for the stage
REQUEST_TIMEOUT = 20.0
KEPT_EXAMPLES = 3  # per distinct failure
# Nor literals of the Python modules schemathesis would register (same reason as above).
CONFIG = schemathesis.Config.from_dict({"analysis": {"constants": {"enabled": False}}})
CHECKS = [
    not_a_server_error,  # no 5xx: the services are all up, so 502/503/504 are bugs too
    status_code_conformance,  # the status is documented for the operation
    content_type_conformance,  # the body is of a documented media type...
    response_schema_conformance,  # ...and fits its schema (errors: the envelope)
]
EXCLUDED = {
    # A stream of the user's live events that ends only when the access token expires
    # (15 minutes): every request would hang until the request timeout, and nothing of
    # its body could be checked before. tests/e2e/test_event_stream.py covers it.
    ("GET", "/api/v1/events"),
}


@dataclass
class Figures:
    operations: int = 0
    excluded: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)  # the time budget ran out first
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    # "<operation>: <failure>" -> examples (curl, status, body, what is wrong)
    failures: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def fuzzed(self) -> int:
        return self.operations - len(self.excluded) - len(self.not_run)

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items()))
        lines = [
            f"seed {SEED}, {EXAMPLES} positive + {EXAMPLES} negative examples per operation",
            f"operations fuzzed: {self.fuzzed} of {self.operations}"
            f" (excluded: {', '.join(self.excluded) or 'none'})",
            f"requests: {self.requests} ({statuses})",
            f"failures: {len(self.failures)} distinct"
            f" ({sum(len(v) for v in self.failures.values())} examples kept)",
            f"time: {self.seconds:.1f}s",
        ]
        if self.not_run:
            lines.append(f"not run, time budget spent: {', '.join(self.not_run)}")
        for failure, examples in sorted(self.failures.items()):
            lines.append(f"- {failure}")
            lines.extend("    " + example.replace("\n", "\n    ") for example in examples)
        return lines


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    job: dict[str, Any],
    figures: Figures,
    deadline: float,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    def record(title: str, example: str) -> None:
        kept = figures.failures.setdefault(f"{label}: [{mode.value}] {title}", [])
        if len(kept) < KEPT_EXAMPLES:
            kept.append(example)

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # no shrinking: every failure is kept as found
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), real_ids=st.booleans())
    def run(case: Any, real_ids: bool) -> None:
        if time.monotonic() > deadline:
            return
        # The user's token, always: in place of the credentials schemathesis makes up from
        # the bearer scheme, and of those a negative case breaks (the token checks have
        # their own tests), so that every request reaches the operation itself.
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**headers, "Authorization": job["authorization"]}
        if real_ids and case.path_parameters:
            for name in case.path_parameters:
                if name in job["ids"]:
                    case.path_parameters[name] = job["ids"][name]
        curl = case.as_curl_command()
        figures.requests += 1
        try:
            response = case.call(base_url=job["base_url"], timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            record(f"no answer ({type(exc).__name__})", curl)
            return
        status = str(response.status_code)
        figures.by_status[status] = figures.by_status.get(status, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            body = response.content[:300].decode(errors="replace")
            for failure in group.exceptions:
                what = failure.message[:400]
                record(failure.title, f"{curl}\n-> {status}: {body}\n{what}")

    # Unsatisfiable: nothing of this operation can be made invalid (no parameters, no body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


def fuzz(job: dict[str, Any]) -> Figures:
    """``job``: ``base_url`` (the gateway), ``authorization``, ``ids`` (path parameter -> id)."""
    figures = Figures()
    schema = schemathesis.openapi.from_url(
        job["base_url"] + "/schema/openapi.json", config=CONFIG, timeout=30
    )
    started = time.monotonic()
    deadline = started + BUDGET
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            figures.operations += 1
            label = f"{operation.method.upper()} {operation.path}"
            if (operation.method.upper(), operation.path) in EXCLUDED:
                figures.excluded.append(label)
            elif time.monotonic() > deadline:
                figures.not_run.append(label)
            else:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz_operation(operation, mode, job, figures, deadline)
    finally:
        figures.seconds = time.monotonic() - started
    return figures


def main() -> None:
    figures = fuzz(json.load(sys.stdin))
    print(json.dumps(asdict(figures)))


if __name__ == "__main__":
    main()
