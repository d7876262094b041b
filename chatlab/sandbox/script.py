"""A lab's server.py run as a person runs it (`python server.py --port 0`), to be stopped with Ctrl+C.

The grader's lab 1 uses it to check that Ctrl+C stops a server and that a restart can take the
same port at once; it is the one place the sandbox sends a POSIX signal.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from chatlab.harness.waiting import WAIT
from chatlab.sandbox import server_process
from chatlab.sandbox.server_process import SubmissionError, keep_first


class StartedScript:
    """A lab file run as a person runs it, `python server.py --port 0`, to be stopped with Ctrl+C.

    POSIX only (SIGINT); the grader skips this probe on Windows.
    """

    def __init__(self, script: Path):
        hung = server_process.START_HANGS.get((script.parent.name, str(script.parent.parent.resolve())))
        if hung:  # its import hung in an earlier test: so would the script's
            raise SubmissionError(f"{hung} (in an earlier test: not waited for again)")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatlab.sandbox.guard", str(script), "--port", "0"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        lines: queue.Queue[str] = queue.Queue()
        # "" after the last line: a script that exits (crashes) at start is reported at once.
        threading.Thread(target=lambda: [*map(lines.put, self.process.stdout), lines.put("")], daemon=True).start()
        self._stderr: list[str] = []  # its first characters (keep_first): a traceback tells what went wrong
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()
        first = None
        try:
            first = lines.get(timeout=server_process.STARTUP_WAIT)
            self.port = int(first.strip().rsplit(":", 1)[1])
        except (queue.Empty, ValueError, IndexError):
            self.close()
            raise SubmissionError("running server.py --port 0 did not print 'listening on HOST:PORT' "
                                  + (f"(it exited first); stderr: {self.stderr()[-800:]!r}" if first == ""
                                     else f"within {server_process.STARTUP_WAIT:g} s")) from None

    def _read_stderr(self) -> None:
        keep_first(self.process.stderr, self._stderr)

    def stderr(self) -> str:
        return "".join(self._stderr)

    def interrupt_and_wait(self, timeout: float) -> bool:
        """Send Ctrl+C (SIGINT); True if the process exited within `timeout` seconds."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        self._stderr_reader.join(WAIT)
        self.process.stdout.close()
        self.process.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self.close()
        if isinstance(error, Exception) and self.stderr().strip():
            # A check on the script failed: what it printed to stderr (a traceback?) is the clue.
            raise AssertionError(f"{error}\nThe script's stderr ends with:\n{self.stderr()[-1200:]}") from None
