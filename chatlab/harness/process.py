"""Processes run by a test or the grader, their pipes read by threads, every wait bounded.

A thread collects everything a process writes to a pipe, and every wait on it is bounded
(a Condition with a timeout), so a process that stays silent fails the test instead of
hanging it. Used by the kit's tests (the `spawn` fixture in tests/conftest.py: the CLI, nc,
telnet) and by the grader (a student's client, chatlab/grading/student_client.py).
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
from typing import Callable

import pytest

from chatlab.harness.waiting import WAIT, seconds_passed


class Output:
    """All that a process writes to one pipe (str or bytes, as the pipe was opened), collected by a thread.

    `on_data(chunk)`, if given, is called by the collecting thread with each chunk as it
    arrives, and once with an empty chunk at end of file.
    """

    def __init__(self, stream, name: str, on_data: Callable | None = None):
        self.name = name
        self._stream = stream
        self._empty = "" if isinstance(stream, io.TextIOBase) else b""
        self.newline = "\n" if self._empty == "" else b"\n"
        self._parts = []
        self._ended = False  # True at end of file: the process closed the pipe (exited or was killed)
        self._changed = threading.Condition()
        self._on_data = on_data
        self._thread = threading.Thread(target=self._collect, name=f"{name} reader", daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        # read1() returns whatever bytes are there, a partial line too; a text pipe has no read1().
        read = self._stream.readline if self._empty == "" else self._stream.read1
        try:
            while chunk := read(65536):  # ends at end of file, at the latest when the process is killed
                with self._changed:
                    self._parts.append(chunk)
                    self._changed.notify_all()
                if self._on_data:
                    self._on_data(chunk)
        except (OSError, ValueError):  # the pipe was closed under us at teardown
            pass
        with self._changed:
            self._ended = True
            self._changed.notify_all()
        if self._on_data:
            self._on_data(self._empty)

    def _joined(self):
        return self._empty.join(self._parts)

    @property
    def data(self):
        """Everything received so far."""
        with self._changed:
            return self._joined()

    @property
    def ended(self) -> bool:
        with self._changed:
            return self._ended

    def wait_for(self, needle, timeout: float = WAIT):
        """Wait until `needle` has been written, at most `timeout` seconds; return everything so far."""
        with self._changed:
            self._changed.wait_for(lambda: needle in self._joined() or self._ended, timeout)
            data, ended = self._joined(), self._ended
        if needle not in data:
            why = "the process closed it" if ended else seconds_passed(timeout)
            raise AssertionError(f"{self.name}: expected {needle!r}, but {why}; it received {data!r}")
        return data

    def wait_ended(self, timeout: float) -> bool:
        """True once the process has closed the pipe, within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._ended, timeout)

    def join(self, timeout: float = WAIT) -> None:
        self._thread.join(timeout)


class Process:
    """A process started by a test, its stdout and stderr collected by threads (see Output).

    A text process's pipes are UTF-8; bytes that are not UTF-8 are read as U+FFFD.
    `on_stdout` and `on_stderr` are passed on to the Outputs as their `on_data`.
    """

    def __init__(self, args, *, text: bool, stdin: bool, cwd, env,
                 on_stdout: Callable | None = None, on_stderr: Callable | None = None):
        self.args = [str(arg) for arg in args]
        self.popen = subprocess.Popen(
            self.args, cwd=cwd, env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=text, encoding="utf-8" if text else None, errors="replace" if text else None)
        name = os.path.basename(self.args[0])
        self.out = Output(self.popen.stdout, f"{name} stdout", on_stdout)
        self.err = Output(self.popen.stderr, f"{name} stderr", on_stderr)

    def first_line(self, timeout: float = WAIT):
        """The first line the process prints, without its newline; the process is killed if it takes over `timeout` s."""
        newline = self.out.newline
        try:
            data = self.out.wait_for(newline, timeout)
        except AssertionError as error:
            self.kill()
            raise AssertionError(f"{error}; stderr: {self.err.data!r}") from None
        return data.split(newline, 1)[0]

    def send(self, data) -> None:
        """Write to the process's stdin (str or bytes, as opened), at once."""
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        self.popen.stdin.close()

    def wait(self, timeout: float = WAIT) -> int:
        """Wait, at most `timeout` seconds, until the process exits and its output is all read; its exit code.

        On timeout the process is killed and the test fails, showing what it printed.
        """
        deadline = time.monotonic() + timeout
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{' '.join(self.args)} did not exit within {timeout:g} s; "
                        f"stdout: {self.out.data!r}; stderr: {self.err.data!r}")
        for output in (self.out, self.err):
            if not output.wait_ended(max(0.0, deadline - time.monotonic())):
                pytest.fail(f"{output.name} stayed open after the process exited: another process holds it")
        return code

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(WAIT)

    def close(self) -> None:
        self.kill()
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:  # BrokenPipeError flushing what a dead process never read
                pass
        self.out.join()
        self.err.join()
        self.popen.stdout.close()
        self.popen.stderr.close()


def let_ctrl_c_through() -> None:
    """Undo an inherited "ignore Ctrl+C", so that the programs we start can be stopped with one.

    A shell starts a background job (`chatlab grade &`) with SIGINT ignored, and an ignored
    signal stays ignored in every program started from it: a server under test would then
    ignore Ctrl+C, and the grader's Ctrl+C probe would blame the student. Call it from the
    main thread, before starting anything; where SIGINT was not ignored it changes nothing.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
