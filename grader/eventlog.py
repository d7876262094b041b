"""A list of events that one thread appends to and another waits on, every wait bounded."""
from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

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

    def wait_for(self, condition: Callable[[list[Event]], bool], timeout: float = 5.0) -> bool:
        """Wait until `condition(events)` is true; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self._events), timeout)
