"""A cheap WebSocket load generator: many raw-socket clients in one process.

``python -m bench.load_clients URL CLIENTS EVENTS [CONCURRENCY [PROBE_EVERY]]``
opens CLIENTS connections to the ``ws://`` URL (at most CONCURRENCY handshakes
at a time),
prints ``ready`` once every handshake succeeded, then reads until each client
has EVENTS text frames and prints one JSON line: the latencies (``receive
time - sent_at`` of each frame, in 0.1 ms units), the arrivals (the kernel's
receive timestamp of the data, SO_TIMESTAMPNS, ``- sent_at``: when the frame
was in the client's socket, whatever this process was doing; for a read that
held several frames, the last one's, so never early), the problems found (missing,
out of order or duplicated ``seq``) and its own CPU seconds from ``ready`` to
the last frame. It then waits for a line (or EOF) on stdin before closing its
sockets, so the caller can read the server's CPU before the disconnects cost
it any.

It is a plain ``epoll`` loop over non-blocking sockets, not asyncio: on this
2-core machine the load generator competes with the server for CPU, and
asyncio's per-read machinery (selector callback, transport, protocol) made it
cost more per frame than the server's own work. Here a frame costs one
``recv``, a header parse and two ``bytes.find``. Server frames are unmasked;
pings are answered (the server closes clients that never pong).

With PROBE_EVERY = k > 1 only every k-th client is a probe, read the moment
its data arrives and its latencies recorded; the others are drained every
DRAIN_SECONDS (several frames per ``recv``, DRAIN_SLICE clients between two
looks at the probes), still checked for every frame once and in order. The
server's work is the same (one write per client per event); the load
generator's falls by about k-fold, so on a machine too small for both, the
latency measured is the server's rather than the generator's.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import resource
import select
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

CONNECT_CONCURRENCY = 64
CONNECT_TIMEOUT = 180.0
RECEIVE_TIMEOUT = 120.0
DRAIN_SECONDS = 0.5
DRAIN_SLICE = 64  # lazy clients drained between two looks at the probes
# Linux (asm-generic): receive timestamps of a socket's data, as a struct timespec.
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
_SENT_AT = b'"sent_at":'
_SEQ = b'"seq":'
_NUMBER = re.compile(rb"[0-9.eE+-]+")


class Conn:
    __slots__ = (
        "arrivals", "buffer", "expected", "last_seq", "latencies", "probe", "problems", "received", "request",
        "sock", "state",
    )

    def __init__(self, sock: socket.socket, request: bytes, expected: int) -> None:
        self.sock = sock
        self.probe = True  # read as soon as data arrives, and its latencies recorded
        self.request = request
        self.expected = expected
        self.state = "connecting"
        self.buffer = bytearray()
        self.last_seq = 0
        self.problems = 0
        self.received = 0
        self.latencies: list[int] = []  # read by this process - sent_at, 0.1 ms units
        self.arrivals: list[int] = []  # in the client's socket (kernel timestamp) - sent_at

    def frames(self, now: float, arrived: float) -> bool:
        """Parse the complete frames in the buffer, read at ``now`` (epoch seconds) and in
        the socket since ``arrived`` (0: unknown); True once the connection is done
        (every expected frame, or a close frame)."""
        buffer = self.buffer
        offset = 0
        size = len(buffer)
        done = False
        while size - offset >= 2:
            opcode = buffer[offset] & 0x0F
            length = buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 4], "big")
                start = offset + 4
            elif length == 127:
                if size - offset < 10:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 10], "big")
                start = offset + 10
            end = start + length
            if end > size:
                break
            if opcode == 0x1:
                done = self._message(bytes(buffer[start:end]), now, arrived) or done
            elif opcode == 0x9:
                self.sock.send(_pong(bytes(buffer[start:end])))
            elif opcode == 0x8:
                done = True
            offset = end
        if offset:
            del buffer[:offset]
        return done

    def _message(self, payload: bytes, now: float, arrived: float) -> bool:
        at = payload.find(_SENT_AT)
        seq_at = payload.find(_SEQ)
        if at < 0 or seq_at < 0:
            return False
        sent = _NUMBER.match(payload, at + len(_SENT_AT))
        seq = _NUMBER.match(payload, seq_at + len(_SEQ))
        if sent is None or seq is None:
            return False
        number = int(seq.group())
        if number <= self.last_seq:
            self.problems += 1
        self.last_seq = number
        self.received += 1
        if self.probe:
            sent_at = float(sent.group())
            self.latencies.append(round((now - sent_at) * 10_000))
            if arrived:
                self.arrivals.append(round((arrived - sent_at) * 10_000))
        return self.received >= self.expected


def _pong(payload: bytes) -> bytes:
    """A client's (so masked) pong frame echoing a ping's payload (< 126 bytes by RFC 6455)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x8A, 0x80 | len(masked)]) + mask + masked


