"""Inside the disposable child process: run a submission's server in a thread, and report.

    python -m grader.child LAB TARGET OPTIONS_JSON FAULTS_JSON

The parent (grader.sandbox.ServerProcess) reads events from this process's stdout: lines
that start with EVENT_PREFIX and carry JSON. The submission's own prints go to a bounded
buffer instead, so a server that prints megabytes can neither fill a pipe nor confuse the
protocol. The parent writes commands to stdin: `stacks` (where is every thread now?), `cpu`
(CPU seconds used so far) and `stop` (call shutdown(), then exit). End of stdin also ends
the process.

Faults (FAULTS_JSON) are injected before the submission is imported, each exposing one
pitfall deterministically: {"send_cap": 7} makes socket.send() send at most 7 bytes (legal,
and fatal to code that ignores its return value); {"sndbuf": 4096} gives accepted sockets a
tiny send buffer; {"switch_interval": 1e-6} makes threads switch far more often.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import traceback

from grader.catalog import find_lab, load_module

EVENT_PREFIX = "\x1echatlab "    # a control character no submission prints by accident
OUTPUT_LIMIT = 64 * 1024         # characters of the submission's prints that are kept
STOP_WAIT = 2.0                  # seconds shutdown() may take


class BoundedOutput:
    """Stands in for sys.stdout: keeps the first OUTPUT_LIMIT characters, counts the rest."""

    def __init__(self):
        self.kept = []
        self.size = 0

    def write(self, text):
        if self.size < OUTPUT_LIMIT:
            self.kept.append(text[: OUTPUT_LIMIT - self.size])
        self.size += len(text)
        return len(text)

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


def inject_faults(faults: dict) -> None:
    """Patch the socket module (before the submission imports it) as `faults` asks."""
    if "switch_interval" in faults:
        sys.setswitchinterval(faults["switch_interval"])
    send_cap, sndbuf = faults.get("send_cap"), faults.get("sndbuf")
    if not (send_cap or sndbuf):
        return

    class FaultySocket(socket.socket):
        # socket.py creates accepted sockets through the module's `socket` name, so they
        # are FaultySockets too.
        def send(self, data, *flags):
            return super().send(bytes(memoryview(data)[:send_cap]) if send_cap else data, *flags)

        def accept(self):
            conn, address = super().accept()
            if sndbuf:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            return conn, address

    socket.socket = FaultySocket


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

    def on_thread_error(hook):
        if hook.exc_type is not SystemExit:
            report("thread-error", thread=hook.thread.name if hook.thread else "?", **describe_error(hook.exc_value))
    threading.excepthook = on_thread_error

    lab = find_lab(lab_name)
    try:
        module = load_module(lab, "server", target)
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

    report("ready", port=port)
    threading.Thread(target=serve, name="serve_forever", daemon=True).start()
    control = threading.get_ident()
    for command in sys.stdin:
        command = command.strip()
        if command == "stacks":
            report("stacks", stacks=thread_stacks(skip={control}), output_size=output.size)
        elif command == "cpu":
            report("cpu", seconds=time.process_time())
        elif command == "stop":
            stopper = threading.Thread(target=server.shutdown, name="shutdown", daemon=True)
            stopper.start()
            stopper.join(STOP_WAIT)
            report("stopped", in_time=not stopper.is_alive(), output="".join(output.kept), output_size=output.size)
            break
    # os._exit: non-daemon threads of the submission must not keep this process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
