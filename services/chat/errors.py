"""Errors of the chat service (rendered in the common envelope by shared.errors)."""

from __future__ import annotations

from shared.errors import AppError


class LlmUnavailable(AppError):
    """The model failed, timed out or answered something unusable; the user's message stays."""

    status_code, code, message = 502, "LLM_UNAVAILABLE", "The assistant's model is unavailable"
