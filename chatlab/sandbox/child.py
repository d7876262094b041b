"""Inside the disposable child process: run a submission's server in a thread, and report.

    python -m chatlab.sandbox.child LAB TARGET OPTIONS_JSON FAULTS_JSON

The parent (chatlab.sandbox.server_process.ServerProcess) reads events from this process's stdout: lines
that start with EVENT_PREFIX and carry JSON. The submission's own prints go to a bounded
buffer instead, so a server that prints megabytes can neither fill a pipe nor confuse the
protocol. The parent writes commands to stdin: `stacks` (where is every thread now?), `cpu`
(CPU seconds used so far), `output` (the end of what the server printed), `wait-read PORT N`
(wait until the server's recv calls have returned N bytes from the client at PORT),
`quiet` (is every thread of the server waiting, with nothing for it to read?) and `stop`
(call shutdown(), then exit). End of stdin also ends the process.

Every socket the submission makes is a WatchedSocket (see Watch): the child knows how many
bytes the server has read from each client, which client each thread serves, and which
threads are waiting in a socket call. That is how the grader synchronises on "the server
has read the first piece" on every OS, names the client a dead thread served, and ends a
wait as soon as the server has fallen silent instead of after a fixed timeout.

Faults (FAULTS_JSON) are injected before the submission is imported, each exposing one
pitfall deterministically: {"send_cap": 7} makes socket.send() send at most 7 bytes (legal,
and fatal to code that ignores its return value); {"sndbuf": 4096} gives accepted sockets a
tiny send buffer; {"switch_interval": 1e-6} makes threads switch far more often.

{"gates": true} turns two races into certainties (see Gates): a recv() on an accepted socket
that fails with a reset waits until the parent releases it, so the dead client is still in
the server's list while the others broadcast; and the parent may hold the next send() to one
client (`hold PORT`, `release PORT`, `wait-held PORT`; PORT is the client's own port, the
accepted socket's peer port) while other clients change the server's list. {"lock_gates":
true} holds each client's thread at the first lock it takes after reading its nickname
(chatlab/sandbox/lock_gate.py), until the parent releases it.
"""
from __future__ import annotations

import contextlib
import dis
import errno
import faulthandler
import functools
import json
import os
import re
import select
import socket
import sys
import threading
import time
import traceback
import weakref

from chatlab.catalog import find_lab, load_module, target_dir
from chatlab.i18n import LANGUAGES, _, translation, use
from chatlab.sandbox import guard, lock_gate

EVENT_PREFIX = "\x1echatlab "    # a control character no submission prints by accident
OUTPUT_LIMIT = 64 * 1024         # characters of the submission's prints that are kept
STOP_WAIT = 2.0                  # seconds shutdown() may take
# Seconds after which a server that is not listening yet has every thread's stack dumped to stderr:
# the parent sets it a little under the time it waits (chatlab.sandbox.server_process.STARTUP_WAIT).
STARTUP_DUMP = float(os.environ.get("CHATLAB_STARTUP_DUMP", "8"))
LANG_VARIABLE = "CHATLAB_LANG"     # the language of the grader that started this child (chatlab.i18n)


class BoundedOutput:
    """Stands in for sys.stdout: keeps the first OUTPUT_LIMIT characters and the last TAIL_LIMIT, counts all."""

    TAIL_LIMIT = 4096

    def __init__(self):
        self.kept = []
        self.size = 0
        self._tail = ""
        self._lock = threading.Lock()

    def write(self, text):
        with self._lock:
            if self.size < OUTPUT_LIMIT:
                self.kept.append(text[: OUTPUT_LIMIT - self.size])
            self.size += len(text)
            self._tail = (self._tail + text)[-self.TAIL_LIMIT:]
        return len(text)

    def tail(self) -> str:
        with self._lock:
            return self._tail

    def flush(self):
        pass


