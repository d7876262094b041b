"""Run a lab's server in a thread and talk to it with scripted clients, every wait bounded.

Used by `chatlab demo`, the kit's tests and (later) the grader. Nothing here sleeps to
synchronise: a server reports its port once it listens, and a client waits for the exact
line it expects, up to a timeout, with a Condition.
"""
from __future__ import annotations

import contextlib
import queue
import socket
import struct
import sys
import threading
import time
from typing import Callable

from grader.catalog import Lab, load_module
from grader.wiretap import Wiretap

WAIT = 5.0          # seconds any single expectation may take before it is a failure
RECV_SIZE = 65536


class ExpectationError(AssertionError):
    """A scripted client did not receive what it expected in time."""


def shorten(data: bytes, limit: int = 120) -> str:
    """repr() of `data`, cut in the middle if long: failure messages must stay readable."""
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit // 2]!r} ... ({len(data) - limit} bytes) ... {data[-limit // 2:]!r}"


def describe(lines: list[bytes], most: int = 8) -> str:
    """The last `most` lines, shortened, and how many came before them."""
    shown = ", ".join(shorten(line) for line in lines[-most:])
    earlier = len(lines) - most
    return f"[{shown}]" if earlier <= 0 else f"{earlier} lines, then [{shown}]"


class ServerHost:
    """A server under test, wherever it runs, and the scripted clients talking to it.

    A host that learns its server has failed calls fail(reason): every client's wait is
    then cut short with that reason, so a broken server fails a script at once instead of
    after a timeout.
    """

    def __init__(self, lab: Lab):
        self.lab = lab
        self.address: tuple = ()
        self.clients: list[ScriptedClient] = []
        self._failure = ""

    def failure(self) -> str:
        """Why the server is not serving, or "" while it is."""
        return self._failure

    def fail(self, reason: str) -> None:
        if not self._failure:
            self._failure = reason
        for client in list(self.clients):
            client.abort(self._failure)

    def client(self, name: str, on_line=None) -> "ScriptedClient":
        """Connect a new scripted client (TCP or UDP, as the lab speaks) called `name`."""
        try:
            client = client_for(self.lab)(self.address, name, on_line)
        except OSError as error:
            raise ExpectationError(f"{name} could not connect ({error}); "
                                   f"{self.failure() or 'the server is not listening'}") from None
        self.clients.append(client)
        if self._failure:
            client.abort(self._failure)
        return client

    def join(self, *nicks: str, members=(), step=None) -> list["ScriptedClient"]:
        """Connect a client per nick and join it (`/join NICK` over UDP); the join probe for each.

        Each newcomer waits for its welcome, and each of `members` (clients that joined before)
        and of the newcomers before it waits for "* nick joined": after that the room's
        membership is known, so what comes next happens in a known order. `step(text)`, if
        given, is told each step (a scenario's story).
        """
        joined: list[ScriptedClient] = []
        for nick in nicks:
            client = self.client(nick)
            client.send_line(f"/join {nick}" if self.lab.transport == "udp" else nick)
            if step:
                step(f"{nick} connects and asks for the nickname {nick!r}")
            client.expect(f"* welcome {nick}", fail_on="! ")
            for earlier in [*members, *joined]:
                earlier.expect(f"* {nick} joined")
            joined.append(client)
        return joined

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()


