"""Scripted clients: a receiving thread collects every line, `expect()` waits (bounded) for one.

`LineClient` speaks TCP (lines ending in b"\\n"), `DatagramClient` UDP (a datagram per line),
`TypedClient` runs a lab's own client.py in a thread and types to it like a person. A test,
the grader, the demo, the notebooks and the bench's idle check all drive servers with them.
"""
from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
import time
from typing import Callable, Iterator

from chatlab.catalog import Lab, load_module
from chatlab.harness.waiting import FELL_SILENT, WAIT, ExpectationError, describe, seconds_passed, shorten
from chatlab.i18n import _

RECV_SIZE = 65536
SILENCE_AFTER = 0.25   # seconds a wait goes unanswered before the server is asked whether it fell silent
SILENCE_PROBE = 0.1    # seconds between two such questions


class ScriptedClient:
    """Base for the scripted clients: a receiving thread collects lines; expect() waits for one.

    Every received line is kept (bytes, as on the wire) in `received`; `on_line(name, text)`
    is called for each as it arrives, which is how the demo prints a conversation live.
    """

    def __init__(self, name: str, on_line: Callable[[str, str], None] | None = None):
        self.name = name
        self.received: list[bytes] = []
        self.closed = False           # True once the server closed the connection (TCP)
        self.aborted = ""             # why waiting is pointless, e.g. the server failed
        self._cursor = 0              # lines before it were matched by an earlier expect()
        self._arrived = threading.Condition()
        self._on_line = on_line
        self.sent: list[bytes] = []   # what this client sent, as it was sent (a diagnosis reads it)
        self.bytes_received = 0       # bytes received and delivered to `received`, as the server sent them
        # Set by the host of a server that can tell when it has fallen silent: a generator that
        # yields "" while the server may still send, or why it will not (see expect()).
        self.silence: Callable[[], Iterator[str]] | None = None

    def _deliver(self, raw: bytes) -> None:
        with self._arrived:
            self.received.append(raw)
            self._arrived.notify_all()
        if self._on_line:
            self._on_line(self.name, raw.decode("utf-8", errors="replace"))

    def _mark_closed(self) -> None:
        with self._arrived:
            self.closed = True
            self._arrived.notify_all()

    def abort(self, reason: str) -> None:
        """Make every wait of this client fail now, giving `reason`."""
        with self._arrived:
            self.aborted = reason
            self._arrived.notify_all()

    def sent_texts(self) -> list[str]:
        """The lines this client sent, decoded (split on b"\\n" over TCP; a datagram is a line over UDP)."""
        data = b"\n".join(self.sent)
        return [line.decode("utf-8", errors="replace").removesuffix("\r") for line in data.split(b"\n") if line]

    def texts(self) -> list[str]:
        with self._arrived:
            return [raw.decode("utf-8", errors="replace") for raw in self.received]

    def expect(self, *texts: str, timeout: float = WAIT, fail_on: str | None = None, patient: bool = False) -> str:
        """Wait until a line equal to one of `texts` arrives after the lines matched so far; return it.

        With `fail_on`, a line starting with it (an error such as "! ") fails the wait at once.
        The wait also ends early once the server is known to have fallen silent or to spin
        (`silence`, set by the host), unless `patient`: a line that only a timer of the
        server's will send (an idle timeout) may come after a silence.
        """
        wanted = [text.encode("utf-8") for text in texts]
        refusal = fail_on.encode("utf-8") if fail_on else None

        def matched():
            for index in range(self._cursor, len(self.received)):
                if self.received[index] in wanted:
                    self._cursor = index + 1
                    return self.received[index].decode("utf-8")
                if refusal and self.received[index].startswith(refusal):
                    self._fail(wanted, "refused", _("the server answered {line}").format(
                        line=shorten(self.received[index])))
            if self.closed or self.aborted:
                self._fail(wanted, "aborted" if self.aborted else "closed",
                           self.aborted or _("the server closed the connection"))
            return None

        return self._wait(matched, lambda kind, why: self._fail(wanted, kind, why), timeout, patient)

    def expect_closed(self, timeout: float = WAIT, patient: bool = False) -> None:
        """Wait until the server has closed this client's connection."""
        def closed():
            if self.aborted:
                fail("aborted", self.aborted)
            return True if self.closed else None

        def fail(kind: str, why: str):
            raise ExpectationError(_("{name} expected the server to close the connection, but {why}").format(
                                       name=self.name, why=why),
                                   client=self, seen=self.received[self._cursor:], kind=kind)

        self._wait(closed, fail, timeout, patient)

    def _wait(self, done: Callable[[], object], fail: Callable[[str, str], None], timeout: float, patient: bool):
        """Wait until `done()` (called with the lock held) returns something, and return it.

        `fail(kind, why)` raises when the wait ends without it: after `timeout` seconds, or as soon
        as the host's `silence` probe says the server fell silent or spins (unless `patient`).
        """
        started = time.monotonic()
        deadline = started + timeout
        probe = None if patient or self.silence is None else self.silence()  # None: this host cannot tell
        while True:
            with self._arrived:
                result = done()
                if result is not None:
                    return result
                now = time.monotonic()
                if now >= deadline:
                    fail("timeout", seconds_passed(timeout))
                self._arrived.wait(min(deadline - now, SILENCE_PROBE))
            if probe is not None and time.monotonic() - started >= SILENCE_AFTER:
                why = next(probe)
                if why:
                    with self._arrived:
                        result = done()  # it may have come while the server was asked: then it was not silent
                        if result is not None:
                            return result
                        fail("silent" if why == FELL_SILENT else "spinning", _(why))

    def _fail(self, wanted: list[bytes], kind: str, why: str) -> None:
        """Raise the ExpectationError of a wait for `wanted` that ended (kind: timeout, closed, aborted,
        silent, spinning or refused), with what arrived instead. Called with self._arrived held."""
        seen = self.received[self._cursor:]
        raise ExpectationError(_("{name} expected {wanted}, but {why}; it received {seen}").format(
                                   name=self.name, wanted=_(" or ").join(map(shorten, wanted)), why=why,
                                   seen=describe(seen)), client=self, wanted=wanted, seen=seen, kind=kind)

    def send_bytes(self, data: bytes) -> None:
        """Send `data` as it is; a failure (reset, closed, a server not reading for WAIT s) is an ExpectationError."""
        self.sent.append(data)
        try:
            self._send(data)
        except OSError as error:
            raise ExpectationError(_("{name} could not send {data}: {error}").format(
                                       name=self.name, data=shorten(data), error=error)
                                   + (f"; {self.aborted}" if self.aborted else "")) from None

    def _send(self, data: bytes) -> None:
        raise NotImplementedError  # each transport sends in its own way


