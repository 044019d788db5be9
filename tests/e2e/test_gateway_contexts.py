"""The gateway in front of the contexts service: the job submission body limit.

Job submission carries a registry (up to 10 MiB) and documents (up to 5 MiB), so
``POST /api/v1/contexts/jobs`` has its own limit (``CONTEXTS_MAX_BODY_BYTES``) while
every other route keeps the default 1 MiB, whether the body's length is declared or not.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.processes import ServiceProcess
from tests.support.stack import Stack, User, UserFactory
from tests.support.upstream import RecordingUpstream

MIB = 1024 * 1024
JOBS = "/api/v1/contexts/jobs"


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(stack: Stack, upstream: RecordingUpstream) -> Iterator[ServiceProcess]:
    """A gateway whose contexts upstream records what it is sent; a 3 MiB job limit."""
    process = stack.start_gateway(contexts_url=upstream.url, contexts_max_body_bytes=str(3 * MIB))
    yield process
    process.stop()


@pytest.fixture
def user(make_user: UserFactory) -> User:
    return make_user()


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        size = min(64 * 1024, total - sent)
        sent += size
        yield b"x" * size


def _json(user: User) -> dict[str, str]:
    return {**user.headers, "Content-Type": "application/json"}


def test_job_submission_may_exceed_the_default_limit(
    gateway: ServiceProcess, upstream: RecordingUpstream, user: User
) -> None:
    body = b" " * (2 * MIB) + b"{}"
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        declared = client.post(JOBS, content=body, headers=_json(user))
        assert declared.status_code == 200, declared.text
        chunked = client.post(JOBS + "/", content=_chunks(2 * MIB), headers=_json(user))
        assert chunked.status_code == 200, chunked.text
    assert [len(r.body) for r in upstream.requests[-2:]] == [len(body), 2 * MIB]


def test_job_submission_over_its_own_limit_is_413(
    gateway: ServiceProcess, upstream: RecordingUpstream, user: User
) -> None:
    forwarded = len(upstream.requests)
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        declared = client.post(JOBS, content=b"x" * (3 * MIB + 1), headers=_json(user))
        chunked = client.post(JOBS, content=_chunks(3 * MIB + 1), headers=_json(user))
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert len(upstream.requests) in (forwarded, forwarded + 1)  # the stream was cut off
    assert all(len(r.body) <= 3 * MIB for r in upstream.requests)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", f"{JOBS}/0f1e2d3c-0000-4000-8000-000000000000/retry"), ("PUT", JOBS)],
)
def test_other_contexts_routes_keep_the_default_limit(
    gateway: ServiceProcess, user: User, method: str, path: str
) -> None:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        declared = client.request(method, path, content=b"x" * (MIB + 1), headers=_json(user))
        chunked = client.request(method, path, content=_chunks(MIB + 1), headers=_json(user))
    assert declared.status_code == 413 and chunked.status_code == 413


def test_the_gateways_own_routes_keep_the_default_limit(gateway: ServiceProcess) -> None:
    big = b'{"email": "' + b"a" * (2 * MIB) + b'"}'
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        response = client.post(
            "/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
        )
        chunked = client.post(
            "/api/v1/auth/login",
            content=_chunks(2 * MIB),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413 and chunked.status_code == 413
