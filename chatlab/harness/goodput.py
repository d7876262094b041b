"""One lab 5 run through a lossy network: what a reliable server delivers, how fast, at what cost.

The lab 5 server under test runs in a thread of this process (`lab_session`); alice talks to
it directly and carol through a seeded `LossyRelay` that loses a share `loss` of the
datagrams both ways (the server's `D n` lines to carol, and carol's `A n` back). Carol
acknowledges each line `ack_delay` seconds late: she is that far away, so a round trip takes
that long at least, which is what a window has to hide. Alice sends `lines` chat lines at
once, as fast as the server acknowledges them; the server must get each to carol through the
loss. `deliver()` measures:

- goodput: lines delivered to carol per second, from alice's first send to carol's last line;
- latency: from alice's send of a line to its delivery to carol (p50, p99). The lines leave
  together, so it includes the wait in the server's queue behind the lines sent before;
- data datagrams per delivered line: every `D` datagram the server sent carol (the relay saw
  each, lost or not) over the lines delivered. Nothing can do better than 1 / (1 - p): each
  datagram is lost with probability p. Stop-and-wait expects 1 / (1 - p)², since a try counts
  only if the line *and* its acknowledgement get through;
- correctness: lines lost, delivered twice, or delivered before an earlier one (all 0 for a
  correct server).

With the same `seed`, the same datagrams in the same order meet the same fates: a run repeats.
`chatlab bench lab5` (chatlab/bench/reliable.py) repeats it for several servers and loss rates;
the lab 5 notebook calls it for its goodput experiment. It lives with the harness, not the
bench, because a student kit has the notebook and the harness but not the bench.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from chatlab.harness.lossy_relay import LossyRelay
from chatlab.harness.reliable import ReliableDatagramClient
from chatlab.harness.session import lab_session
from chatlab.harness.waiting import ExpectationError

LINES = 40            # lines alice sends per run
ACK_DELAY = 0.02      # seconds: carol is 20 ms away
QUIET = 15.0          # seconds without a new line: the rest is not coming (the reference's 12 tries, backed
                      # off to its 1 s ceiling, take about 10 s)
DEADLINE = 180.0      # seconds one run may take at most
LINE = re.compile(r"\[alice\] line (\d+)")


class StampingClient(ReliableDatagramClient):
    """A reliable client that notes when each line was delivered to it, before anyone can see the line."""

    def __init__(self, address, name: str):
        self.delivered_at: list[float] = []   # perf_counter() of each line in `received`, in step with it
        super().__init__(address, name)

    def _deliver(self, raw: bytes) -> None:
        self.delivered_at.append(time.perf_counter())
        super()._deliver(raw)

    def stamped(self) -> list[tuple[bytes, float]]:
        """Each line received with the time it was delivered, in order."""
        with self._arrived:
            return list(zip(self.received, self.delivered_at))


@dataclass
class Delivery:
    """One run's figures: `lines` sent by alice, what reached carol, and what it cost."""
    loss: float
    lines: int
    seconds: float = 0.0              # alice's first send to carol's last line
    data_datagrams: int = 0           # "D" datagrams the server sent carol, lost ones included
    delivered: int = 0                # distinct lines that reached carol
    duplicated: int = 0
    out_of_order: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def lost(self) -> int:
        return self.lines - self.delivered

    @property
    def lines_per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def datagrams_per_line(self) -> float:
        return self.data_datagrams / self.delivered if self.delivered else float("nan")

    def latency_ms(self, quantile: float) -> float:
        return quantile_ms(self.latencies, quantile)


def quantile_ms(latencies: list[float], quantile: float) -> float:
    """The `quantile` (0.5: the median, 0.99: p99) of `latencies` in seconds, as milliseconds; nan if none."""
    ordered = sorted(latencies) or [float("nan")]
    return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def deliver(lab, target="solutions", lines: int = LINES, loss: float = 0.0, ack_delay: float = ACK_DELAY,
            seed: int = 1, **options) -> Delivery:
    """One run (see the module's docstring) with the server of `target`, built with `options` (window=...)."""
    with lab_session(lab, target, **options) as session, LossyRelay(session.address, loss=loss, seed=seed) as relay:
        alice, = session.join("alice")
        relay.faulty = False                      # carol's join gets through at once: only chat lines are measured
        carol = StampingClient(relay.address, "carol")
        session.clients.append(carol)             # closed with the session, told if its server fails
        if session.failure():
            carol.abort(session.failure())
        carol.send_line("/join carol")
        carol.expect("* welcome carol", timeout=15, patient=True)
        alice.expect("* carol joined")
        carol.ack_delay = ack_delay
        first = len(relay.snapshot())
        relay.faulty = True
        sent_at = []
        for number in range(lines):
            sent_at.append(time.perf_counter())
            alice.send_line(f"line {number}")     # acknowledged by the server at once: it is alice's direct link
        arrived = wait_for_lines(carol, lines, time.monotonic() + DEADLINE)
        settled(relay, carol)
        sent = sum(not f.to_server and f.data.startswith(b"D ") for f in relay.snapshot()[first:])
    return tally(Delivery(loss, lines, data_datagrams=sent), sent_at, arrived)


def wait_for_lines(carol: StampingClient, lines: int, deadline: float) -> list[tuple[int, float]]:
    """(line number, delivery time) of alice's lines at carol, in the order delivered, once all `lines`
    arrived, or no new one for QUIET s, or at `deadline`, or once the server failed."""
    def count() -> int:
        return sum(1 for raw in carol.received if raw.startswith(b"[alice] line "))

    for _attempt in range(lines + 1):  # each pass waits for one more line at least
        seen = count()
        if seen >= lines or carol.aborted or time.monotonic() >= deadline:
            break
        if not carol.wait_for(lambda _: count() > seen or bool(carol.aborted),
                              min(QUIET, max(0.0, deadline - time.monotonic()))):
            break
    if carol.aborted:  # the server failed: no figure to give
        raise ExpectationError(carol.aborted)
    return [(int(match.group(1)), at) for raw, at in carol.stamped()
            if (match := LINE.fullmatch(raw.decode("utf-8", "replace")))]


def settled(relay: LossyRelay, carol: StampingClient) -> None:
    """Wait (at most QUIET s) until an acknowledgement of carol's last line got through to the server:
    until then the server keeps sending that line again, and those copies are part of its cost."""
    last = carol.expected - 1
    relay.log.wait_for(lambda fates: any(f.to_server and f.fate != "lost" and f.data.startswith(b"A ")
                                          and int(f.data.split()[1]) >= last for f in fates), QUIET)


def tally(run: Delivery, sent_at: list[float], arrived: list[tuple[int, float]]) -> Delivery:
    """Count `arrived` into `run`: distinct lines, copies, lines that overtook an earlier one, latencies."""
    seen, highest = set(), -1
    for number, at in arrived:
        if number in seen or number >= len(sent_at):
            run.duplicated += number in seen
            continue
        seen.add(number)
        run.out_of_order += number < highest
        highest = max(highest, number)
        run.latencies.append(at - sent_at[number])
    run.delivered = len(seen)
    run.seconds = max((at for _, at in arrived), default=sent_at[0]) - sent_at[0]
    return run