class LabSession(ServerHost):
    """A lab's server running in a daemon thread of this process (demo, the kit's tests).

    The server listens as soon as it is constructed, so clients may connect at once. If
    serve_forever() raises, the error is kept in `errors` and the server is shut down.
    """

    def __init__(self, lab: Lab, target="solutions", host="127.0.0.1", tap=False, **options):
        super().__init__(lab)
        module = load_module(lab, "server", target)
        self.server = getattr(module, lab.server_class)(host, 0, **options)
        self.address = tuple(self.server.address)
        # With tap=True, a Wiretap records the server's socket calls (the notebooks draw them). It
        # starts before the server's first recv: a call already blocked when a tap starts goes unseen.
        self.tap = Wiretap(self.address).__enter__() if tap else None
        self.errors: list[BaseException] = []
        self._stopped = False
        self._stop_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"{lab.stem} server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.serve_forever()
        except Exception as error:  # reported by the session, never lost in a thread
            self.errors.append(error)
            self.fail(f"the server failed: {type(error).__name__}: {error}")
            self.stop()

    def stop(self) -> None:
        """Shut the server down, once, however many times it is asked."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.server.shutdown()

    def close(self) -> None:
        self.close_clients()
        self.stop()
        self._thread.join(WAIT)
        if self.tap:
            self.tap.__exit__(None, None, None)


@contextlib.contextmanager
def lab_session(lab: Lab, target="solutions", **options):
    """A LabSession for the duration of a `with` block."""
    session = LabSession(lab, target, **options)
    try:
        yield session
    finally:
        session.close()


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

    def texts(self) -> list[str]:
        with self._arrived:
            return [raw.decode("utf-8", errors="replace") for raw in self.received]

    def expect(self, *texts: str, timeout: float = WAIT, fail_on: str | None = None) -> str:
        """Wait until a line equal to one of `texts` arrives after the lines matched so far; return it.

        With `fail_on`, a line starting with it (an error such as "! ") fails the wait at once.
        """
        wanted = [text.encode("utf-8") for text in texts]
        refusal = fail_on.encode("utf-8") if fail_on else None
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for index in range(self._cursor, len(self.received)):
                    if self.received[index] in wanted:
                        self._cursor = index + 1
                        return self.received[index].decode("utf-8")
                    if refusal and self.received[index].startswith(refusal):
                        raise ExpectationError(f"{self.name} expected {' or '.join(map(shorten, wanted))}, "
                                               f"but the server answered {shorten(self.received[index])}")
                left = deadline - time.monotonic()
                if left <= 0 or self.closed or self.aborted:
                    seen = self.received[self._cursor:]
                    why = (self.aborted or ("the server closed the connection" if self.closed
                                            else f"{timeout:g} s passed"))
                    raise ExpectationError(f"{self.name} expected {' or '.join(map(shorten, wanted))}, but {why}; "
                                           f"it received {describe(seen)}")
                self._arrived.wait(left)

    def send_bytes(self, data: bytes) -> None:
        """Send `data` as it is; a failure (reset, closed, a server not reading for WAIT s) is an ExpectationError."""
        try:
            self._send(data)
        except OSError as error:
            raise ExpectationError(f"{self.name} could not send {shorten(data)}: {error}"
                                   + (f"; {self.aborted}" if self.aborted else "")) from None

    def _send(self, data: bytes) -> None:
        raise NotImplementedError  # each transport sends in its own way

    def expect_closed(self, timeout: float = WAIT) -> None:
        """Wait until the server has closed this client's connection."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.closed or self.aborted, timeout) or not self.closed:
                why = self.aborted or f"{timeout:g} s passed"
                raise ExpectationError(f"{self.name} expected the server to close the connection, but {why}")


class LineClient(ScriptedClient):
    """A scripted TCP client speaking lines (PROTOCOL.md framing)."""

    def __init__(self, address, name: str, on_line=None):
        super().__init__(name, on_line)
        self.stream = bytearray()  # every byte received, as it came: `received` holds it split in lines
        # The timeout bounds sendall() too: a server that stops reading cannot hang the script.
        self.sock = socket.create_connection(address, timeout=WAIT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        if pending:
            self._deliver(pending)  # an unterminated last line is still shown
        self._mark_closed()

    def send_line(self, text: str) -> None:
        self.send_bytes(text.encode("utf-8") + b"\n")

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

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
            self._deliver(data.removesuffix(b"\n"))
        self._mark_closed()

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
    return DatagramClient if lab.transport == "udp" else LineClient


class TypedClient(ScriptedClient):
    """A lab's own client, run_client() in a thread, typed to like a person at a keyboard.

    `type(text)` is a line typed; `end_input()` is Ctrl+D; what the client shows is
    collected like a scripted client's received lines, so expect() works on it.
    """

    def __init__(self, lab: Lab, address, name: str, target="solutions", **options):
        super().__init__(name)
        module = load_module(lab, "client", target)
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
            self.abort(f"the client failed: {type(error).__name__}: {error}")
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


def _proc_tcp_address(address) -> str:
    """127.0.0.1:80 as /proc/net/tcp writes it: 0100007F:0050."""
    host, port = address[:2]
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def tcp_queues(local, remote) -> tuple[int, int] | None:
    """(tx_queue, rx_queue) of the TCP socket local->remote, from /proc/net/tcp, or None.

    A Linux-only probe: with it a scenario can wait until a peer has read everything, so
    that the next bytes arrive in a recv() of their own. Elsewhere it returns None and the
    scenarios go on without the wait (a cut is then likely, not certain).
    """
    want = (_proc_tcp_address(local), _proc_tcp_address(remote))
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            for row in table:
                fields = row.split()
                if len(fields) > 4 and (fields[1], fields[2]) == want:
                    tx, rx = fields[4].split(":")
                    return int(tx, 16), int(rx, 16)
    except OSError:
        pass
    return None
