"""A local HTTP server speaking OpenAI's chat-completions protocol, for tests of model-backed code.

The code under test talks to it through the real ``openai`` SDK over real HTTP: point the
client (or ``OPENAI_BASE_URL``) at ``server.base_url``. Each ``POST /v1/chat/completions``
body is recorded in ``server.requests`` and handed to the test's handler, which decides the
answer with the helpers below::

    handler = scripted(tool_call_reply([("list_todos", {})]), text_reply("Done."))
    with OpenAIServer(handler) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        ...
        assert server.requests[1]["messages"][-1]["role"] == "tool"

Non-streaming requests get a ``chat.completion`` object with ``usage``; requests with
``"stream": true`` get the same answer as ``chat.completion.chunk`` server-sent events in a
chunked body, as the real API sends them: the text word by word, so that streaming shows,
optionally ``paced`` or ``cut`` (the connection dropped mid-answer).
Errors use OpenAI's error shape, so the SDK raises its usual exceptions (note that the SDK
retries 408/409/429/5xx by itself unless the client is built with ``max_retries=0``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.support.openai_payloads import chunks, completion, error_body

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text as the model sends it (possibly invalid, on purpose)


@dataclass(frozen=True)
class Reply:
    """One answer of the fake model: an assistant message, or an HTTP error."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    status: int = 200
    error_message: str = ""
    delay: float = 0.0
    pace: float = 0.0  # streamed: seconds before each chunk
    cut_after: int | None = None  # streamed: chunks sent before the connection is dropped


def text_reply(content: str, *, finish_reason: str = "stop") -> Reply:
    """A normal assistant message."""
    return Reply(content=content, finish_reason=finish_reason)


def tool_call_reply(
    calls: list[tuple[str, dict[str, Any] | str]], *, saying: str | None = None
) -> Reply:
    """An assistant message asking for tool calls (after the text ``saying``, if given);
    a ``str`` argument is sent verbatim."""
    return Reply(
        content=saying,
        tool_calls=tuple(
            ToolCall(name, args if isinstance(args, str) else json.dumps(args))
            for name, args in calls
        ),
        finish_reason="tool_calls",
    )


def error_reply(status: int, message: str = "The model failed to answer.") -> Reply:
    """An HTTP error in OpenAI's error shape (``{"error": {"message", "type", ...}}``)."""
    if status < 400:
        raise ValueError("an error reply needs a 4xx or 5xx status")
    return Reply(status=status, error_message=message)


def delayed(seconds: float, reply: Reply) -> Reply:
    """``reply``, sent only after ``seconds`` (to make the client time out)."""
    return replace(reply, delay=seconds)


def paced(seconds: float, reply: Reply) -> Reply:
    """``reply``, streamed with ``seconds`` before each chunk (a model writing slowly)."""
    return replace(reply, pace=seconds)


def cut(after: int, reply: Reply) -> Reply:
    """``reply``, streamed up to its first ``after`` events (its role's included), then the
    connection drops: the body never ends."""
    return replace(reply, cut_after=after)


def scripted(*replies: Reply) -> Callable[[dict[str, Any]], Reply]:
    """A handler answering ``replies`` in order, then repeating the last one forever."""
    if not replies:
        raise ValueError("scripted() needs at least one reply")
    lock = threading.Lock()
    queue = iter(replies)
    last = [replies[0]]

    def handler(_body: dict[str, Any]) -> Reply:
        with lock:
            last[0] = next(queue, last[0])
            return last[0]

    return handler


class OpenAIServer:
    """A real HTTP server on 127.0.0.1 (free port) in a background thread; a context manager."""

    def __init__(self, handler: Callable[[dict[str, Any]], Reply]) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self._thread: threading.Thread | None = None
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"openai-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving; cut kept-alive connections and cancel pending delays."""
        self._closing.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    # -- used by the request handler ---------------------------------------------------------

    def _record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)

    def _track(self, connection: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a connection kept alive by the client must not block close()
    # A worker asks for two batches of ten at once; the default backlog (5) refused some
    # of those connections, which a real provider never does.
    request_queue_size = 128


def _handler_class(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        owner = server

    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, alive=True)

    def finish(self) -> None:
        self.owner._track(self.connection, alive=False)
        with contextlib.suppress(OSError):  # the client went away first (after its timeout)
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        self._send_json(404, error_body(404, f"Unknown path {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] != CHAT_PATH:
            self._send_json(404, error_body(404, f"Unknown path {self.path}"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_json(400, error_body(400, "The request body is not valid JSON."))
            return
        self.owner._record(body)
        try:
            reply = self.owner.handler(body)
        except Exception as exc:  # a broken test handler should show up, not hang the client
            reply = error_reply(500, f"test handler failed: {exc!r}")
        if reply.delay and self.owner._closing.wait(reply.delay):
            return  # closed while waiting: the connection is being cut anyway
        try:
            if reply.status >= 400:
                self._send_json(reply.status, error_body(reply.status, reply.error_message))
            elif body.get("stream"):
                self._send_stream(body, reply)
            else:
                self._send_json(200, completion(body, reply))
        except OSError:
            self.close_connection = True  # the client gave up (timeout) before the answer

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, body: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks(body, reply)]
        for sent, event in enumerate([*events, "data: [DONE]\n\n"]):
            if sent == reply.cut_after:
                self.close_connection = True  # the body's end never comes: a cut, not an end
                return
            if reply.pace and self.owner._closing.wait(reply.pace):
                self.close_connection = True
                return
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
