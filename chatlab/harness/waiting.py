"""Every wait in the kit is bounded: the bound, the error a wait that ran out raises, and EventLog.

A test, the grader, the demo or a notebook waits for something (a line, an event, a process)
for at most WAIT seconds; when the time runs out it raises ExpectationError with what did
arrive instead, shown with `shorten` and `describe` so that the message stays readable.
"""
from __future__ import annotations

import re
import threading
from typing import Callable, Generic, TypeVar

from chatlab.i18n import _, ngettext

WAIT = 5.0          # seconds any single expectation may take before it is a failure
# What a server's silence probe says when every thread of it waits (ServerProcess.silence): a
# wait that ends on it is kind "silent". Translated where it is shown, compared in English.
FELL_SILENT = "the server fell silent: every thread of it is waiting, and nothing it could read is on its way"


def seconds_passed(timeout: float) -> str:
    """How a wait that ran out says so: "5 s passed" (a report with it shows the server's threads)."""
    return _("{seconds} s passed").format(seconds=f"{timeout:g}")


def timed_out(problem: str) -> bool:
    """Whether a failure message says a wait ran out of time (then the threads are worth a look)."""
    english = "s passed" in problem or f"within {WAIT:g} s" in problem
    template = re.escape(_("{seconds} s passed")).replace(re.escape("{seconds}"), r"[\d.]+")
    return english or re.search(template, problem) is not None


class ExpectationError(AssertionError):
    """Something expected (a line, a closed connection, an event) did not happen in time.

    When a scripted client's wait for a line fails, the error also says what was observed,
    for a diagnosis: the client, the lines it `wanted`, the lines it got instead (`seen`),
    and how the wait ended (`kind`: timeout, closed, aborted, silent or refused).
    """

    def __init__(self, message: str, client=None, wanted=(), seen=(), kind: str = ""):
        super().__init__(message)
        self.client, self.wanted, self.seen, self.kind = client, list(wanted), list(seen), kind


def lines_must_be(client, got: list[str], expected: list[str], problem: str = "") -> None:
    """Fail unless `got`, lines `client` received, are exactly `expected`.

    The failure carries both lists, so that the diagnosis can tell what came instead of what
    (merged, split, decoded too early, echoed...); `problem` says what that means, if not
    simply "received the wrong lines".
    """
    if got != expected:
        raise ExpectationError(problem or _("{client} received {got}, not {expected}").format(
                                   client=client.name, got=describe([line.encode() for line in got]),
                                   expected=describe([line.encode() for line in expected])),
                               client=client, wanted=[line.encode() for line in expected],
                               seen=[line.encode() for line in got], kind="unexpected")


def shorten(data: bytes | str, limit: int = 120) -> str:
    """repr() of `data` (bytes on the wire, or a printed line), cut in the middle if long."""
    if len(data) <= limit:
        return repr(data)
    left = len(data) - limit
    cut = (ngettext("{count} byte", "{count} bytes", left) if isinstance(data, bytes)
           else ngettext("{count} character", "{count} characters", left)).format(count=left)
    return f"{data[:limit // 2]!r} ... ({cut}) ... {data[-limit // 2:]!r}"


def describe(lines: list, most: int = 8) -> str:
    """The last `most` lines (bytes or str), shortened, and how many came before them."""
    shown = ", ".join(shorten(line) for line in lines[-most:])
    earlier = len(lines) - most
    if earlier <= 0:
        return f"[{shown}]"
    return ngettext("{earlier} line, then [{shown}]", "{earlier} lines, then [{shown}]", earlier).format(
        earlier=earlier, shown=shown)


Event = TypeVar("Event")


class EventLog(Generic[Event]):
    """What a wiretap or a relay saw, in order; `wait_for` is the readiness signal of the notebooks."""

    def __init__(self):
        self._events: list[Event] = []
        self._changed = threading.Condition()

    def append(self, event: Event) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def snapshot(self) -> list[Event]:
        with self._changed:
            return list(self._events)

    def wait_for(self, condition: Callable[[list[Event]], bool], timeout: float = WAIT) -> bool:
        """Wait until `condition(events)` is true; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self._events), timeout)
