"""Record what a server in this process sends and receives, and which thread did it.

A wiretap for the notebooks: while a `Wiretap` is active, every recv/send call on a socket
bound to the tapped address (the server's side of each connection, or its UDP socket) is
recorded as a `WireEvent`: when, by which thread, to or from whom, and the exact bytes.
The server's code is not touched; only `socket.socket`'s methods are wrapped, and restored
when the tap ends. That is how a notebook can show "this recv() got half a letter" or
"the writer thread of bob sent this line" about the reference server, run as a black box.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from chatlab.harness.waiting import EventLog

# Methods that move bytes, and which way: what a tap wraps.
RECEIVING = ("recv", "recvfrom")
SENDING = ("send", "sendall", "sendto")


@dataclass(frozen=True)
class WireEvent:
    time: float      # seconds since the tap started
    thread: str      # threading.current_thread().name of the caller
    op: str          # "recv", "recvfrom", "send", "sendall" or "sendto"
    peer: tuple      # the other end's (host, port)
    data: bytes      # what this one call received or handed to the OS

    @property
    def inbound(self) -> bool:
        return self.op in RECEIVING


def _peer(sock, op: str, args: tuple, result) -> tuple | None:
    if op == "recvfrom":
        return tuple(result[1][:2])
    if op == "sendto":
        return tuple(args[-1][:2])
    try:
        return tuple(sock.getpeername()[:2])
    except OSError:  # reset, or closed meanwhile: nothing to name
        return None


class Wiretap:
    """A context manager: `with Wiretap(server.address) as tap:`, then `tap.snapshot()` lists the events.

    Only one tap may be active at a time (it patches the socket class of this process). A call
    already blocked when the tap starts (a UDP server's first recvfrom) is not seen: start the
    tap before the server serves, as `lab_session(lab, tap=True)` does.
    """

    _active: "Wiretap | None" = None

    def __init__(self, address):
        self.address = tuple(address[:2])
        self.log: EventLog[WireEvent] = EventLog()
        self._sending = 0                     # send() calls under way on tapped sockets
        self._settled = threading.Condition()
        self._saved: dict[str, object] = {}
        self._start = 0.0

    def __enter__(self) -> "Wiretap":
        if Wiretap._active is not None:
            raise RuntimeError("another Wiretap is already active in this process")
        Wiretap._active = self
        self._start = time.perf_counter()
        for name in RECEIVING + SENDING:
            self._saved[name] = socket.socket.__dict__.get(name)
            setattr(socket.socket, name, self._wrap(name, getattr(socket.socket, name)))
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._saved.items():
            if original is None:
                delattr(socket.socket, name)  # the inherited C method shows through again
            else:
                setattr(socket.socket, name, original)
        Wiretap._active = None

    def _wrap(self, op: str, method: Callable) -> Callable:
        tap = self

        def tapped(sock, *args, **kwargs):
            if not tap._is_tapped(sock):
                return method(sock, *args, **kwargs)
            # Once bytes are out, the peer may act on them before this thread runs again. So a whole
            # send is recorded before it happens, and a send() (which may send only part, known
            # after) counts as in flight meanwhile: snapshot() waits for it.
            if op in ("sendall", "sendto"):
                tap._record(sock, op, args, None, bytes(args[0]))
            if op == "send":
                tap._in_flight(+1)
            try:
                result = method(sock, *args, **kwargs)
                if op in ("recv", "recvfrom", "send"):
                    data = {"recv": lambda: result, "recvfrom": lambda: result[0],
                            "send": lambda: bytes(args[0])[:result]}[op]()
                    tap._record(sock, op, args, result, bytes(data))
            finally:
                if op == "send":
                    tap._in_flight(-1)
            return result

        tapped.__name__ = op
        return tapped

    def _record(self, sock, op: str, args: tuple, result, data: bytes) -> None:
        self.log.append(WireEvent(time.perf_counter() - self._start, threading.current_thread().name,
                                  op, _peer(sock, op, args, result), data))

    def _is_tapped(self, sock) -> bool:
        try:
            return tuple(sock.getsockname()[:2]) == self.address
        except OSError:
            return False

    def _in_flight(self, change: int) -> None:
        with self._settled:
            self._sending += change
            self._settled.notify_all()

    def snapshot(self) -> list[WireEvent]:
        """The events so far, once no send() is half-recorded (waiting at most a second for one)."""
        with self._settled:
            self._settled.wait_for(lambda: not self._sending, 1.0)
        return self.log.snapshot()

    def wait_for(self, condition: Callable[[list[WireEvent]], bool], timeout: float = 5.0) -> bool:
        """Wait until `condition(events)` is true (the server has done something); False after `timeout` s."""
        return self.log.wait_for(condition, timeout)

    def wait_received(self, data: bytes, timeout: float = 5.0) -> bool:
        """Wait until one of the server's recv() calls has returned bytes ending with `data`."""
        return self.wait_for(lambda events: any(e.inbound and e.data.endswith(data) for e in events), timeout)
