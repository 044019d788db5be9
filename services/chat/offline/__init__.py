"""The offline engine: a deterministic parser of everyday phrasings that calls the tools.

It is the chat service's engine when no model is configured. ``parse`` (pure, no I/O) turns a
message into an intent; ``OfflineEngine`` acts on it through the same tools as the model.
"""

from services.chat.offline.engine import OfflineEngine
from services.chat.offline.parser import parse

__all__ = ["OfflineEngine", "parse"]
