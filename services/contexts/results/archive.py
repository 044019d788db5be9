"""The ``.tar.gz`` of a job's results, laid out as the user's project expects.

It holds ``.claude_tasks/task_registry.json`` (the updated registry) and every generated
context at its project path (``.claude_tasks/contexts/<task>_context.md``), so it unpacks
straight into the project root. The archive is written to a spooled temporary file
(memory up to a few MiB, then disk) page by page, and compressed in a worker thread, so a
job of 20,000 contexts neither holds them all in memory nor blocks the event loop.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import IO

REGISTRY_PATH = ".claude_tasks/task_registry.json"
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 256 * 1024

# (path inside the archive, content) pages; an empty page ends the archive.
PageSource = Callable[[int], Awaitable[list[tuple[str, str]]]]


class ArchiveWriter:
    """A gzip'd tar written in steps; :meth:`add` runs in a thread (compression is CPU)."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._tar = tarfile.open(fileobj=self.file, mode="w:gz")  # noqa: SIM115
        self._now = int(time.time())
        self._directories: set[str] = set()

    def _add(self, files: Iterable[tuple[str, str]]) -> None:
        for path, content in files:
            self._add_directories(path)
            data = content.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), self._now, 0o644
            self._tar.addfile(info, io.BytesIO(data))

    def _add_directories(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in self._directories:
                self._directories.add(directory)
                info = tarfile.TarInfo(directory)
                info.type, info.mtime, info.mode = tarfile.DIRTYPE, self._now, 0o755
                self._tar.addfile(info)

    async def add(self, files: list[tuple[str, str]]) -> None:
        await asyncio.to_thread(self._add, files)

    async def finish(self) -> None:
        await asyncio.to_thread(self._tar.close)
        self.file.seek(0)

    def close(self) -> None:
        self.file.close()


async def build_archive(registry_text: str, contexts: PageSource) -> ArchiveWriter:
    """The archive of ``registry_text`` and the context pages ``contexts(0)``, ``(1)``..."""
    writer = ArchiveWriter()
    try:
        await writer.add([(REGISTRY_PATH, registry_text)])
        page = 0
        while files := await contexts(page):
            await writer.add(files)
            page += 1
        await writer.finish()
    except BaseException:
        writer.close()
        raise
    return writer


async def stream(writer: ArchiveWriter) -> AsyncIterator[bytes]:
    """The archive's bytes, then the temporary file is gone."""
    try:
        while chunk := await asyncio.to_thread(writer.file.read, CHUNK_BYTES):
            yield chunk
    finally:
        writer.close()
