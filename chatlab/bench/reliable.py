"""`chatlab bench lab5`: what reliability costs over a lossy network, against the loss rate.

Each run is chatlab/harness/goodput.py's `deliver()`: alice sends lines to the lab 5 server
directly, and carol, behind a seeded relay that loses a share of the datagrams both ways and
acknowledging each line `ack_delay` late, must get them all; its docstring says what is
measured. Here the contenders (the target's server as it is, and the reference forced to
stop-and-wait and to a window of 8) take turns at each loss rate, `repeat` times
interleaved, and the medians are kept. Repetition r uses seed r + 1 for every contender and
loss rate: the contenders face the same network, and a whole bench repeats.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from chatlab.bench import BenchError
from chatlab.bench.text_table import render
from chatlab.catalog import find_lab
from chatlab.harness.goodput import ACK_DELAY, LINES, Delivery, deliver
from chatlab.harness.session import ReferenceMissing
from chatlab.harness.waiting import ExpectationError
from chatlab.i18n import N_, _

LOSSES = (0.0, 0.1, 0.2, 0.3)
MAX_LOSS = 0.5        # beyond it a run takes minutes, and a default max_tries gives carol up
MAX_TRIES = 30        # the reference contenders' tries per line: at 30 % each way, 12 (its default) fail in a row
                      # for one line in 3,000 (0.51 ** 12), and carol would be given up in the middle of a run
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
