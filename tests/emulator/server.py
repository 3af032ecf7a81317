"""A small HTTP(S) server on 127.0.0.1 that vendor emulators build on, with faults on demand.

A vendor emulator (Salesforce, HubSpot) registers handlers for its routes with
:meth:`Emulator.add`; tests then point the real client library at :attr:`Emulator.url` and
inject faults with :meth:`Emulator.inject`: an HTTP status with the vendor's own body and
headers, a dropped connection, a truncated body, or a delay. Faults match requests by method
and a path pattern and fire a given number of times, optionally after letting some requests
through, so a test can fail exactly the third page of a pull.

TLS comes from a CA the emulator makes with trustme; :attr:`Emulator.ca_pem` is the bundle a
client must trust. Everything stays on 127.0.0.1: nothing here opens a network connection.
"""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import trustme

__all__ = ["Emulator", "Fault", "Handler", "Request", "Response"]


@dataclass(frozen=True)
class Request:
    """One request as a handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    #: The groups of the route pattern that matched the path.
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower(), default)


@dataclass
class Response:
    """What a handler returns. ``body`` may be bytes, text, or anything JSON can encode."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        return cls(status, data, {"Content-Type": "application/json", **(headers or {})})

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


@dataclass
class Fault:
    """A failure to inject into matching requests.

    ``status``: answer with that status, ``body`` and ``headers`` (the vendor's real error
    format). ``drop``: close the connection without answering. ``truncate``: send the real
    response's headers and only half of its body, then close. ``delay``: wait ``delay``
    seconds, then answer normally.
    """

    kind: Literal["status", "drop", "truncate", "delay"] = "status"
    path: str = ""
    method: str | None = None
    status: int = 500
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    after: int = 0
    #: How many times it fired so far.
    fired: int = 0
    _seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return re.search(self.path, path) is not None

    def take(self) -> bool:
        """Whether this matching request is the one to fail (counts it)."""
        self._seen += 1
        if self._seen <= self.after or self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Emulator:
    """An HTTP(S) server with registered routes and injectable faults. Use as a context
    manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(self, *, tls: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        self.tls = tls
        self._routes: list[_Route] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.log: deque[tuple[str, str, int]] = deque(maxlen=10_000)
        self._dir = Path(tempfile.mkdtemp(prefix="revgov-emulator-"))
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.ca_pem: Path | None = None
        if tls:
            self._server.socket = self._tls_context().wrap_socket(
                self._server.socket, server_side=True
            )
        self._thread: threading.Thread | None = None

    # -- set-up ---------------------------------------------------------------------------

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer ``method`` requests whose path fully matches the regex ``pattern``."""
        self._routes.append(_Route(method.upper(), re.compile(pattern), handler))

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults_fired(self) -> int:
        with self._lock:
            return sum(f.fired for f in self._faults)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = self._dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        return ctx

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path) and fault.take():
                    return fault
        return None

    def _dispatch(self, request: Request) -> tuple[str, Response]:
        for route in self._routes:
            if route.method != request.method:
                continue
            match = route.pattern.fullmatch(request.path)
            if match:
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                routed = Request(
                    request.method,
                    request.path,
                    request.query,
                    request.headers,
                    request.body,
                    params,
                )
                return route.pattern.pattern, route.handler(routed)
        return "unrouted", Response.json(
            [
                {
                    "message": f"no route for {request.method} {request.path}",
                    "errorCode": "NOT_FOUND",
                }
            ],
            status=404,
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every keep-alive response.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    split.path,
                    parse_qs(split.query, keep_blank_values=True),
                    dict(self.headers.items()),
                    body,
                )
                fault = emulator._fault_for(self.command, split.path)
                if fault is not None and fault.kind == "drop":
                    self.close_connection = True
                    emulator.log.append((self.command, split.path, 0))
                    return
                if fault is not None and fault.kind == "delay":
                    time.sleep(fault.delay)
                if fault is not None and fault.kind == "status":
                    route, response = (
                        "fault",
                        Response(fault.status, fault.body, dict(fault.headers)),
                    )
                    if not isinstance(fault.body, bytes | str):
                        response.headers.setdefault("Content-Type", "application/json")
                else:
                    route, response = emulator._dispatch(request)
                emulator.hits[route] += 1
                emulator.log.append((self.command, split.path, response.status))
                payload = response.encoded()
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if fault is not None and fault.kind == "truncate":
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            # http.server dispatches on these names.
            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

        return _Handler


def routes_table(emulator: Emulator) -> Iterable[str]:
    """The registered routes, for error messages in tests."""
    return [f"{r.method} {r.pattern.pattern}" for r in emulator._routes]


def echo(emulator: Emulator, greeting: str = "hello") -> None:
    """A trivial builder (for the harness's own tests): ``GET /echo/NAME`` answers JSON."""
    emulator.add(
        "GET",
        r"/echo/(?P<name>\w+)",
        lambda r: Response.json({"greeting": greeting, "name": r.params["name"], "q": r.query}),
    )
