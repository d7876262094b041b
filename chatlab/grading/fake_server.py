"""The grader's scripted server, the other end of a student's client under test.

A TCP listener (or a bound UDP socket) on 127.0.0.1 port 0 that checks, byte for byte, what
the client sends, and sends it lines, split where the test wants them split (see
chatlab.grading.student_client for the client's side). It records its steps in the
Scenario's story.
"""
from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from typing import Callable

from chatlab.grading.student_client import NEWLINE, StudentClient, quiet
from chatlab.harness.reliable import Datagram, parse
from chatlab.harness.waiting import WAIT, ExpectationError, describe, seconds_passed, shorten
from chatlab.i18n import _, ngettext

DRAIN_WAIT = 1.0               # seconds to wait for a client to take a first piece before sending the next


class FakeServer:
    """The grader's scripted server: TCP (accepts the client's one connection) or UDP (learns its address).

    `received` holds what the client sent: lines without b"\\n" over TCP, datagrams over UDP.
    Reading happens inside expect() (select() on the socket and a wake-up pipe), so nothing
    runs behind the test's back and a failing client can wake it.
    """

    def __init__(self, transport: str, step: Callable[[str], None] = quiet):
        self.transport = transport
        self.received: list[bytes] = []
        self.partial = b""                 # TCP: bytes after the last b"\n"
        self.eof = False                   # TCP: the client closed (or half-closed) its side
        self.was_reset = False             # TCP: reset() ended the connection
        self.sent = 0                      # bytes sent to the client so far
        self.client: StudentClient | None = None
        self._step = step
        self._cursor = 0
        self._ended = ""                   # the client's process ended: why
        self._failed = ""                  # the client is a stub: why
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.conn: socket.socket | None = None
        self.peer = None
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(WAIT)
        self.port = self.sock.getsockname()[1]

    def attach(self, client: StudentClient) -> None:
        """Stop waiting when `client` fails as a stub or exits."""
        self.client = client
        client.on_end(self._client_ended)

    def _client_ended(self, reason: str, not_implemented: bool) -> None:
        if not_implemented:
            self._failed = reason
        else:
            self._ended = reason or "its process exited"
        with contextlib.suppress(OSError):
            self._wake_w.send(b"!")

    # --- reading ------------------------------------------------------------------------

    def _ready(self, sock, deadline: float) -> str:
        """Wait until `sock` is readable: "ready", "timeout", or "woken" (the client failed or exited).

        Once the client's process has exited, what it sent is already here (a UDP datagram,
        a connection in the backlog) or on its way, ending in a FIN (a TCP connection).
        """
        while True:
            if self._failed:
                return "woken"
            if self._ended and (self.transport == "udp" or sock is self.sock):
                return "ready" if select.select([sock], [], [], 0)[0] else "woken"
            watch = [sock] if self._ended else [sock, self._wake_r]
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            readable, _writable, _errors = select.select(watch, [], [], left)
            if sock in readable:
                return "ready"
            with contextlib.suppress(OSError):
                self._wake_r.recv(64)

    def _accept(self, deadline: float) -> str:
        """"" once the client is connected, else why not."""
        if self.conn is not None:
            return ""
        state = self._ready(self.sock, deadline)
        if state != "ready":
            return self._why(state, "before connecting")
        self.conn, self.peer = self.sock.accept()
        self.conn.settimeout(WAIT)  # bounds sendall(); reads wait in select()
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return ""

    def _why(self, state: str, when: str = "") -> str:
        if state == "timeout":
            return "the wait ran out"
        reason = self._failed or self._ended or (self.client.fate(wait=1.0) if self.client else "")
        who = self.client.name if self.client else _("the client")
        return _("{who} ended{when}: {reason}").format(who=who, when=f" {when}" if when else "",
                                                        reason=reason or _("it closed its connection"))

    def _read_more(self, deadline: float) -> str:
        """Read what the client sent next; "" if something was read, else why nothing more will come."""
        if self.transport == "udp":
            state = self._ready(self.sock, deadline)
            if state != "ready":
                return self._why(state)
            data, address = self.sock.recvfrom(65535)
            self.peer = self.peer or address
            self.received.append(data)
            return ""
        why = self._accept(deadline)
        if why:
            return why
        if self.eof:
            fate = self._failed or self._ended or (self.client.fate(wait=1.0) if self.client else "")
            return _("the client closed the connection") + (f" ({fate})" if fate else "")
        state = self._ready(self.conn, deadline)
        if state != "ready":
            return self._why(state)
        try:
            chunk = self.conn.recv(65536)
        except OSError as error:
            chunk = b""
            self.partial += f" <{type(error).__name__}>".encode()
        if not chunk:
            self.eof = True
            return ""
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        self.received.extend(lines)
        return ""

    def expect(self, text: str, timeout: float = WAIT, skip: bool = False) -> None:
        """Wait for the client's next message to be `text`: a line ending in b"\\n" (TCP) or a datagram (UDP).

        One trailing b"\\r" (and, over UDP, b"\\n") is allowed, as PROTOCOL.md says; over
        UDP, keepalive b"/ping" datagrams are skipped unless `text` is "/ping". With
        `skip`, any other message before `text` is skipped too.
        """
        wanted = text.encode("utf-8")

        def judge(got: bytes):
            message = got.removesuffix(b"\n") if self.transport == "udp" else got
            message = message.removesuffix(b"\r")
            if message == wanted:
                return True
            if skip or (self.transport == "udp" and message == b"/ping" and text != "/ping"):
                return None
            return _("the grader's server expected {wanted} from the client, but it sent {got}").format(
                wanted=self._what(wanted), got=shorten(got if self.transport == "udp" else got + NEWLINE))

        self._take(self._what(wanted), [wanted], judge, timeout)

    def _take(self, what: str, wanted: list[bytes], judge: Callable[[bytes], bool | str | None],
              timeout: float) -> bytes:
        """Read the client's messages in turn until `judge(message)` takes one (True: it is returned);
        None skips a message, a str is a problem (raised). `what` names what is waited for."""
        deadline = time.monotonic() + timeout
        while True:
            while self._cursor < len(self.received):
                got = self.received[self._cursor]
                self._cursor += 1
                verdict = judge(got)
                if verdict is True:
                    return got
                if verdict is not None:
                    raise ExpectationError(verdict, client=self.client, wanted=wanted, seen=[got], kind="unexpected")
            why = self._read_more(deadline)
            if why:
                if why == "the wait ran out":
                    why = seconds_passed(timeout)
                sent = ("; " + _("then it sent {data} with no newline after it").format(data=shorten(self.partial))
                        if self.partial else "")
                raise ExpectationError(_("the grader's server expected {wanted} from the client, but {why}; it "
                                         "received {seen}").format(wanted=what, why=why,
                                                                   seen=describe(self.received[self._cursor:])) + sent,
                                       client=self.client, wanted=wanted, seen=self.received[self._cursor:],
                                       kind="exited" if self._ended else "timeout")

    def _what(self, wanted: bytes) -> str:
        what = (_("the datagram {data}").format(data=shorten(wanted)) if self.transport == "udp"
                else _("the line {data}").format(data=shorten(wanted + NEWLINE)))
        return what if wanted.isascii() else f"{what} ({shorten(wanted.decode('utf-8'))})"

    def expect_eof(self, timeout: float = WAIT) -> None:
        """TCP: wait until the client closes its sending side (recv() returns b"")."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            why = self._read_more(deadline)
            if why and not self.eof:
                if why == "the wait ran out":
                    why = seconds_passed(timeout)
                raise ExpectationError(_("the grader's server expected the client to close its side of the "
                                         "connection (recv() returning b''), but {why}").format(why=why))

    # --- writing ------------------------------------------------------------------------

    def send_line(self, text: str) -> None:
        """Send `text` as one line (TCP) or one datagram (UDP), ending in b"\\n"."""
        self.send_bytes(text.encode("utf-8") + b"\n")

    def send_bytes(self, data: bytes, note: str = "") -> None:
        """Send `data` as it is: one segment (TCP, sendall) or one datagram (UDP)."""
        count = len(data)
        shown = shorten(data) if count <= 120 else ngettext("{count} byte: {data}", "{count} bytes: {data}",
                                                            count).format(count=count, data=shorten(data, 48))
        self._step(_("the grader's server sends {data}").format(data=shown) + (f" {note}" if note else ""))
        deadline = time.monotonic() + WAIT
        if self.transport == "udp":
            if self.peer is None:
                why = self._read_more(deadline)  # learn the client's address from its first datagram
                if why or self.peer is None:
                    raise ExpectationError(_("the grader's server cannot send: the client never sent a datagram "
                                             "({why})").format(why=why))
            self.sock.sendto(data, self.peer)
            self.sent += len(data)
            return
        why = self._accept(deadline)
        if why:
            raise ExpectationError(_("the grader's server cannot send: {why}").format(why=why))
        try:
            self.conn.sendall(data)
        except OSError as error:
            raise ExpectationError(_("the grader's server could not send ({error}): {why}").format(
                error=type(error).__name__, why=self._why("woken") if self.client else _("the client is gone"))) from None
        self.sent += len(data)

    def wait_taken(self, timeout: float = DRAIN_WAIT) -> bool:
        """Wait until the client's receives have returned every byte sent to it so far, so that the
        next send arrives in a recv() of its own; False if that was not seen within `timeout` s.

        The client's shim reports each receive (chatlab.sandbox.client_shim), on every system.
        Over UDP, a datagram that a too small buffer cuts is never counted whole: False.
        """
        if self.client is None or self.peer is None:  # nobody to wait for: not connected yet
            return False
        return self.client.wait_received(self.peer[1], self.sent, timeout)

    def send_split(self, data: bytes, at: int, note: str = "") -> None:
        """Send `data` in two pieces, cut after byte `at`, the second only once the client has read the first."""
        first = ngettext("(the first {count} byte)", "(the first {count} bytes)", at).format(count=at)
        self.send_bytes(data[:at], note or first)
        if not self.wait_taken():
            self._step(_("(the client did not read that piece within {seconds} s; the rest is sent anyway)").format(
                seconds=f"{DRAIN_WAIT:g}"))
        self.send_bytes(data[at:], _("(the rest)"))

    def close(self) -> None:
        """TCP: end the connection politely, a FIN (shutdown(SHUT_WR)): the client's recv() returns b""."""
        self._step(_("the grader's server closes the connection (FIN)"))
        why = self._accept(time.monotonic() + WAIT)
        if why:
            raise ExpectationError(_("the grader's server cannot close the connection: {why}").format(why=why))
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_WR)

    def reset(self) -> None:
        """TCP: end the connection abruptly, a RST: the client's recv() raises ConnectionResetError."""
        self._step(_("the grader's server resets the connection (RST)"))
        why = self._accept(time.monotonic() + WAIT)
        if why:
            raise ExpectationError(_("the grader's server cannot reset the connection: {why}").format(why=why))
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()  # later sends fail with OSError; reads see eof
        self.eof = self.was_reset = True

    def shutdown(self) -> None:
        """Release the sockets (at the end of the scenario)."""
        for sock in (self.conn, self.sock, self._wake_r, self._wake_w):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def transcript(self) -> str:
        """What the client sent, for a story (over UDP, with the datagrams that arrived since the last read)."""
        while self.transport == "udp" and select.select([self.sock], [], [], 0)[0]:
            try:
                self.received.append(self.sock.recvfrom(65535)[0])
            except OSError:
                break
        shown = describe(self.received, most=8)
        if self.partial:
            shown += ", " + _("then {data} with no newline after it").format(data=shorten(self.partial))
        if self.transport == "tcp":
            if self.conn is None:
                shown += " (" + _("the client never connected") + ")"
            elif self.was_reset:
                shown += ", " + _("then the grader's server reset the connection")
            elif self.eof:
                shown += ", " + _("then the client closed its side")
        return shown


