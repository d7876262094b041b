"""Terminal input and output for `chatlab connect`, where lines arrive while you type.

A receiving thread that simply print()s would write into the middle of the line you are
typing. With readline (Linux, macOS) we can do better: clear the input line, print the
incoming line, and redraw the prompt with what you had typed so far. Without readline
(Windows) or when input is not a terminal (a pipe, the grader), lines are printed plainly.

Whatever a server sends is shown with its control characters (other than tab) replaced by
U+FFFD, as PROTOCOL.md asks servers to do ("Control characters"): this client may talk to a
server that does not, and a b"\\x1b[2J" from another user must not clear your screen.
"""
from __future__ import annotations

import re
import sys
import threading

try:
    import readline
except ImportError:  # Windows
    readline = None

CLEAR_LINE = "\r\x1b[K"  # carriage return, then erase to the end of the line (ANSI)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # Unicode category Cc, tab left out


def printable(text: str) -> str:
    """`text` with every control character but tab replaced by U+FFFD: safe to write to a terminal."""
    return CONTROL.sub("\ufffd", text)


class Terminal:
    """read_line() and show() for a lab client's run_client()."""

    def __init__(self, prompt: str = "> "):
        self.interactive = sys.stdin.isatty() and sys.stdout.isatty()
        self.prompt = prompt if self.interactive else ""
        self._lock = threading.Lock()

    def read_line(self) -> str:
        return input(self.prompt)

    def show(self, text: str) -> None:
        text = printable(text)  # the escape sequences written below are the only ones shown
        with self._lock:
            if self.interactive and readline is not None:
                typed = readline.get_line_buffer()
                sys.stdout.write(f"{CLEAR_LINE}{text}\n{self.prompt}{typed}")
            elif self.interactive:
                sys.stdout.write(f"\r{text}\n{self.prompt}")
            else:
                sys.stdout.write(text + "\n")
            sys.stdout.flush()
