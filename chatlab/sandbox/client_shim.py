"""Runs a student's client.py as `python client.py ...` would, telling the grader what its receives return.

    python path/to/chatlab/sandbox/client_shim.py path/to/client.py --host 127.0.0.1 --port P ...

The grader (chatlab.grading.student_client) starts the client through this shim so that its
scripted server can wait, on every system, until the client has read what it was sent:
then the next bytes arrive in a recv() of their own, and a line cut in two pieces really
reaches the client in two pieces. Before running the client, the shim wraps the receiving
methods of socket.socket (recv, recv_into, recvfrom, recvfrom_into; a makefile()'s reads
and asyncio go through them too), and each one that returns data writes a report line to
the process's stderr:

    REPORT_PREFIX + "recv <the socket's own port> <bytes returned>\\n"

REPORT_PREFIX starts with a control character no client prints by accident; the grader
takes these lines out of the stderr it shows. A report is one os.write() of a few bytes on
a private copy of file descriptor 2, so it is never split, whatever the client does with
sys.stderr; if the client writes half a line first, the report lands inside that line, and
the grader joins the two halves again (parse_reports).

Everything else is as `python client.py` has it: the client runs as __main__ with its own
__file__, sys.argv and sys.path[0]; sys.exit(), os._exit(), daemon threads and the end of
stdin behave the same; and an uncaught exception's traceback shows the client's frames
only, the shim's and runpy's taken out, so it reads as if the client ran on its own.
Before the client runs, chatlab.sandbox.guard guards the process as it guards the server's
(no writes outside the submission's folder, no reading solutions/). Only the standard library
is used, and of the kit only that guard is imported: it starts fast.
"""
from __future__ import annotations

import os
import re
import runpy
import socket
import sys
import threading

from chatlab.sandbox import guard

REPORT_PREFIX = "\x1echatlab-shim "   # starts every report line; \x1e (record separator) is never typed
REPORT = re.compile(re.escape(REPORT_PREFIX) + r"recv (\d+) (\d+)\n")
RECEIVING = ("recv", "recv_into", "recvfrom", "recvfrom_into")


def parse_reports(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Split stderr text into what the client wrote and the shim's reports [(port, bytes), ...].

    A report is taken out with its newline wherever it starts, inside a line of the client's too.
    """
    return REPORT.sub("", text), [(int(port), int(size)) for port, size in REPORT.findall(text)]


def _reporting(method, report_fd: int):
    """`method` of socket.socket, writing a report after each call that returns data."""
    def receive(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        size = result[0] if isinstance(result, tuple) else result   # recvfrom*: (data or size, address)
        size = size if isinstance(size, int) else len(size)
        if size:
            try:
                port = self.getsockname()[1]
                os.write(report_fd, f"{REPORT_PREFIX}recv {port} {size}\n".encode("ascii"))
            except (OSError, IndexError, TypeError):  # closed meanwhile, or not an IP socket
                pass
        return result
    receive.__name__ = receive.__qualname__ = method.__name__
    receive.__doc__ = method.__doc__
    return receive


def _trimmed(tb):
    """The traceback `tb` without the shim's, the guard's and runpy's frames (relinked in place); None if none is left.

    Frames are told apart by their module's globals, not their file name: runpy is a frozen
    module ("<frozen runpy>") in recent Pythons.
    """
    hidden = (globals(), vars(guard), vars(runpy))
    kept = []
    while tb is not None:
        if not any(tb.tb_frame.f_globals is namespace for namespace in hidden):
            kept.append(tb)
        tb = tb.tb_next
    for outer, inner in zip(kept, kept[1:] + [None]):
        outer.tb_next = inner
    return kept[0] if kept else None


def _without_shim(error: BaseException | None, seen: set | None = None) -> None:
    """Take the shim's and runpy's frames out of `error`'s traceback, and out of those of its causes.

    What is left is what `python client.py` would show: for a SyntaxError in the client, no
    frame at all, only the line in the client's file.
    """
    seen = set() if seen is None else seen
    if error is None or id(error) in seen:
        return
    seen.add(id(error))
    error.__traceback__ = _trimmed(error.__traceback__)
    _without_shim(error.__cause__, seen)
    _without_shim(error.__context__, seen)


def _install_hooks() -> None:
    """Tracebacks of uncaught exceptions (main thread and others) without the shim's frames."""
    show_main, show_thread = sys.excepthook, threading.excepthook

    def main_hook(kind, error, tb):
        _without_shim(error)
        show_main(kind, error, error.__traceback__ if error is not None else tb)

    def thread_hook(args):
        _without_shim(args.exc_value)
        tb = args.exc_value.__traceback__ if args.exc_value is not None else args.exc_traceback
        show_thread(threading.ExceptHookArgs((args.exc_type, args.exc_value, tb, args.thread)))

    sys.excepthook, threading.excepthook = main_hook, thread_hook


def main() -> None:
    """Wrap the receives, then run the client named by sys.argv[1] with the arguments after it."""
    if len(sys.argv) < 2:
        sys.exit("usage: client_shim.py path/to/client.py [arguments...]")
    script = os.path.abspath(sys.argv[1])
    report_fd = os.dup(2)  # not inherited; the client may close or replace its stderr, reports still get through
    for name in RECEIVING:
        setattr(socket.socket, name, _reporting(getattr(socket.socket, name), report_fd))
    _install_hooks()
    guard.run_as_program([script, *sys.argv[2:]])


if __name__ == "__main__":
    main()
