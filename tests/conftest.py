"""What the tests that run real processes share: the kit's CLI, nc and telnet.

A thread collects everything a process writes to a pipe, and every wait on it is bounded
(a Condition with a timeout), so a process that stays silent fails the test instead of
hanging it. Every process a test starts is killed, by its Popen object, when the test ends.
"""
from __future__ import annotations

import io
import os
import subprocess
import threading
import time

import pytest

from grader.catalog import KIT_ROOT
from grader.harness import WAIT


class Output:
    """All that a process writes to one pipe (str or bytes, as the pipe was opened), collected by a thread."""

    def __init__(self, stream, name: str):
        self.name = name
        self._stream = stream
        self._empty = "" if isinstance(stream, io.TextIOBase) else b""
        self.newline = "\n" if self._empty == "" else b"\n"
        self._parts = []
        self._ended = False  # True at end of file: the process closed the pipe (exited or was killed)
        self._changed = threading.Condition()
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
        except (OSError, ValueError):  # the pipe was closed under us at teardown
            pass
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _joined(self):
        return self._empty.join(self._parts)

    @property
    def data(self):
        """Everything received so far."""
        with self._changed:
            return self._joined()

    def wait_for(self, needle, timeout: float = WAIT):
        """Wait until `needle` has been written, at most `timeout` seconds; return everything so far."""
        with self._changed:
            self._changed.wait_for(lambda: needle in self._joined() or self._ended, timeout)
            data, ended = self._joined(), self._ended
        if needle not in data:
            why = "the process closed it" if ended else f"{timeout:g} s passed"
            raise AssertionError(f"{self.name}: expected {needle!r}, but {why}; it received {data!r}")
        return data

    def wait_ended(self, timeout: float) -> bool:
        """True once the process has closed the pipe, within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._ended, timeout)

    def join(self, timeout: float = WAIT) -> None:
        self._thread.join(timeout)


class Process:
    """A process started by a test, its stdout and stderr collected by threads (see Output)."""

    def __init__(self, args, *, text: bool, stdin: bool, cwd, env):
        self.args = [str(arg) for arg in args]
        self.popen = subprocess.Popen(
            self.args, cwd=cwd, env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=text, encoding="utf-8" if text else None)
        name = os.path.basename(self.args[0])
        self.out = Output(self.popen.stdout, f"{name} stdout")
        self.err = Output(self.popen.stderr, f"{name} stderr")

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


@pytest.fixture
def spawn():
    """start(args, text=True, stdin=False, cwd=KIT_ROOT, env=None) -> Process, killed when the test ends."""
    started: list[Process] = []

    def start(args, *, text: bool = True, stdin: bool = False, cwd=KIT_ROOT, env=None) -> Process:
        process = Process(args, text=text, stdin=stdin, cwd=cwd, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
