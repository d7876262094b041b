"""A student's client run as a person runs it, talking to a scripted server of the grader's.

`StudentClient` starts `python <target>/<lab>/client.py --host 127.0.0.1 --port P [--name N]`
with pipes: the test types lines into its stdin, closes stdin (Ctrl+D), and waits for the
lines it prints. `FakeServer` is the other end: a TCP listener (or a bound UDP socket) on
127.0.0.1 port 0 that checks, byte for byte, what the client sends, and sends it lines,
split where the test wants them split. Both record their steps in the Scenario's story.

The process really runs `python chatlab/sandbox/client_shim.py client.py ...` (the report
shows `python client.py ...`): the shim runs the client unchanged and reports, on stderr
lines of its own that are taken out here, how many bytes each recv() of the client
returned. `received()` and `wait_received()` answer from those reports, so the fake server
can wait, on every system, until the client has read all it was sent (FakeServer.wait_taken).

Every wait is bounded. A client that dies with NotImplementedError (a stub) cuts every wait
short at once with "not implemented yet: <function>"; a client that exits wakes the fake
server, which then reads what is left and stops waiting.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from typing import Callable

from chatlab.catalog import Lab, lab_file
from chatlab.harness.process import Process
from chatlab.harness.waiting import WAIT, ExpectationError, describe, seconds_passed, shorten
from chatlab.i18n import _, ngettext
from chatlab.sandbox import client_shim

NEWLINE = b"\n"
OUTPUT_KEPT = 1 << 20          # characters of a client's stdout kept for matching; more is only counted
STDERR_KEPT = 64 * 1024
NOT_IMPLEMENTED = re.compile(r"^NotImplementedError\b.*$", re.M)
FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)', re.M)


def quiet(_text: str) -> None:
    """The story of a client or server that nobody records."""


class StudentClient:
    """The submission's client.py in a process of its own; what it prints is kept line by line."""

    def __init__(self, lab: Lab, target, port: int, name: str | None = None,
                 step: Callable[[str], None] = quiet, options: tuple[str, ...] = ()):
        self.script = lab_file(lab, "client", target)
        self.name = _("{name}'s client").format(name=name) if name else _("the client")
        self.printed: list[str] = []      # complete lines printed on stdout, without "\n"
        self.partial = ""                 # what follows the last "\n" printed
        self.chars = 0                    # characters printed on stdout so far, kept or not
        self.aborted = ""                 # "not implemented yet: f" once a stub's traceback shows up
        self.ended = False                # stdout closed: the process exited
        self._stderr = ""                 # what the client wrote to stderr, the shim's reports taken out
        self._received: dict[int, int] = {}   # bytes the client's receives returned, by its socket's port
        self._cursor = 0                  # printed lines before it were matched by an earlier expect_printed()
        self._changed = threading.Condition()
        self._listeners: list[Callable[[str, bool], None]] = []
        self._step = step
        args = [self.script.name, "--host", "127.0.0.1", "--port", str(port)]
        if name is not None:
            args += ["--name", name]
        args += options
        self.command = " ".join(args)  # what the student would type, after "python"
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
        self.process = Process([sys.executable, client_shim.__file__, *args], text=True, stdin=True,
                               cwd=self.script.parent, env=env,
                               on_stdout=self._on_stdout, on_stderr=self._on_stderr)

    # --- what the process writes (called by the pipes' reading threads) ---------------

    def _on_stdout(self, chunk: str) -> None:
        with self._changed:
            if not chunk:
                self.ended = True
            else:
                self.chars += len(chunk)
                if self.chars <= OUTPUT_KEPT:
                    *lines, self.partial = (self.partial + chunk).split("\n")
                    self.printed.extend(lines)
            self._changed.notify_all()
        if not chunk:
            for listener in list(self._listeners):
                listener(self.fate(wait=0.5), False)

    def _on_stderr(self, chunk: str) -> None:
        # A text pipe is read a line at a time (chatlab.harness.process.Output): a report is never cut.
        with self._changed:
            text, reports = client_shim.parse_reports(chunk)
            for port, size in reports:
                self._received[port] = self._received.get(port, 0) + size
            if reports:
                self._changed.notify_all()
            if len(self._stderr) < STDERR_KEPT:
                self._stderr += text
            if self.aborted or not NOT_IMPLEMENTED.search(self._stderr):
                return
            self.aborted = self._not_implemented()
            self._changed.notify_all()
        for listener in list(self._listeners):
            listener(self.aborted, True)

    def received(self, port: int) -> int:
        """How many bytes the client's receives on its socket bound to `port` have returned so far."""
        with self._changed:
            return self._received.get(port, 0)

    def wait_received(self, port: int, size: int, timeout: float) -> bool:
        """Wait until the client's receives on its socket bound to `port` have returned `size` bytes
        in all; False if they have not within `timeout` s, or the client failed or exited first."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._received.get(port, 0) >= size or self.ended or bool(self.aborted),
                timeout) and self._received.get(port, 0) >= size

    def _not_implemented(self) -> str:
        """ "not implemented yet: f", f being the function whose body raised NotImplementedError."""
        error = NOT_IMPLEMENTED.search(self._stderr)
        frames = list(FRAME.finditer(self._stderr[:error.start()]))
        if frames:
            return f"not implemented yet: {frames[-1]['function']}"
        message = error.group(0).partition(":")[2].strip()
        return message if message.startswith("not implemented yet") else "not implemented yet"

    def not_implemented(self) -> str:
        """ "not implemented yet: f" if the client failed as a stub (waiting a moment for an exited one's stderr)."""
        if not self.aborted and self.process.popen.poll() is not None:
            self.process.err.wait_ended(1.0)
        return self.aborted

    def on_end(self, listener: Callable[[str, bool], None]) -> None:
        """Call listener(reason, not_implemented) when the client fails as a stub or its process ends."""
        self._listeners.append(listener)

    @property
    def stderr(self) -> str:
        with self._changed:
            return self._stderr

    def fate(self, wait: float = 0.0) -> str:
        """How the process ended ("its process exited with code 1: ValueError: ..."), or "" while it runs."""
        try:
            code = self.process.popen.wait(wait)
        except Exception:  # still running (TimeoutExpired)
            return ""
        self.process.err.wait_ended(wait)
        last = [line for line in self.stderr.strip().splitlines() if line and not line.startswith(" ")]
        error = f": {last[-1]}" if last and re.match(r"^\w+(\.\w+)*(Error|Exception|Interrupt)\b", last[-1]) else ""
        return self.aborted or _("its process exited with code {code}").format(code=code) + error

    # --- a person at the keyboard ------------------------------------------------------

    def type(self, text: str) -> None:
        """Type `text` and press Enter."""
        self._step(_("you type {text} into {name}").format(text=repr(text), name=self.name) if len(text) < 80
                   else ngettext("you type a line of {count} character into {name}: {text}",
                                 "you type a line of {count} characters into {name}: {text}", len(text)).format(
                       count=len(text), name=self.name, text=shorten(text.encode())))
        try:
            self.process.send(text + "\n")
        except (OSError, ValueError):
            raise ExpectationError(_("{name} does not read what is typed any more: {why}").format(
                name=self.name, why=self.fate(wait=1.0) or _("its stdin is closed"))) from None

    def end_input(self) -> None:
        """Close stdin: what Ctrl+D (Ctrl+Z, Enter on Windows) does at a terminal."""
        self._step(_("you end the input of {name} (Ctrl+D)").format(name=self.name))
        with contextlib.suppress(OSError, ValueError):
            self.process.close_stdin()

    # --- waiting for the client --------------------------------------------------------

    def expect_printed(self, text: str, timeout: float = WAIT) -> str:
        """Wait until the client prints a line containing `text` (after the lines matched so far); return the line."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(self._cursor, len(self.printed)):
                    if text in self.printed[index]:
                        self._cursor = index + 1
                        return self.printed[index]
                left = deadline - time.monotonic()
                if left <= 0 or self.ended or self.aborted:
                    seen = self.printed[self._cursor:] + ([self.partial] if self.partial else [])
                    break
                self._changed.wait(left)
        if self.aborted or self.ended:
            why = self.aborted or self.fate(wait=1.0) or _("it closed its output")
        else:
            why = seconds_passed(timeout)
        raise ExpectationError(_("{name} should have printed a line containing {text}, but {why}; it printed {seen}")
                               .format(name=self.name, text=shorten(text), why=why, seen=describe(seen)),
                               client=self, wanted=[text.encode()],
                               seen=[line.encode() for line in seen],
                               kind="exited" if self.ended else "aborted" if self.aborted else "timeout")

    def wait_exit(self, timeout: float = WAIT, max_output: int | None = None) -> int:
        """Wait until the process exits (its exit code); fail if it prints more than `max_output` characters first."""
        start = self.chars
        deadline = time.monotonic() + timeout
        with self._changed:
            self._changed.wait_for(lambda: self.ended or self.aborted or (
                max_output is not None and self.chars - start > max_output), timeout)
            printed, tail = self.chars - start, self.printed[-3:]
        if self.aborted:
            raise ExpectationError(_("{name} failed: {why}").format(name=self.name, why=self.aborted))
        if max_output is not None and printed > max_output:
            blank = sum(1 for line in tail if not line.strip())
            raise ExpectationError((ngettext("{name} kept printing: {count} character of empty lines instead of "
                                             "stopping; its last lines: {tail}",
                                             "{name} kept printing: {count} characters of empty lines instead of "
                                             "stopping; its last lines: {tail}", printed) if blank == len(tail) else
                                    ngettext("{name} kept printing: {count} character instead of stopping; its last "
                                             "lines: {tail}",
                                             "{name} kept printing: {count} characters instead of stopping; its last "
                                             "lines: {tail}", printed)).format(name=self.name, count=printed,
                                                                               tail=describe(tail)))
        code = self.process.popen.poll()
        try:
            code = self.process.popen.wait(max(0.0, deadline - time.monotonic()))
        except Exception:  # TimeoutExpired
            raise ExpectationError(_("{name} did not exit within {seconds} s; it printed {seen}").format(
                name=self.name, seconds=f"{timeout:g}", seen=describe(self.printed[-8:]))) from None
        return code

    def close(self) -> None:
        self.process.close()
