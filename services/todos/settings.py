"""Settings of the todos service (environment variables; see the README)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.settings import CommonSettings

LOCAL_HOSTS = "127.0.0.1:*,localhost:*,[::1]:*"
LOCAL_ORIGINS = "http://127.0.0.1:*,http://localhost:*,http://[::1]:*"


class TodosSettings(CommonSettings, kw_only=True):
    service_name: str = "todos"
    # The MCP endpoint's protection against DNS rebinding: the Host headers it answers
    # (the address the gateway reaches it by) and the browser origins it accepts.
    mcp_allowed_hosts: str = LOCAL_HOSTS
    mcp_allowed_origins: str = LOCAL_ORIGINS
    # How long the reminder scheduler sleeps at most between two looks for due reminders
    # (it wakes sooner for one due sooner): the bound of a reminder's normal lateness.
    reminder_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