class ReliableFakeServer(FakeServer):
    """The grader's scripted UDP server speaking lab 5 (PROTOCOL.md, "Lab 5"): numbered lines, acknowledgements.

    The test says each step: `expect_data(n, line)` waits for the client's `D n line` (and
    acknowledges it, unless told not to), `expect_ack(n)` for its `A n`; `send_data(n, line)`
    and `ack(n)` send. Nothing is sent again behind the test's back: over loopback nothing is
    lost, and a test that wants a copy sends one. While waiting for one kind, the other
    kind's routine traffic is skipped: the client's acknowledgements while a data datagram is
    awaited, copies of lines already acknowledged at any time. Datagrams are read with
    chatlab.harness.reliable.parse, the reading the grader's scripted reliable client uses.
    """

    def __init__(self, step: Callable[[str], None] = quiet):
        super().__init__("udp", step)
        self.acked = 0      # the highest line of the client's this server acknowledged

    def _read(self, got: bytes) -> Datagram | None:
        return parse(got.removesuffix(b"\n").removesuffix(b"\r"))

    def expect_data(self, number: int, line: str, timeout: float = WAIT, ack: bool = True) -> None:
        """Wait for the client's data datagram `D number line` (UTF-8); then send `A number` if `ack`."""
        wanted = f"D {number} {line}".encode("utf-8")

        def judge(got: bytes):
            datagram = self._read(got)
            if datagram is not None and (datagram.kind == "A" or datagram.number < number):
                return None  # an acknowledgement, or a copy of an earlier line (sent before its "A" arrived)
            if datagram is not None and datagram.number == number and datagram.line == line.encode("utf-8"):
                return True
            problem = _("the grader's server expected {wanted} from the client, but it sent {got}").format(
                wanted=self._what(wanted), got=shorten(got))
            if datagram is None:
                return problem + _(", which is neither 'D n line' nor 'A n'")
            if datagram.number > number:
                return problem + _(": line {later} before line {number} was acknowledged (one line in flight at a "
                                   "time: the next only after 'A {number}')").format(later=datagram.number,
                                                                                    number=number)
            return problem

        what = self._what(wanted)
        if any(got.removesuffix(b"\n").removesuffix(b"\r") == wanted for got in self.received[:self._cursor]):
            what = _("{datagram} again (a retransmission)").format(datagram=what)
        self._take(what, [wanted], judge, timeout)
        if ack:
            self.ack(number)

    def expect_ack(self, number: int, timeout: float = WAIT, up_to: int | None = None) -> int:
        """Wait for the client's `A number` (or any of `A number` to `A up_to`); return the number acknowledged.

        Lower acknowledgements are skipped (answers to earlier lines that crossed), and so are
        copies of the client's lines already acknowledged; anything else is a problem.
        """
        highest = number if up_to is None else up_to
        wanted = f"A {number}".encode()
        what = self._what(wanted) if up_to is None else _("an acknowledgement from {low} to {high}").format(
            low=shorten(wanted), high=shorten(f"A {up_to}".encode()))

        def judge(got: bytes):
            datagram = self._read(got)
            if datagram is not None and datagram.kind == "A":
                if datagram.number < number:
                    return None  # the answer to an earlier line, or a lower one than wanted: the wanted one may follow
                if datagram.number <= highest:
                    return True
            elif datagram is not None and datagram.number <= self.acked:
                return None  # a copy of a line already acknowledged, sent before its "A" arrived
            return _("the grader's server expected {wanted} from the client, but it sent {got}").format(
                wanted=what, got=shorten(got))

        got = self._take(what, [wanted], judge, timeout)
        return self._read(got).number

    def ack(self, number: int) -> None:
        """Send `A number`: every line of the client's up to `number` arrived."""
        self.acked = max(self.acked, number)
        self.send_bytes(f"A {number}\n".encode())

    def send_data(self, number: int, line: str, note: str = "") -> None:
        """Send the client the data datagram `D number line` (UTF-8, ending in b"\\n", as the lab 5 server does)."""
        shown = "" if line.isascii() else f"({shorten(line)})"
        self.send_bytes(f"D {number} {line}\n".encode("utf-8"), " ".join(part for part in (shown, note) if part))
