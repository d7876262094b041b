"""`chatlab bench lab5`: what reliability costs over a lossy network, against the loss rate.

One run: the lab 5 server under test in a thread of this process (`lab_session`), alice
talking to it directly and carol through a seeded `LossyRelay` that loses a share `loss` of
the datagrams both ways (the server's `D n` lines to carol, and carol's `A n` back). Carol
acknowledges each line `ack_delay` seconds late: she is that far away, so a round trip
takes that long at least, which is what a window has to hide. Alice sends `lines` chat
lines at once, as fast as the server acknowledges them; the server must get each to carol
through the loss. The run measures:

- goodput: lines delivered to carol per second, from alice's first send to carol's last line;
- latency: from alice's send of a line to its delivery to carol (p50, p99). The lines leave
  together, so it includes the wait in the server's queue behind the lines sent before;
- data datagrams per delivered line: every `D` datagram the server sent carol (the relay saw
  each, lost or not) over the lines delivered. Nothing can do better than 1 / (1 - p): each
  datagram is lost with probability p. Stop-and-wait expects 1 / (1 - p)², since a try counts
  only if the line *and* its acknowledgement get through;
- correctness: lines lost, delivered twice, or delivered before an earlier one (all 0 for a
  correct server).

The seeds are fixed (repetition r uses seed r + 1, the same for every contender and loss
rate), so a run repeats: the same datagrams in the same order meet the same fates. The
runner (chatlab/bench/runner.py) runs the contenders interleaved, `repeat` times, and keeps
the medians; the lab 5 notebook calls `deliver()` for its own goodput experiment.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.bench import BenchError
from chatlab.bench.text_table import render
from chatlab.catalog import find_lab
from chatlab.harness.lossy_relay import LossyRelay
from chatlab.harness.reliable import ReliableDatagramClient
from chatlab.harness.session import ReferenceMissing, lab_session
from chatlab.harness.waiting import ExpectationError
from chatlab.i18n import N_, _

LOSSES = (0.0, 0.1, 0.2, 0.3)
MAX_LOSS = 0.5        # beyond it a run takes minutes, and a default max_tries gives carol up
LINES = 40            # lines alice sends per run
ACK_DELAY = 0.02      # seconds: carol is 20 ms away
MAX_TRIES = 30        # the reference contenders' tries per line: at 30 % each way, 12 (its default) fail in a row
                      # for one line in 3,000 (0.51 ** 12), and carol would be given up in the middle of a run
QUIET = 15.0          # seconds without a new line: the rest is not coming (the reference's 12 tries, backed
                      # off to its 1 s ceiling, take about 10 s)
DEADLINE = 180.0      # seconds one run may take at most
LINE = re.compile(r"\[alice\] line (\d+)")
# The display names of the reference's two contenders (see contenders()).
STOP_AND_WAIT = N_("reference, window 1")
WINDOWED = N_("reference, window 8")


def contenders(target: str) -> list[tuple[str, str, str, dict]]:
    """[(display name, contender, target, the server's keyword options)], in the order they run.

    The graded one is the target's server as it is, with its own defaults; the other two are the
    reference with its window forced to 1 (stop-and-wait) and to 8, and MAX_TRIES tries per line.
    """
    return [(f"lab5 ({Path(str(target)).name})", "graded", str(target), {}),
            (_(STOP_AND_WAIT), "stop-and-wait", "solutions", {"window": 1, "max_tries": MAX_TRIES}),
            (_(WINDOWED), "windowed", "solutions", {"window": 8, "max_tries": MAX_TRIES})]


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
        ordered = sorted(self.latencies) or [float("nan")]
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


@dataclass
class LossRecord:
    """One contender at one loss rate: medians over the repetitions (lost, duplicated, out of order: totals)."""
    server: str               # the display name: "lab5 (solutions)", "reference, window 1" ...
    contender: str            # what it is: "graded", "stop-and-wait" or "windowed"
    loss: float               # the share of datagrams the relay loses, each way
    lines: int
    repetitions: int
    ack_delay: float
    lines_per_second: float
    p50_ms: float
    p99_ms: float
    datagrams_per_line: float
    best_possible: float      # 1 / (1 - p): no sender needs fewer data datagrams per line
    stop_and_wait: float      # 1 / (1 - p)²: what stop-and-wait expects
    lost: int
    duplicated: int
    out_of_order: int


def summarise(name: str, contender: str, runs: list[Delivery], ack_delay: float) -> LossRecord:
    p = runs[0].loss
    return LossRecord(
        name, contender, p, runs[0].lines, len(runs), ack_delay,
        statistics.median(run.lines_per_second for run in runs),
        statistics.median(run.latency_ms(0.50) for run in runs),
        statistics.median(run.latency_ms(0.99) for run in runs),
        statistics.median(run.datagrams_per_line for run in runs),
        1 / (1 - p), 1 / (1 - p) ** 2,
        sum(run.lost for run in runs), sum(run.duplicated for run in runs), sum(run.out_of_order for run in runs))


def bench_losses(target: str = "solutions", losses=LOSSES, lines: int = LINES, repeat: int = 3,
                 ack_delay: float = ACK_DELAY, say=print) -> list[LossRecord]:
    """Every contender at every loss rate, `repeat` times interleaved (graded, stop-and-wait, windowed,
    graded...), each repetition with its own seed; one LossRecord per contender and loss rate."""
    lab = find_lab("lab5")
    servers = contenders(target)
    records, total, done = [], len(losses) * repeat * len(servers), 0
    for loss in losses:
        runs: dict[str, list[Delivery]] = {name: [] for name, *_ in servers}
        for repetition in range(repeat):
            for name, _contender, where, options in servers:
                done += 1
                try:
                    run = deliver(lab, where, lines, loss, ack_delay, seed=repetition + 1, **options)
                except (ExpectationError, ReferenceMissing, OSError) as error:
                    raise BenchError(f"{name}: {error}") from None
                runs[name].append(run)
                say(_("[{done}/{total}] {name:<22} loss {loss:>4.0%}  {rate:7.1f} lines/s  p99 {p99:7.1f} ms  "
                      "{cost:5.2f} data datagrams per line").format(
                        done=done, total=total, name=name, loss=loss, rate=run.lines_per_second,
                        p99=run.latency_ms(0.99), cost=run.datagrams_per_line)
                    + (_("  LOST {count}").format(count=run.lost) if run.lost else ""))
        records += [summarise(name, contender, runs[name], ack_delay) for name, contender, *_ in servers]
    return records


def table(records: list[LossRecord]) -> str:
    """The records as a table: speed, then cost beside its theory, then correctness."""
    columns = [(_("server"), 22, "<"), (_("loss"), 5, ">"), (_("lines/s"), 8, ">"), (_("p50 ms"), 8, ">"),
               (_("p99 ms"), 8, ">"), (_("D/line"), 7, ">"), ("1/(1-p)", 7, ">"), ("1/(1-p)²", 8, ">"),
               (_("lost"), 5, ">"), (_("dup"), 4, ">"), (_("order"), 5, ">")]
    return render(columns, [[r.server, f"{r.loss:.0%}", f"{r.lines_per_second:.1f}", f"{r.p50_ms:.1f}",
                             f"{r.p99_ms:.1f}", f"{r.datagrams_per_line:.2f}", f"{r.best_possible:.2f}",
                             f"{r.stop_and_wait:.2f}", str(r.lost), str(r.duplicated), str(r.out_of_order)]
                            for r in records])
