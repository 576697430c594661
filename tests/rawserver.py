"""A Last9 lookalike on raw sockets, for faults no HTTP server would commit.

Each request is read whole (headers, then a ``Content-Length`` body) and recorded; the answer is
the next scripted ``Play`` for its route, else a well-formed success (a fresh access token from
``FakeLast9.mint`` for the exchange, ``{"message": "success"}`` for the event). A play writes
bytes exactly as given, at any pace, then closes the connection cleanly or with a reset: a body
cut short of its ``Content-Length``, broken chunking, a corrupt or enormous compressed body, a
header or body trickled one byte at a time.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType

from tests.fake_last9 import FakeLast9


@dataclass(frozen=True)
class Play:
    """What to write back: ``data`` in pieces of ``piece`` bytes, ``pause`` seconds apart, then
    a clean close or (``reset=True``) a TCP reset."""

    data: bytes
    piece: int = 1 << 20
    pause: float = 0.0
    reset: bool = False


def answer(status: int, body: bytes, *headers: str, length: int | None = None) -> bytes:
    """A raw HTTP/1.1 answer; ``length`` overrides the ``Content-Length`` (``-1``: none)."""
    declared = len(body) if length is None else length
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", *headers]
    if declared >= 0:
        lines.append(f"Content-Length: {declared}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def interim(status: int, *headers: str) -> bytes:
    """A raw interim (1xx) answer: a status line and headers, never a body."""
    return ("\r\n".join([f"HTTP/1.1 {status} Interim", *headers]) + "\r\n\r\n").encode()


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about a thousandth of ``size``)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


@dataclass
class RawLast9:
    """The server; ``script(route, *plays)`` queues answers for ``exchange`` or ``event``."""

    minter: FakeLast9 = field(default_factory=lambda: FakeLast9(org="acme"))
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    _plays: dict[str, deque[Play]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def script(self, route: str, *plays: Play) -> None:
        """Answer the next requests to ``route`` with ``plays``, in order."""
        self._plays.setdefault(route, deque()).extend(plays)

    def puts(self) -> list[bytes]:
        """The bodies of the change events received."""
        return [body for method, _, body in self.requests if method == "PUT"]

    def __enter__(self) -> RawLast9:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept at once
        self._thread.join(2)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by __exit__
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            connection.settimeout(5)
            while not self._stop.is_set():
                request = self._read(connection)
                if request is None:
                    return
                _, path, _ = request
                self.requests.append(request)
                route = "exchange" if path.endswith("/oauth/access_token") else "event"
                queue = self._plays.get(route)
                play = queue.popleft() if queue else Play(self.success(route))
                self._play(connection, play)
                if play.reset or b"Connection: close" in play.data or queue is not None:
                    return

    def success(self, route: str) -> bytes:
        """The well-formed success answer to ``route``."""
        if route == "exchange":
            token = self.minter.mint("access")
            body = {"access_token": token, "expires_at": int(time.time()) + 3600}
            return answer(200, json.dumps(body).encode())
        return answer(200, b'{"message": "success"}')

    def _play(self, connection: socket.socket, play: Play) -> None:
        for start in range(0, len(play.data), play.piece):
            if self._stop.is_set():
                return
            connection.sendall(play.data[start : start + play.piece])
            if play.pause:
                time.sleep(play.pause)
        if play.reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    @staticmethod
    def _read(connection: socket.socket) -> tuple[str, str, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            body += chunk
        return method, path, body