def _request(url: str) -> bytes:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def connect_all(url: str, clients: int, expected: int, concurrency: int) -> list[Conn]:
    """Every client connected and upgraded (at most ``concurrency`` handshakes at a time)."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    poller = select.epoll()
    active: dict[int, Conn] = {}
    ready: list[Conn] = []
    started = 0
    deadline = time.monotonic() + CONNECT_TIMEOUT
    try:
        while len(ready) < clients:
            while started < clients and len(active) < concurrency:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex(address)
                if code not in (0, errno.EINPROGRESS):
                    raise ConnectionError(f"connect failed: {os.strerror(code)}")
                conn = Conn(sock, _request(url), expected)
                active[sock.fileno()] = conn
                poller.register(sock.fileno(), select.EPOLLOUT)
                started += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(ready)} of {clients} clients connected in {CONNECT_TIMEOUT:.0f} s")
            for fd, _events in poller.poll(1.0):
                conn = active[fd]
                if conn.state == "connecting":
                    error = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        raise ConnectionError(f"connect failed: {os.strerror(error)}")
                    conn.sock.send(conn.request)  # ~200 bytes: one send
                    conn.state = "upgrading"
                    poller.modify(fd, select.EPOLLIN)
                    continue
                data = conn.sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed a connection during its handshake")
                conn.buffer += data
                end = conn.buffer.find(b"\r\n\r\n")
                if end < 0:
                    continue
                if not conn.buffer.startswith(b"HTTP/1.1 101"):
                    raise ConnectionError(bytes(conn.buffer[:60]).decode(errors="replace"))
                del conn.buffer[: end + 4]
                conn.state = "open"
                poller.unregister(fd)
                del active[fd]
                ready.append(conn)
    finally:
        poller.close()
    return ready


def _drain(conn: Conn) -> bool:
    """Read everything a (non-probe) client has waiting; True once it is done."""
    while True:
        try:
            data = conn.sock.recv(262144)
        except BlockingIOError:
            return False
        conn.buffer += data
        if not data or conn.frames(time.time(), 0.0):
            return True


def _arrival(ancdata: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time (epoch seconds) in a recvmsg's SCM_TIMESTAMPNS, else 0."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return 0.0


def receive_all(conns: list[Conn]) -> None:
    """Read until every client has its frames (or closed), at most RECEIVE_TIMEOUT.

    Probe clients are read the moment data arrives; the others (``--probe N``)
    are drained every DRAIN_SECONDS, several frames per ``recv``, DRAIN_SLICE
    clients at a time with the probes read between slices: a drain of a few
    thousand clients takes ~100 ms, which would otherwise be added to the
    probes' latencies (the load generator's delay, not the server's).
    """
    poller = select.epoll(len(conns) + 1)
    by_fd = {conn.sock.fileno(): conn for conn in conns if conn.probe}
    lazy = [conn for conn in conns if not conn.probe]
    for fd, conn in by_fd.items():
        conn.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        poller.register(fd, select.EPOLLIN)
    waiting = len(by_fd)
    deadline = time.monotonic() + RECEIVE_TIMEOUT
    # Frames that arrived with the handshake's response.
    for fd, conn in list(by_fd.items()):
        if conn.buffer and conn.frames(time.time(), 0.0):
            poller.unregister(fd)
            waiting -= 1
    next_drain = time.monotonic() + DRAIN_SECONDS
    draining: list[Conn] | None = None  # the lazy clients of the drain under way
    kept: list[Conn] = []  # those of them not done yet
    ancillary = socket.CMSG_SPACE(_TIMESPEC.size)
    try:
        while (waiting or lazy or draining) and time.monotonic() < deadline:
            timeout = 0.0 if draining else max(0.0, min(1.0, next_drain - time.monotonic()))
            for fd, _events in poller.poll(timeout):
                conn = by_fd[fd]
                try:
                    data, ancdata, _flags, _address = conn.sock.recvmsg(262144, ancillary)
                except BlockingIOError:
                    continue
                now = time.time()
                conn.buffer += data
                if not data or conn.frames(now, _arrival(ancdata)):
                    poller.unregister(fd)
                    waiting -= 1
            if draining is None and time.monotonic() >= next_drain:
                draining, lazy, kept = lazy, [], []
            if draining is not None:
                batch, draining = draining[:DRAIN_SLICE], draining[DRAIN_SLICE:]
                kept += [conn for conn in batch if not _drain(conn)]
                if not draining:
                    lazy, draining = kept, None
                    next_drain = time.monotonic() + DRAIN_SECONDS
    finally:
        poller.close()


def run(
    url: str, clients: int, expected: int, concurrency: int, probe_every: int = 1
) -> tuple[dict[str, object], list[Conn]]:
    conns = connect_all(url, clients, expected, concurrency)
    for index, conn in enumerate(conns):
        conn.probe = index % probe_every == 0
    print("ready", flush=True)
    cpu_at_ready = time.process_time()
    receive_all(conns)
    cpu = time.process_time() - cpu_at_ready
    report: dict[str, object] = {
        "latencies": [latency for c in conns for latency in c.latencies],
        "arrivals": [latency for c in conns for latency in c.arrivals],
        "missing": sum(max(0, expected - c.received) for c in conns),
        "out_of_order": sum(c.problems for c in conns),
        "cpu": cpu,
        "probes": sum(c.probe for c in conns),
    }
    return report, conns


def main() -> None:
    url, clients, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else CONNECT_CONCURRENCY
    probe_every = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, clients + 256)), hard))
    try:
        report, conns = run(url, clients, expected, concurrency, probe_every)
    except (OSError, TimeoutError) as exc:
        print(f"failed: {type(exc).__name__}: {exc}", flush=True)
        sys.exit(1)
    print(json.dumps(report), flush=True)
    sys.stdin.readline()  # the caller's go-ahead (or EOF) to disconnect
    for conn in conns:
        conn.sock.close()


if __name__ == "__main__":
    main()