class LineClient(ScriptedClient):
    """A scripted TCP client speaking lines (PROTOCOL.md framing)."""

    def __init__(self, address, name: str, on_line=None):
        super().__init__(name, on_line)
        self.bytes_sent = 0           # what the server must have read before the next bytes come apart
        self.stream = bytearray()  # every byte received, as it came: `received` holds it split in lines
        # The timeout bounds sendall() too: a server that stops reading cannot hang the script.
        self.sock = socket.create_connection(address, timeout=WAIT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]   # the server knows this client by it
        self._receiver = threading.Thread(target=self._receive, name=f"{name} receiver", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        pending = b""
        while True:
            try:
                chunk = self.sock.recv(RECV_SIZE)
            except socket.timeout:  # quiet for a while: normal, keep listening
                continue
            except OSError:
                break
            if not chunk:
                break
            with self._arrived:
                self.stream += chunk
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._deliver(line)
            self.bytes_received += len(chunk)
        if pending:
            self._deliver(pending)  # an unterminated last line is still shown
        self._mark_closed()

    def send_line(self, text: str) -> None:
        self.send_bytes(text.encode("utf-8") + b"\n")

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.bytes_sent += len(data)

    def reset(self) -> None:
        """Vanish abruptly: SO_LINGER (on, 0 s) makes close() send RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def half_close(self) -> None:
        """shutdown(SHUT_WR): "I will send no more", while still receiving."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._receiver.join(WAIT)


class DatagramClient(ScriptedClient):
    """A scripted UDP client: one line, one datagram."""

    def __init__(self, address, name: str, on_line=None):
        super().__init__(name, on_line)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(address)
        self.port = self.sock.getsockname()[1]   # the server knows this client by it
        self.sock.settimeout(0.2)  # so the receiving thread notices close() promptly
        self._stop = threading.Event()
        self._receiver = threading.Thread(target=self._receive, name=f"{name} receiver", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                continue
            except OSError:
                break
            self._datagram(data.removesuffix(b"\n"))
            self.bytes_received += len(data)
        self._mark_closed()

    def _datagram(self, data: bytes) -> None:
        """One datagram arrived (its "\\n" taken off): one line. A subclass that speaks more than lines overrides it."""
        self._deliver(data)

    def send_line(self, text: str) -> None:
        self.send_bytes(text.encode("utf-8"))

    def _send(self, data: bytes) -> None:
        self.sock.send(data)

    def close(self) -> None:
        # Nothing wakes a UDP recv() early (shutdown() does not, on Linux), and there is no need
        # to wait: once closed, the receiving thread's next recv() fails and it ends by itself.
        self._stop.set()
        self.sock.close()


def client_for(lab: Lab) -> type[ScriptedClient]:
    """The scripted client class that speaks `lab`'s transport."""
    if lab.reliable:
        from chatlab.harness.reliable import ReliableDatagramClient  # it builds on this module
        return ReliableDatagramClient
    return DatagramClient if lab.transport == "udp" else LineClient


class TypedClient(ScriptedClient):
    """A lab's own client, run_client() in a thread, typed to like a person at a keyboard.

    `type(text)` is a line typed; `end_input()` is Ctrl+D; what the client shows is
    collected like a scripted client's received lines, so expect() works on it.
    """

    def __init__(self, lab: Lab, address, name: str, target="solutions", **options):
        super().__init__(name)
        from chatlab.harness.session import stand_in  # here: session imports this module
        module = load_module(lab, "client", stand_in(lab, "client", target))  # a student kit has no reference
        if lab.has_nicknames:
            options["name"] = name
        self.error: BaseException | None = None
        self._typed: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(module, address, options),
                                        name=f"{name} client", daemon=True)
        self._thread.start()

    def _run(self, module, address, options) -> None:
        try:
            module.run_client(*address, read_line=self._read_line,
                              show=lambda text: self._deliver(text.encode("utf-8")), **options)
        except BaseException as error:  # kept for the test to report
            self.error = error
            self.abort(_("the client failed: {error}").format(error=f"{type(error).__name__}: {error}"))
        self._mark_closed()

    def _read_line(self) -> str:
        text = self._typed.get()
        if text is None:
            raise EOFError
        return text

    def type(self, text: str) -> None:
        self._typed.put(text)

    def end_input(self) -> None:
        self._typed.put(None)

    def wait_finished(self, timeout: float = WAIT) -> bool:
        """True once run_client() has returned (or raised) within `timeout` seconds."""
        self._thread.join(timeout)
        return not self._thread.is_alive()
