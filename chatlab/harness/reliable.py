"""A scripted client that speaks lab 5's reliable UDP (PROTOCOL.md, "Lab 5"): numbered lines, acknowledgements.

`send_line(text)` sends "D n text" and waits (bounded) for "A n", sending again every
RESEND_EVERY seconds, stop-and-wait; `send_bytes(raw)` sends a datagram as it is (garbage,
a forged number). Each line the server sends is acknowledged and delivered once, in order,
to `received`, so `expect()` works as with any scripted client; `datagrams` keeps every
datagram as it arrived, duplicates and acknowledgements included, for counting.
With `acking = False` the client stops acknowledging (it still records what arrives): to the server, a
peer that went deaf;
with `ack_delay = s` it acknowledges each line s seconds late: a slow network.
"""
from __future__ import annotations

import re
import threading
import time
from typing import NamedTuple

from chatlab.harness.clients import DatagramClient
from chatlab.harness.waiting import WAIT, ExpectationError
from chatlab.i18n import _, ngettext

RESEND_EVERY = 0.2    # seconds: this client's fixed retransmission timeout, well above a loaded machine's round trip
DATA = re.compile(rb"D (\d+) (.*)", re.S)
ACK = re.compile(rb"A (\d+)")


class Datagram(NamedTuple):
    """A lab 5 datagram, read: `A number` (an acknowledgement) or `D number line` (a numbered line)."""
    kind: str          # "A" or "D"
    number: int
    line: bytes = b""  # a data datagram's line, as it came


def parse(data: bytes) -> Datagram | None:
    """`data` read as lab 5's `A n` or `D n line` (the whole of it); None if it is neither.

    The one reading of the protocol's two datagrams, for the grader's scripted client (here)
    and its scripted server (chatlab.grading.fake_server). A trailing b"\\n" is the caller's to take off.
    """
    if ack := ACK.fullmatch(data):
        return Datagram("A", int(ack.group(1)))
    if line := DATA.fullmatch(data):
        return Datagram("D", int(line.group(1)), line.group(2))
    return None


class ReliableDatagramClient(DatagramClient):
    def __init__(self, address, name: str, on_line=None):
        self.acking = True
        self.ack_delay = 0.0
        self.datagrams: list[bytes] = []   # every datagram received, as it came
        self.next_seq = 1                  # the number of this client's next line
        self.acked = 0                     # the highest acknowledgement received
        self.expected = 1                  # the number of the next line to deliver
        self._early: dict[int, bytes] = {}
        super().__init__(address, name, on_line)  # last: it starts the receiving thread, which uses the above

    def _datagram(self, data: bytes) -> None:
        """Record every datagram as it came, then act on it: an acknowledgement, or a numbered line."""
        with self._arrived:
            self.datagrams.append(data)
            self._arrived.notify_all()
        self._handle(data)

    def _handle(self, data: bytes) -> None:
        datagram = parse(data)
        if datagram is None:
            return
        if datagram.kind == "A":
            with self._arrived:
                self.acked = max(self.acked, datagram.number)
                self._arrived.notify_all()
        else:
            self._early.setdefault(datagram.number, datagram.line)
            ready = []
            while self.expected in self._early:
                ready.append(self._early.pop(self.expected))
                self.expected += 1
            # Acknowledged before a waiting test sees the lines: so the ack goes out before whatever the
            # test sends next, and the relay's fates (drawn by position in a flow) stay the same run to run.
            if self.acking and self.ack_delay:
                threading.Timer(self.ack_delay, self.ack, (self.expected - 1,)).start()
            elif self.acking:
                self.ack(self.expected - 1)
            for text in ready:
                self._deliver(text)

    def wait_for(self, condition, timeout: float = WAIT) -> bool:
        """Wait until `condition(datagrams)` is true; False after `timeout` seconds."""
        with self._arrived:
            return self._arrived.wait_for(lambda: condition(self.datagrams), timeout)

    def data_numbers(self) -> list[int]:
        """The numbers of the data datagrams received, copies included, in order of arrival."""
        with self._arrived:
            return [d.number for d in map(parse, self.datagrams) if d and d.kind == "D"]

    def ack(self, seq: int) -> None:
        """Send "A seq" (every line up to seq arrived)."""
        try:
            self._send(f"A {seq}".encode())
        except OSError:
            pass

    def send_line(self, text: str, timeout: float = WAIT) -> int:
        """Send `text` as the next numbered line until it is acknowledged; return how many sends it took."""
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        datagram = b"D %d %s" % (seq, text.encode("utf-8"))
        deadline = time.monotonic() + timeout
        for sends in range(1, int(timeout / RESEND_EVERY) + 2):
            self.send_bytes(datagram)
            with self._arrived:
                if self._arrived.wait_for(lambda: self.acked >= seq or self.aborted, RESEND_EVERY):
                    if self.aborted:
                        raise ExpectationError(_("{name} could not send {data}: {error}").format(
                            name=self.name, data=repr(text), error=self.aborted), client=self, kind="aborted")
                    return sends
            if time.monotonic() >= deadline:
                break
        raise ExpectationError(ngettext("{name} sent {datagram} {sends} time in {seconds} s, and the server never "
                                        "acknowledged it (with 'A {seq}')",
                                        "{name} sent {datagram} {sends} times in {seconds} s, and the server never "
                                        "acknowledged it (with 'A {seq}')", sends).format(
            name=self.name, datagram=repr(datagram), sends=sends, seconds=f"{timeout:g}", seq=seq),
            client=self, kind="timeout")
