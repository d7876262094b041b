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
that fails with a reset waits until a send() to that socket has failed, so the dead client
is still in the server's list while the others broadcast; and the parent may hold the next
send() to one client (`hold PORT`, `release PORT`, `wait-held PORT`; PORT is the client's
own port, the accepted socket's peer port) while other clients change the server's list.
"""
from __future__ import annotations

import errno
import faulthandler
import json
import os
import select
import socket
import sys
import threading
import time
import traceback

from chatlab.catalog import find_lab, load_module

EVENT_PREFIX = "\x1echatlab "    # a control character no submission prints by accident
OUTPUT_LIMIT = 64 * 1024         # characters of the submission's prints that are kept
STOP_WAIT = 2.0                  # seconds shutdown() may take
# Seconds after which a server that is not listening yet has every thread's stack dumped to stderr:
# the parent sets it a little under the time it waits (chatlab.sandbox.server_process.STARTUP_WAIT).
STARTUP_DUMP = float(os.environ.get("CHATLAB_STARTUP_DUMP", "8"))


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


class Gates:
    """Points where the server's threads wait, so that a race the grader needs happens every time.

    Sockets are named by their peer's port (the scripted client's own port). A gate never
    waits longer than GATE_WAIT seconds, so a server that never reaches the expected point
    is only slowed down, never hung.
    """

    GATE_WAIT = 3.0
    # A recv() that saw a reset is held until a send to that client fails, or until the scenario
    # releases it: every scenario does, right after the step that needs the dead client listed.
    # The bound is only for a scenario that died; a short one let a loaded machine (8 graders on
    # 2 cores) time the hold out before the broadcast it was holding the client for.
    RESET_HOLD = 20.0

    def __init__(self):
        self._changed = threading.Condition()
        self._armed = set()       # ports whose next send() is to be held
        self._released = set()    # ports whose held send() may go on
        self._held = set()        # ports whose send(), or recv() after a reset, is waiting now
        self._send_failed = set() # ports a send() has failed on

    def hold_next_send(self, port: int) -> None:
        with self._changed:
            self._armed.add(port)
            self._released.discard(port)

    def release(self, port: int) -> None:
        with self._changed:
            self._armed.discard(port)
            self._released.add(port)
            self._changed.notify_all()

    def wait_held(self, port: int) -> bool:
        """Wait until something is held at `port`'s gate; False if nothing was within GATE_WAIT."""
        with self._changed:
            return self._changed.wait_for(lambda: port in self._held, self.GATE_WAIT)

    def is_armed(self, port) -> bool:
        with self._changed:
            return port in self._armed

    def before_send(self, port) -> None:
        with self._changed:
            if port not in self._armed:
                return
            self._armed.discard(port)  # one send() only: the others go through
            self._held.add(port)
            self._changed.notify_all()
            self._changed.wait_for(lambda: port in self._released, self.GATE_WAIT)
            self._held.discard(port)

    def send_failed(self, port) -> None:
        with self._changed:
            self._send_failed.add(port)
            self._changed.notify_all()

    def after_reset(self, port) -> None:
        """A recv() saw the peer reset: wait until a send to that peer has failed."""
        with self._changed:
            self._held.add(port)
            self._changed.notify_all()
            self._changed.wait_for(lambda: port in self._send_failed or port in self._released, self.RESET_HOLD)
            self._held.discard(port)


GATES = Gates()


class Watch:
    """What the server's sockets did, kept for the parent's questions.

    Clients are named by their own port (the peer port of the server's socket for them).
    `read_from[port]` counts the bytes the server's recv calls returned from that client,
    `serving[thread]` is the client a thread last read from (the one it serves, in a
    thread-per-client server), and `waiting[thread]` the socket a thread is blocked on now.
    """

    def __init__(self):
        self._changed = threading.Condition()
        self.read_from: dict[int, int] = {}
        self.serving: dict[int, int] = {}
        self.waiting: dict[int, object] = {}
        self.moved = 0    # socket calls that moved data or a connection: a quiet server's count stays put

    def entering(self, sock) -> None:
        self.waiting[threading.get_ident()] = sock

    def left(self) -> None:
        self.waiting.pop(threading.get_ident(), None)

    def received(self, port, count: int) -> None:
        with self._changed:
            if port is not None:
                self.read_from[port] = self.read_from.get(port, 0) + count
                self.serving[threading.get_ident()] = port
            if count:
                self.moved += 1
            self._changed.notify_all()

    def sent(self, count: int) -> None:
        if count:
            with self._changed:
                self.moved += 1

    def wait_read(self, port: int, total: int, timeout: float, is_quiet) -> int:
        """Wait until the server has read `total` bytes from the client at `port`, and return what it read.

        Gives up after `timeout` seconds, or sooner once `is_quiet()` twice in a row finds every
        thread waiting with nothing read in between: then nothing will read those bytes.
        """
        deadline, quiet_before = time.monotonic() + timeout, None
        with self._changed:
            while self.read_from.get(port, 0) < total and time.monotonic() < deadline:
                self._changed.wait(min(0.1, max(0.0, deadline - time.monotonic())))
                now = (is_quiet(), self.read_from.get(port, 0))
                if now[0] and now == quiet_before:
                    break
                quiet_before = now
            return self.read_from.get(port, 0)


