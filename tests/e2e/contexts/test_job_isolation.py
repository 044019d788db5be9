"""A job is its creator's: every other user gets 404 for it, exactly like a missing job."""

from __future__ import annotations

import httpx
import pytest

from tests.support.contexts import JOBS, flat_registry, submit
from tests.support.hostile import UNKNOWN_ID
from tests.support.stack import UserFactory

READS = ["", "/summary", "/contexts", "/contexts/backend_task_00000", "/registry", "/archive"]


def test_another_users_job_is_404_everywhere(capi: httpx.Client, make_user: UserFactory) -> None:
    owner, stranger = make_user(), make_user()
    job_id = submit(capi, owner, {"registry": flat_registry(3)}).json()["job_id"]
    for suffix in READS:
        mine = capi.get(f"{JOBS}/{job_id}{suffix}", headers=owner.headers)
        assert mine.status_code in (200, 404), (suffix, mine.text)  # a context may not exist yet
        theirs = capi.get(f"{JOBS}/{job_id}{suffix}", headers=stranger.headers)
        assert theirs.status_code == 404, (suffix, theirs.text)
        assert theirs.json()["error"]["code"] == "NOT_FOUND"
    assert capi.get(f"{JOBS}/{job_id}", headers=owner.headers).status_code == 200
    events = capi.get(f"{JOBS}/{job_id}/events", headers=stranger.headers)
    assert events.status_code == 404 and events.json()["error"]["code"] == "NOT_FOUND"
    retry = capi.post(f"{JOBS}/{job_id}/retry", headers=stranger.headers)
    assert retry.status_code == 404
    assert capi.get(JOBS, headers=stranger.headers).json()["items"] == []


@pytest.mark.parametrize("job_id", [UNKNOWN_ID, "not-a-uuid"])
def test_unknown_job_is_404(capi: httpx.Client, make_user: UserFactory, job_id: str) -> None:
    user = make_user()
    for suffix in READS:
        response = capi.get(f"{JOBS}/{job_id}{suffix}", headers=user.headers)
        assert response.status_code == 404, (suffix, response.text)
    assert capi.post(f"{JOBS}/{job_id}/retry", headers=user.headers).status_code == 404