class Reporter:
    """Writes events to the parent, one JSON line each, from any thread."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event, **fields):
        line = EVENT_PREFIX + json.dumps({"event": event, **fields}) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


class _Hold:
    """One thread waiting at a gate, until the scenario releases it."""

    def __init__(self):
        self.released = False


class Gates:
    """Points where the server's threads wait, so that a race the grader needs happens every time.

    Sockets are named by their peer's port (the scripted client's own port). A thread is held:
    - after a reset: its recv() on an accepted socket failed with ConnectionResetError
      (faults {"gates": true}), so the dead client stays in the server's list meanwhile. The
      thread that reads a client may send to it too, often holding a lock of the submission;
      its send to a client that reset is reported sent (as if the reset came a moment later),
      and its next recv() fails instead, outside those locks;
    - at a send: the scenario asked to hold the next send() to that client (`hold PORT`,
      {"gates": true}), so a broadcast stops halfway while other clients change the list;
    - in the middle of a send: `hold-midway PORT` sends the first half of the next sendall's
      bytes, then holds (a send() is held before it), so another thread that sends to that client now (without a lock per
      connection) puts its line inside the held one;
    - at a lock: it takes its first lock after reading the first bytes of its client, the
      nickname ({"lock_gates": true}, see chatlab/sandbox/lock_gate.py), so two clients that
      ask for the same name have both read it before either may check whether it is free.

    Every hold ends only when the scenario says `release PORT`, which lets the newest hold at
    PORT go: a held send to a dead client can fail while the client's own reader still waits.
    Nothing else ends a hold (HOLD_LIMIT is only for a scenario that died): the reset hold used
    to end at the first failed send to the client too, and a late "* alice joined" from the
    join phase could be that send, which let the dead client be removed before the broadcast
    under test was even read.

    `wait-held PORT` waits until the hold a scenario counts on is in place (the send, once
    `hold PORT` was asked; otherwise any), at most WAIT_HELD seconds, and answers whether it
    is: false means the scenario cannot set up its race, and it says so.
    """

    WAIT_HELD = 3.0    # seconds `wait-held` waits for a hold
    HOLD_LIMIT = 20.0  # seconds a hold lasts if the scenario never releases it (it failed, or died)

    def __init__(self):
        self._changed = threading.Condition()
        self._holds = {}            # port -> the _Holds in place there now, oldest first
        self._send_armed = {}       # port -> True if its next send() is to be held midway, False: before
        self._reader = {}           # port -> ident of the thread that last read from it
        self._reset_later = set()   # ports whose reader's send failed: its next recv() fails instead
        self._reset_seen = set()    # ports whose reset has been noticed (and held) once
        self.lock_holds = False     # lock gates installed (chatlab.sandbox.lock_gate.install)
        self._lock_decided = set()  # ports whose first bytes were read, or whose lock hold was called off
        self._lock_armed = {}       # thread ident -> port: the thread's next lock is to be held
        self._before_lock = set()   # ports whose reader has read the nickname and taken no lock yet
        self._passed = set()        # ports sent to before their reader took a lock: no lock hold will come

    # --- the scenario's commands ----------------------------------------------------

    def hold_next_send(self, port: int, midway: bool = False) -> None:
        with self._changed:
            self._send_armed[port] = midway

    def release(self, port: int) -> None:
        """Let the newest hold at `port` go; with none in place, call off the holds not reached yet."""
        with self._changed:
            waiting = [hold for hold in self._holds.get(port, ()) if not hold.released]
            if waiting:
                waiting[-1].released = True
            else:
                self._send_armed.pop(port, None)
                self._before_lock.discard(port)
                self._lock_decided.add(port)
            self._changed.notify_all()

    def wait_held(self, port: int, hopeless=lambda: False) -> bool:
        """Wait until the hold the scenario counts on at `port` is in place; False if not within WAIT_HELD,
        or once `hopeless()` (the server fell silent: no thread will ever get there)."""
        def in_place():
            return port not in self._send_armed and any(not hold.released for hold in self._holds.get(port, ()))

        deadline = time.monotonic() + self.WAIT_HELD
        with self._changed:
            while not (in_place() or port in self._passed) and time.monotonic() < deadline and not hopeless():
                self._changed.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            return in_place()

    # --- called by the server's threads, through its sockets and locks -----------------

    def is_armed(self, port) -> bool:
        """Whether the next send() to `port` is to be held."""
        with self._changed:
            return port in self._send_armed

    def before_send(self, port, can_split: bool = False) -> bool:
        """The calling thread is about to send to `port`: hold it if the scenario asked. True: the hold
        asked for is midway and the send `can_split`: the caller sends half, then calls hold()."""
        with self._changed:
            if port in self._before_lock:  # answered before taking a lock: the lock gate cannot hold it
                self._before_lock.discard(port)
                self._passed.add(port)
                self._changed.notify_all()
            if port not in self._send_armed:
                return False
            midway = self._send_armed.pop(port)  # one send() only: the others go through
        if midway and can_split:
            return True
        self.hold(port)
        return False

    def before_recv(self, port) -> bool:
        """The calling thread is about to read from `port`; True if that recv() is to fail with a reset."""
        with self._changed:
            self._reader[port] = threading.get_ident()
        return self.reset_pending(port)

    def reset_pending(self, port) -> bool:
        """Whether a reset that a send to `port` met is still to be reported to its reader (once: then not)."""
        with self._changed:
            if port not in self._reset_later:
                return False
            self._reset_later.discard(port)  # reported once, as a real reset is
            return True

    def after_reset(self, port) -> None:
        """A recv() saw the peer reset: wait until the scenario releases the dead client (the first time only)."""
        with self._changed:
            if port in self._reset_seen:
                return
            self._reset_seen.add(port)
        self.hold(port)

    def reset_later(self, port) -> bool:
        """A send() to `port` failed with a reset: True if it is to be reported sent (the calling thread reads `port`).

        The kernel reports a reset once: a send that meets it first (another thread's, or a
        writer thread's) leaves the reader an ordinary end of stream. The reader is told of the
        reset anyway (its next recv(), or the one it is in, fails with it), so that the reset
        hold happens whichever thread sent: the scenario counts on it.
        """
        with self._changed:
            if port in self._reset_seen:
                return False
            self._reset_later.add(port)
            return self._reader.get(port) == threading.get_ident()

    def after_read(self, port) -> None:
        """Bytes arrived from `port`: the first ones (the nickname) arm the reading thread's next lock."""
        with self._changed:
            if not self.lock_holds or port in self._lock_decided:
                return
            self._lock_decided.add(port)
            self._lock_armed[threading.get_ident()] = port
            self._before_lock.add(port)

    def before_lock(self) -> None:
        """The calling thread is about to take one of the submission's locks."""
        if not self._lock_armed:  # the common case, without taking the gates' own lock
            return
        with self._changed:
            port = self._lock_armed.pop(threading.get_ident(), None)
            if port not in self._before_lock:
                return
            self._before_lock.discard(port)
        self.hold(port)

    def hold(self, port) -> None:
        """Wait here until the scenario releases this hold at `port`."""
        hold = _Hold()
        with self._changed:
            self._holds.setdefault(port, []).append(hold)
            self._changed.notify_all()
            self._changed.wait_for(lambda: hold.released, self.HOLD_LIMIT)
            self._holds[port].remove(hold)


GATES = Gates()


class Watch:
    """What the server's sockets did, kept for the parent's questions.

    Clients are named by their own port (the peer port of the server's socket for them).
    `read_from[port]` counts the bytes the server's recv calls returned from that client,
    `serving[thread]` is the client a thread last read from (the one it serves, in a
    thread-per-client server), and `waiting[thread]` the socket a thread is blocked on now.
    """

    STUCK = 0.05  # seconds between two looks at a send that may be stuck

    def __init__(self):
        self._changed = threading.Condition()
        self.read_from: dict[int, int] = {}
        self.serving: dict[int, int] = {}
        self.waiting: dict[int, object] = {}
        self.sending: dict[int, object] = {}   # the threads of `waiting` that are in a send
        self.moved = 0    # socket calls that moved data or a connection: a quiet server's count stays put
        self.sent_to: dict[int, int] = {}      # client port -> bytes sent to it (sends that returned)
        self.datagram_sockets = weakref.WeakSet()  # the server's bound UDP sockets: unread data means not quiet

    def entering(self, sock, call: str) -> None:
        self.waiting[threading.get_ident()] = sock
        if call.startswith("send"):
            self.sending[threading.get_ident()] = sock

    def left(self) -> None:
        self.waiting.pop(threading.get_ident(), None)
        self.sending.pop(threading.get_ident(), None)

    def send_stuck(self, port: int, timeout: float) -> bool:
        """Wait until a thread has been in a send to the client at `port` for two looks in a row,
        STUCK apart (its buffers are full: the send cannot finish); False after `timeout`."""
        deadline, before = time.monotonic() + timeout, set()
        while time.monotonic() < deadline:
            now = {ident for ident, sock in list(self.sending.items()) if getattr(sock, "_peer_port", None) == port}
            if now & before:
                return True
            before = now
            time.sleep(self.STUCK)  # sampling a state no event announces, bounded by the deadline
        return False

    def received(self, port, count: int) -> None:
        with self._changed:
            if port is not None:
                self.read_from[port] = self.read_from.get(port, 0) + count
                self.serving[threading.get_ident()] = port
            if count:
                self.moved += 1
            self._changed.notify_all()

    def sent(self, count: int, port=None) -> None:
        if count:
            with self._changed:
                self.moved += 1
                if port is not None:
                    self.sent_to[port] = self.sent_to.get(port, 0) + count

    def wait_read(self, port: int, total: int, timeout: float, hopeless) -> int:
        """Wait until the server has read `total` bytes from the client at `port`, and return what it read.

        Gives up after `timeout` seconds, or sooner once `hopeless()`: the server fell silent, so
        nothing will read those bytes.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.read_from.get(port, 0) < total and time.monotonic() < deadline and not hopeless():
                self._changed.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            return self.read_from.get(port, 0)


WATCH = Watch()
WAITING_MODULES = ("threading.py", "queue.py", "selectors.py")  # a thread whose innermost frame is here waits
GATE_WAITS = ("hold",)  # the sandbox's own waits (Gates) a thread may be held in
WAITING_CALLS = ("sleep(", "select(", ".acquire(", ".wait(", ".get(", ".join(", "input(", ".poll(")
SELECTING = re.compile(r"\b(select|poll)\(")
WITH_ENTRY = {"BEFORE_WITH", "SETUP_WITH"}  # the opcode that calls a context manager's __enter__ (3.11-3.13, 3.10)


def quiet(control: set[int]) -> tuple[bool, str]:
    """Whether every thread of the server waits with nothing to wake it, and if not, which one is busy.

    A thread waits if it is blocked in a socket call (a WatchedSocket method) with nothing
    readable for it, or in a lock, queue, event, sleep or select. A thread blocked in recv()
    whose socket has data (or an end of stream) is about to run, so it is not quiet; nor is a
    thread in a send whose socket has room (only a send to a client that stopped reading waits).
    `control` are this process's own threads.
    """
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    in_socket_calls = []
    selecting = False  # a thread waits in select() or poll(): a datagram not read yet would wake it
    for ident, frame in sys._current_frames().items():
        if ident in control:
            continue
        full = traceback.extract_stack(frame)
        stack = [entry for entry in full if entry.filename != __file__]
        where = (_("{thread} at {place}").format(thread=repr(names.get(ident, ident)), place=_place(stack[-1]))
                 if stack else repr(names.get(ident, ident)))
        sock = WATCH.waiting.get(ident)
        if sock is not None:
            in_socket_calls.append((where, sock, ident in WATCH.sending))
            continue
        if _in_bookkeeping(full) or _starting_a_thread(full):
            return False, where  # on its way back to the submission, or to a thread's target
        code = stack[-1] if stack else None
        selecting = selecting or bool(code and SELECTING.search(code.line or ""))
        if code is None or code.filename.endswith(WAITING_MODULES) or waits_at(code.line or "") \
                or entering_with(frame):
            continue
        return False, where
    for where, sock, sending in in_socket_calls:
        try:  # a recv() with data to read, or a send() with room to write, is about to go on
            ready = select.select([] if sending else [sock], [sock] if sending else [], [], 0)
        except (OSError, ValueError):  # closed meanwhile: nothing more will come from it
            continue
        if ready[0] or ready[1]:
            return False, where
    for sock in list(WATCH.datagram_sockets) if selecting else ():  # its select() may not have returned yet
        with contextlib.suppress(OSError, ValueError):
            if select.select([sock], [], [], 0)[0]:
                return False, "a datagram that the server has not read yet"
    return True, ""


def waits_at(line: str) -> bool:
    """Whether a thread whose innermost Python line is `line` waits there: it calls something that blocks."""
    return any(call in line for call in WAITING_CALLS)


def entering_with(frame) -> bool:
    """Whether `frame` waits in a `with` statement's __enter__, as `with self._send_lock:` does while
    another thread holds the lock: the acquire is C code, so the frame itself sits at the
    instruction that enters the `with`. A thread that merely runs through the line (a loop around
    a `with` block that spins) is never found there: it gives up the GIL only at other instructions."""
    return _instructions(frame.f_code).get(frame.f_lasti) in WITH_ENTRY


@functools.lru_cache(maxsize=512)
def _instructions(code) -> dict[int, str]:
    return {instruction.offset: instruction.opname for instruction in dis.get_instructions(code)}


def fallen_silent(control: set[int]):
    """A check for a bounded wait in this process: true once two calls in a row found every thread
    quiet with no data moved in between (the parent's ServerProcess.silence() says the same)."""
    before = None

    def check() -> bool:
        nonlocal before
        now = (quiet(control)[0], WATCH.moved)
        silent, before = now[0] and now == before, now
        return silent
    return check


def _in_bookkeeping(stack) -> bool:
    """Whether the innermost frames are this module's own (a WatchedSocket counting), not a gate's wait."""
    ours = []
    for entry in reversed(stack):
        if entry.filename == __file__:
            ours.append(entry.name)
        elif not entry.filename.endswith(WAITING_MODULES):
            break
    return bool(ours) and ours[0] not in GATE_WAITS


def _starting_a_thread(stack) -> bool:
    """Whether the thread is in Thread.start(), waiting for the thread it starts to run (it will:
    on a busy machine, that wait can be long), or is that new thread, not yet in its run()."""
    names = [entry.name for entry in stack]
    in_threading = {entry.name for entry in stack if entry.filename == threading.__file__}
    if "start" in in_threading:
        return True
    return "_bootstrap_inner" in in_threading and names[names.index("_bootstrap_inner") + 1:][:1] != ["run"]


def _place(entry) -> str:
    """file.py:LINE: code, for a report."""
    return f"{os.path.basename(entry.filename)}:{entry.lineno}: {(entry.line or '').strip()}"


def inject_faults(faults: dict) -> None:
    """Make every socket the submission creates a WatchedSocket, with the faults `faults` asks for."""
    if "switch_interval" in faults:
        sys.setswitchinterval(faults["switch_interval"])
    if faults.get("lock_gates"):
        lock_gate.install(GATES)
    send_cap, sndbuf, gates = faults.get("send_cap"), faults.get("sndbuf"), faults.get("gates")
    plain = socket.socket

    class WatchedSocket(plain):
        # socket.py creates accepted sockets through the module's `socket` name, so they
        # are WatchedSockets too.
        _peer_port = None  # the client's port, on accepted sockets

        def _blocking(self, method, *args):
            WATCH.entering(self, method.__name__)
            try:
                return method(*args)
            finally:
                WATCH.left()

        def send(self, data, *flags):
            data = bytes(memoryview(data)[:send_cap]) if send_cap else data
            if not gates or self._peer_port is None:
                return self._counted(self._blocking(super().send, data, *flags), self._peer_port)
            if flags and flags[0] & getattr(socket, "MSG_DONTWAIT", 0) and GATES.is_armed(self._peer_port):
                # A send that must not wait cannot be held: it finds the socket full, as a held
                # one would be, and whatever the server does with the rest is held instead.
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable (held by the grader)")
            return self._counted(self._gated(super().send, data, *flags), self._peer_port)

        def sendall(self, data, *flags):
            if not gates or self._peer_port is None:
                self._blocking(super().sendall, data, *flags)
            else:
                self._gated(super().sendall, data, *flags)
            WATCH.sent(len(data), self._peer_port)

        def sendto(self, data, *args):
            address = args[-1] if args else None  # sendto(data, address) or sendto(data, flags, address)
            return self._counted(self._blocking(super().sendto, data, *args),
                                 address[1] if isinstance(address, tuple) else None)

        @staticmethod
        def _counted(count, port):
            WATCH.sent(count, port)
            return count

        def _gated(self, method, data, *flags):
            if GATES.before_send(self._peer_port, can_split=method.__name__ == "sendall" and len(data) > 1):
                half = len(data) // 2  # held midway: half of the bytes go now, the rest after the hold
                self._blocking(method, data[:half], *flags)
                GATES.hold(self._peer_port)
                data = data[half:]
            args = (data, *flags)
            try:
                return self._blocking(method, *args)
            except (ConnectionResetError, BrokenPipeError):
                if not GATES.reset_later(self._peer_port):
                    raise
                return None if method.__name__ == "sendall" else len(args[0])

        def recv(self, *args):
            data = self._reset_gated(super().recv, *args)
            WATCH.received(self._peer_port, len(data))
            return data

        def recv_into(self, *args):
            count = self._reset_gated(super().recv_into, *args)
            WATCH.received(self._peer_port, count)
            return count

        def recvfrom(self, *args):
            data, address = self._blocking(super().recvfrom, *args)
            WATCH.received(address[1] if isinstance(address, tuple) else None, len(data))
            return data, address

        def _reset_gated(self, method, *args):
            try:
                if gates and self._peer_port is not None and GATES.before_recv(self._peer_port):
                    raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
                result = self._blocking(method, *args)
                if not result and gates and self._peer_port is not None and GATES.reset_pending(self._peer_port):
                    raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")  # a send met it first
                return result
            except ConnectionResetError:
                if gates and self._peer_port is not None:
                    GATES.after_reset(self._peer_port)
                raise

        def bind(self, address):
            super().bind(address)
            if self.type == socket.SOCK_DGRAM:
                WATCH.datagram_sockets.add(self)

        def accept(self):
            conn, address = self._blocking(super().accept)
            if sndbuf:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            conn._peer_port = address[1]
            WATCH.sent(1)  # a new connection is activity
            return conn, address

    socket.socket = WatchedSocket


def thread_stacks(skip=()) -> list[dict]:
    """Where every thread is now: [{"thread": name, "stack": [[file, line, function, code], ...]}]."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    stacks = []
    for ident, frame in sys._current_frames().items():
        if ident in skip:
            continue
        frames = [[f.filename, f.lineno, f.name, f.line or ""] for f in traceback.extract_stack(frame)]
        stacks.append({"thread": names.get(ident, str(ident)), "stack": frames})
    return stacks


def describe_error(error: BaseException) -> dict:
    return {"type": type(error).__name__, "message": str(error),
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))}


def main(argv=None) -> None:
    lab_name, target, options, faults = (argv or sys.argv[1:])
    report = Reporter(sys.stdout)
    output = sys.stdout = BoundedOutput()
    inject_faults(json.loads(faults))

    def on_thread_error(hook):  # SystemExit too: sys.exit() in a thread ends only that thread, silently
        served = WATCH.serving.get(hook.thread.ident) if hook.thread else None
        report("thread-error", thread=hook.thread.name if hook.thread else "?", port=served,
               **describe_error(hook.exc_value))
    threading.excepthook = on_thread_error

    lab = find_lab(lab_name)
    lang = os.environ.get(LANG_VARIABLE, "en")
    use(lang if lang in LANGUAGES else "en")  # the language of where its threads are (the parent's)
    translation(lang)  # the catalog read now, before the guard is up
    guard.install(target_dir(target))  # before the submission runs: no writes outside it, no solutions/
    # A start that hangs (an import or __init__ that blocks) cannot answer "stacks": this dump,
    # cancelled once the server listens, tells the parent where it hung.
    faulthandler.dump_traceback_later(STARTUP_DUMP, file=sys.stderr)
    try:
        module = load_module(lab, "server", target)
        report("imported")
        options = json.loads(options)
        port = options.pop("port", 0)  # 0: any free port; a scenario may ask for one (a restart on the same port)
        server = getattr(module, lab.server_class)("127.0.0.1", port, **options)
        port = int(server.address[1])
    except BaseException as error:  # SyntaxError, a missing class, a crash in __init__, sys.exit()
        report("start-error", **describe_error(error))
        os._exit(3)

    def serve():
        try:
            server.serve_forever()
        except BaseException as error:
            report("serve-error", **describe_error(error))
        else:
            report("serve-returned")

    faulthandler.cancel_dump_traceback_later()
    report("ready", port=port)
    serving = threading.Thread(target=serve, name="serve_forever", daemon=True)
    serving.start()
    control = threading.get_ident()
    for command in sys.stdin:
        command = command.strip()
        if command == "stacks":
            report("stacks", stacks=thread_stacks(skip={control}), output_size=output.size)
        elif command == "cpu":
            report("cpu", seconds=time.process_time())
        elif command == "output":
            report("output", tail=output.tail(), size=output.size)
        elif command == "quiet":
            silent, busy = quiet({control})
            report("quiet", silent=silent, busy=busy, moved=WATCH.moved, sent_to=dict(WATCH.sent_to))
        elif command.startswith("wait-send-stuck "):
            _verb, port, timeout = command.split()
            report(command, stuck=WATCH.send_stuck(int(port), float(timeout)))
        elif command.startswith("wait-read "):
            _verb, port, total, timeout = command.split()
            report(command, read=WATCH.wait_read(int(port), int(total), float(timeout), fallen_silent({control})))
        elif command.partition(" ")[0] in ("hold", "hold-midway", "release", "wait-held"):  # gates: answered by name
            verb, _space, port = command.partition(" ")
            if verb.startswith("hold"):
                GATES.hold_next_send(int(port), midway=verb == "hold-midway")
            elif verb == "release":
                GATES.release(int(port))
            report(command, held=GATES.wait_held(int(port), fallen_silent({control})) if verb == "wait-held" else True)
        elif command == "stop":
            stopper = threading.Thread(target=server.shutdown, name="shutdown", daemon=True)
            stopper.start()
            deadline = time.monotonic() + STOP_WAIT
            stopper.join(STOP_WAIT)
            serving.join(max(0.0, deadline - time.monotonic()))  # shutdown() must end serve_forever() too
            report("stopped", in_time=not stopper.is_alive(), serve_returned=not serving.is_alive(),
                   output="".join(output.kept), output_size=output.size)
            break
    # os._exit: non-daemon threads of the submission must not keep this process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