WATCH = Watch()
WAITING_MODULES = ("threading.py", "queue.py", "selectors.py")  # a thread whose innermost frame is here waits
GATE_WAITS = ("before_send", "after_reset")  # the sandbox's own waits (Gates) a thread may be held in
WAITING_CALLS = ("sleep(", "select(", ".acquire(", ".wait(", ".get(", ".join(", "input(", ".poll(")


def quiet(control: set[int]) -> tuple[bool, str]:
    """Whether every thread of the server waits with nothing to wake it, and if not, which one is busy.

    A thread waits if it is blocked in a socket call (a WatchedSocket method) with nothing
    readable for it, or in a lock, queue, event, sleep or select. A thread blocked in recv()
    whose socket has data (or an end of stream) is about to run, so it is not quiet.
    `control` are this process's own threads.
    """
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    in_socket_calls = []
    for ident, frame in sys._current_frames().items():
        if ident in control:
            continue
        full = traceback.extract_stack(frame)
        stack = [entry for entry in full if entry.filename != __file__]
        where = f"{names.get(ident, ident)!r} at {_place(stack[-1])}" if stack else repr(names.get(ident, ident))
        sock = WATCH.waiting.get(ident)
        if sock is not None:
            in_socket_calls.append((where, sock))
            continue
        if _in_bookkeeping(full):
            return False, where  # in a socket wrapper's bookkeeping, on its way back to the submission
        code = stack[-1] if stack else None
        if code is None or code.filename.endswith(WAITING_MODULES) or any(call in (code.line or "")
                                                                          for call in WAITING_CALLS):
            continue
        return False, where
    for where, sock in in_socket_calls:
        try:
            ready = select.select([sock], [], [], 0)[0]
        except (OSError, ValueError):  # closed meanwhile: nothing more will come from it
            continue
        if ready:
            return False, where
    return True, ""


def _in_bookkeeping(stack) -> bool:
    """Whether the innermost frames are this module's own (a WatchedSocket counting), not a gate's wait."""
    ours = []
    for entry in reversed(stack):
        if entry.filename == __file__:
            ours.append(entry.name)
        elif not entry.filename.endswith(WAITING_MODULES):
            break
    return bool(ours) and ours[0] not in GATE_WAITS


def _place(entry) -> str:
    """file.py:LINE: code, for a report."""
    return f"{os.path.basename(entry.filename)}:{entry.lineno}: {(entry.line or '').strip()}"


def inject_faults(faults: dict) -> None:
    """Make every socket the submission creates a WatchedSocket, with the faults `faults` asks for."""
    if "switch_interval" in faults:
        sys.setswitchinterval(faults["switch_interval"])
    send_cap, sndbuf, gates = faults.get("send_cap"), faults.get("sndbuf"), faults.get("gates")
    plain = socket.socket

    class WatchedSocket(plain):
        # socket.py creates accepted sockets through the module's `socket` name, so they
        # are WatchedSockets too.
        _peer_port = None  # the client's port, on accepted sockets

        def _blocking(self, method, *args):
            WATCH.entering(self)
            try:
                return method(*args)
            finally:
                WATCH.left()

        def send(self, data, *flags):
            data = bytes(memoryview(data)[:send_cap]) if send_cap else data
            if not gates or self._peer_port is None:
                return self._counted(self._blocking(super().send, data, *flags))
            if flags and flags[0] & getattr(socket, "MSG_DONTWAIT", 0) and GATES.is_armed(self._peer_port):
                # A send that must not wait cannot be held: it finds the socket full, as a held
                # one would be, and whatever the server does with the rest is held instead.
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable (held by the grader)")
            return self._counted(self._gated(super().send, data, *flags))

        def sendall(self, data, *flags):
            if not gates or self._peer_port is None:
                self._blocking(super().sendall, data, *flags)
            else:
                self._gated(super().sendall, data, *flags)
            WATCH.sent(len(data))

        def sendto(self, data, *args):
            return self._counted(self._blocking(super().sendto, data, *args))

        @staticmethod
        def _counted(count):
            WATCH.sent(count)
            return count

        def _gated(self, method, *args):
            GATES.before_send(self._peer_port)
            try:
                return self._blocking(method, *args)
            except OSError:
                GATES.send_failed(self._peer_port)
                raise

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
                return self._blocking(method, *args)
            except ConnectionResetError:
                if gates and self._peer_port is not None:
                    GATES.after_reset(self._peer_port)
                raise

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
            report("quiet", silent=silent, busy=busy, moved=WATCH.moved)
        elif command.startswith("wait-read "):
            _, port, total, timeout = command.split()
            report(command, read=WATCH.wait_read(int(port), int(total), float(timeout), lambda: quiet({control})[0]))
        elif command.partition(" ")[0] in ("hold", "release", "wait-held"):  # gates: answered by name
            verb, _, port = command.partition(" ")
            if verb == "hold":
                GATES.hold_next_send(int(port))
            elif verb == "release":
                GATES.release(int(port))
            report(command, held=GATES.wait_held(int(port)) if verb == "wait-held" else True)
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
