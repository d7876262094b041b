"""`chatlab bench`: chat servers side by side, under the same load.

For each number of clients N and each regime (interactive, saturated; see chatlab/bench/load.py),
the contenders each run in a fresh process of their own (chatlab/bench/server.py) and take the
same load, from a fresh load process too. Lab 3 (TCP) has three: the lab's graded server, the
tuned threaded server (chatlab/bench/tuned_threads.py) and the asyncio peer
(chatlab/bench/peers.py). Lab 4 (UDP) has two, the graded server and the peer: no tuned UDP
server exists. Runs are interleaved (graded, tuned, peer, graded, tuned, peer...) and every
figure is the median of the repetitions: machines are noisy, and interleaving spreads the noise
fairly. Loopback only. On Linux the load runs on a CPU of its own and the servers on the others
(see `split_cpus`).

Lab 5 (reliable UDP) is measured differently: not N clients at full speed, but one sender and one
receiver through a relay that loses datagrams, at each loss rate, for the lab's server and the
reference with a window of 1 (stop-and-wait) and of 8 (chatlab/bench/reliable.py).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from chatlab.bench import BenchError, reliable
from chatlab.bench.load import CPUS_VARIABLE, hold_idle
from chatlab.bench.load import DEADLINE as LOAD_DEADLINE
from chatlab.bench.server import raise_file_limit
from chatlab.bench.text_table import render
from chatlab.catalog import KIT_ROOT, find_lab, target_dir
from chatlab.harness.process import Process
from chatlab.i18n import _

PEER = "asyncio peer"   # the yardstick's display name
TUNED = "tuned-threads"  # lab 3 only: chatlab/bench/tuned_threads.py
REGIMES = ("interactive", "saturated")
DELIVERIES = 200_000   # per run, when --messages is not given: enough to measure, quick enough to repeat


@dataclass
class Record:
    """One server, regime and N: the medians over the repetitions (lost and duplicated: totals)."""
    server: str       # the display name: "lab3 (solutions)", "tuned-threads", "asyncio peer"
    contender: str    # what it is: "graded" (the lab's server.py), "tuned-threads" or "asyncio"
    regime: str
    clients: int
    messages: int
    repetitions: int
    lines_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_line: float
    lost: int
    duplicated: int
    peak_rss_mib: float | None
    ratio_to_peer: float | None = None     # lines/s over the peer's, same regime and N
    p99_ratio_to_peer: float | None = None  # p99 over the peer's: below 1 is better


def split_cpus() -> dict[str, list[int]] | None:
    """Where the bench's processes run: {"load": [one CPU], "servers": [the others]}; None: anywhere.

    A threaded server uses a second CPU whenever one thread sends while another reads, and a
    load sharing that CPU waits, and counts its own wait as the server's latency. Measured on
    2 CPUs, 10 interactive clients, the lab 3 server against the asyncio peer: sharing, p99
    1.2 against 0.55 ms and 1.2 times the lines/s; the load on a CPU of its own, p99 0.54
    against 0.64 ms and 1.5 times the lines/s. Linux only (os.sched_setaffinity), 2 CPUs or more.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return {"load": cpus[:1], "servers": cpus[1:]} if len(cpus) > 1 else None


def on_cpus(cpus: list[int] | None) -> dict | None:
    """The environment for a bench process that runs on `cpus` (None: anywhere, this environment)."""
    return {**os.environ, CPUS_VARIABLE: ",".join(map(str, cpus))} if cpus else None


class BenchServer:
    """A server in a process of its own, asked for its CPU time and peak memory over a pipe."""

    def __init__(self, args: list[str], cpus: list[int] | None = None):
        self.process = Process([sys.executable, "-m", "chatlab.bench.server", *args], text=True, stdin=True,
                               cwd=KIT_ROOT, env=on_cpus(cpus))
        try:
            line = self.process.first_line(timeout=15)
            if not line.startswith("listening on "):
                raise AssertionError(_("its first line was {line}").format(line=repr(line)))
        except AssertionError as error:
            self.close()
            raise BenchError(_("{server} did not start: {why}").format(server=" ".join(args),
                                                                      why=self.last_words() or error)) from None
        host, port = line.removeprefix("listening on ").rsplit(":", 1)
        self.address = (host, int(port))
        self._asked = 0

    def stats(self) -> dict:
        """The server's CPU seconds and peak memory so far: its answer to the next "stats" request."""
        self._asked += 1
        self.process.send("stats\n")
        tag = f"stats {self._asked} "
        data = self.process.out.wait_for(tag, timeout=10)
        line = data[data.index(tag):].split("\n", 1)[0]
        return json.loads(line.removeprefix(tag))

    def last_words(self) -> str:
        """What the server wrote to stderr, once it has exited (or after a second): why it stopped."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.popen.wait(1.0)
        self.process.err.wait_ended(1.0)
        return self.process.err.data.strip()[-1500:]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # it may have died already
            self.process.close_stdin()
        try:
            self.process.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextlib.contextmanager
def started(args: list[str], cpus: list[int] | None = None):
    """A BenchServer for a `with` block; a server that dies or stops answering becomes a BenchError."""
    server = BenchServer(args, cpus)
    try:
        yield server
    except (OSError, AssertionError) as error:
        raise BenchError(f"{' '.join(args)}: {stopped(server.last_words()) or error}") from None
    finally:
        server.close()


def stopped(said: str) -> str:
    """How a bench error says why a server process stopped ("" if it said nothing)."""
    return _("the server stopped: {said}").format(said=said) if said else ""


def messages_for(clients: int, messages: int | None) -> int:
    return messages or max(5, DELIVERIES // (clients * (clients - 1)))


def measure(args: list[str], clients: int, messages: int, regime: str, cpus: dict[str, list[int]] | None = None,
            transport: str = "tcp") -> tuple[dict, float, float | None]:
    """One run, a fresh server process and a fresh load process: (load summary, server CPU s, peak MiB)."""
    with started(args, cpus and cpus["servers"]) as server:
        before = server.stats()
        load = Process([sys.executable, "-m", "chatlab.bench.load", *map(str, server.address), clients, messages,
                        regime, transport], text=True, stdin=False, cwd=KIT_ROOT, env=on_cpus(cpus and cpus["load"]))
        try:
            line = load.first_line(timeout=LOAD_DEADLINE + 30)  # run_load bounds itself by LOAD_DEADLINE
        except AssertionError:  # the load ended without its figures: say why, the server's reason first
            why = stopped(server.last_words()) or _("the load failed: {why}").format(why=load.err.data.strip()[-1500:])
            raise BenchError(f"{' '.join(args)}: {why}") from None
        finally:
            load.kill()  # it has printed its one line (or failed): nothing more to wait for
        after = server.stats()
    return json.loads(line), after["cpu_seconds"] - before["cpu_seconds"], after["peak_rss_mib"]


def summarise(name: str, contender: str, regime: str, clients: int, messages: int, runs: list[tuple]) -> Record:
    loads = [run[0] for run in runs]
    peaks = [run[2] for run in runs if run[2] is not None]
    return Record(
        name, contender, regime, clients, messages, len(runs),
        statistics.median(load["lines_per_second"] for load in loads),
        statistics.median(load["p50_ms"] for load in loads),
        statistics.median(load["p99_ms"] for load in loads),
        statistics.median(1e6 * cpu / max(1, load["delivered"]) for load, cpu, _ in runs),
        sum(load["lost"] for load in loads), sum(load["duplicated"] for load in loads),
        max(peaks) if peaks else None)


def contenders(lab_name: str, target: str) -> dict[str, tuple[str, list[str]]]:
    """{display name: (contender, chatlab.bench.server's arguments)}, in the order they run.

    The lab's graded server, then for lab 3 the tuned threaded one, and last the asyncio peer.
    """
    lab = find_lab(lab_name)
    tuned = {TUNED: ("tuned-threads", [TUNED])} if lab.transport == "tcp" else {}
    return {f"lab{lab.number} ({Path(str(target)).name})": ("graded", [lab.stem, str(target)]),
            **tuned, PEER: ("asyncio", ["peer", lab.transport])}


def bench(lab_name: str, target: str, clients: list[int], messages: int | None, repeat: int,
          regimes=REGIMES, cpus: dict[str, list[int]] | None = None, say=print) -> list[Record]:
    lab = find_lab(lab_name)
    servers = contenders(lab_name, target)
    records = []
    total, done = len(clients) * len(regimes) * repeat * len(servers), 0
    for count in clients:
        lines = messages_for(count, messages)
        for regime in regimes:
            runs = {name: [] for name in servers}
            for _run in range(repeat):
                for name, (_label, args) in servers.items():  # interleaved: graded, tuned, peer, graded ...
                    done += 1
                    run = measure(args, count, lines, regime, cpus, lab.transport)
                    runs[name].append(run)
                    say(_("[{done}/{total}] {name:<18} {regime:<11} N={count:<4} M={lines:<5} "
                          "{rate:>9,.0f} lines/s  p99 {p99:7.2f} ms").format(
                            done=done, total=total, name=name, regime=regime, count=count, lines=lines,
                            rate=run[0]["lines_per_second"], p99=run[0]["p99_ms"])
                        + (_("  LOST {count}").format(count=run[0]["lost"]) if run[0]["lost"] else ""))
            summary = {name: summarise(name, servers[name][0], regime, count, lines, found)
                       for name, found in runs.items()}
            peer = summary[PEER]
            for record in summary.values():
                record.ratio_to_peer = record.lines_per_second / peer.lines_per_second if peer.lines_per_second else None
                record.p99_ratio_to_peer = record.p99_ms / peer.p99_ms if peer.p99_ms else None
                records.append(record)
    return records


def table(records: list[Record]) -> str:
    columns = [(_("server"), 18, "<"), (_("regime"), 11, "<"), ("N", 4, ">"), ("M", 5, ">"), (_("lines/s"), 9, ">"),
               (_("p50 ms"), 7, ">"), (_("p99 ms"), 7, ">"), (_("CPU us/line"), 11, ">"), (_("lost"), 5, ">"),
               (_("dup"), 4, ">"), (_("peak MiB"), 8, ">"), (_("ratio"), 6, ">"), (_("p99 ratio"), 9, ">")]
    return render(columns, [[r.server, r.regime, str(r.clients), str(r.messages), f"{r.lines_per_second:,.0f}",
                             f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", f"{r.cpu_us_per_line:.1f}", str(r.lost),
                             str(r.duplicated), _("n/a") if r.peak_rss_mib is None else f"{r.peak_rss_mib:.1f}",
                             f"{r.ratio_to_peer:.2f}", f"{r.p99_ratio_to_peer:.2f}"] for r in records])


def idle_check(lab_name: str, target: str, idle: int, say=print) -> dict:
    """Can the server hold `idle` joined, silent clients and still relay between two more?"""
    lab = find_lab(lab_name)
    with started([lab.stem, str(target)]) as server:
        result = hold_idle(server.address, idle, transport=lab.transport)
        peak = server.stats()["peak_rss_mib"]
    ordered = sorted(result.latencies) or [float("nan")]
    figures = {"idle_clients": idle, "still_members": result.still_members, "relayed": result.relayed,
               "sent": result.sent, "p50_ms": 1000 * ordered[len(ordered) // 2],
               "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "peak_rss_mib": peak}
    say(_("{idle} idle clients: {members} still members (in /users); {relayed} of {sent} private lines relayed "
          "between two more, p50 {p50:.2f} ms, p99 {p99:.2f} ms").format(
            idle=idle, members=result.still_members, relayed=result.relayed, sent=result.sent,
            p50=figures["p50_ms"], p99=figures["p99_ms"])
        + (_("; peak {peak:.0f} MiB").format(peak=peak) if peak is not None else ""))
    return figures


def build_parser() -> argparse.ArgumentParser:
    """`chatlab bench`'s options. Those of one kind of lab only default to None, so that giving one to
    the other kind is told apart from not giving it, and refused in one line."""
    parser = argparse.ArgumentParser(
        prog="chatlab bench",
        description=_("Measure a multi-user chat server side by side with an asyncio peer under the same load "
                      "(lab 3 also with a tuned threaded server, chatlab/bench/tuned_threads.py): lines delivered "
                      "per second, latency p50/p99, server CPU per line, lost and duplicated lines, peak memory, "
                      "and the ratio to the peer.") + " " +
        _("Lab 5: goodput, latency and data datagrams per delivered line against the loss rate of a lossy relay, "
          "for the lab's server and for the reference in stop-and-wait and with a window of 8."))
    parser.add_argument("lab", nargs="?", default="lab3",
                        help=_("the lab whose server is measured: lab3 (default, TCP), lab4 (UDP) or lab5 "
                               "(reliable UDP, through a lossy relay)"))
    parser.add_argument("--target", default="solutions", help=_("solutions (default), labs or a folder"))
    parser.add_argument("--clients", help=_("numbers of clients, comma-separated (default 10,50,200)"))
    parser.add_argument("--messages", type=int,
                        help=_("lines each client sends (default: about {count} deliveries per run; lab5: {lines} "
                               "lines from one sender per run)").format(count=f"{DELIVERIES:,}", lines=reliable.LINES))
    parser.add_argument("--repeat", type=int, default=3,
                        help=_("interleaved runs per server, regime and N (lab5: per server and loss rate; default 3)"))
    parser.add_argument("--regimes", help=_("interactive, saturated or both (default)"))
    parser.add_argument("--idle", type=int, default=0, metavar="N",
                        help=_("also check that N idle clients are held while two more talk (e.g. 1000)"))
    parser.add_argument("--shared-cpus", action="store_true",
                        help=_("let the load and the servers share every CPU (default on Linux: the load gets one "
                               "CPU of its own, the servers the others)"))
    parser.add_argument("--losses", help=_("lab5: the relay's loss rates, each way, comma-separated (default {losses})")
                        .format(losses=",".join(f"{p:g}" for p in reliable.LOSSES)))
    parser.add_argument("--ack-delay", type=float, metavar="S",
                        help=_("lab5: seconds the receiver takes to acknowledge a line, the round trip a window "
                               "hides (default {delay:g})").format(delay=reliable.ACK_DELAY))
    parser.add_argument("--json", metavar="FILE",
                        help=_("write the figures as JSON, one record per server, regime and N (lab5: per server "
                               "and loss rate)"))
    parser.add_argument("--png", metavar="FILE", default="bench.png", help=_("where to draw the plot (default bench.png)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        lab = find_lab(args.lab)
        target = args.target if args.target in ("labs", "solutions") else str(target_dir(args.target))
    except ValueError as error:
        parser.error(str(error))
    if lab.number < 3:
        parser.error(_("the bench measures a multi-user chat (lab3 over TCP, lab4 over UDP, lab5 reliable over "
                       "UDP); {lab} is not one").format(lab=lab.stem))
    command = "chatlab bench " + " ".join(argv or sys.argv[2:])
    return (bench_reliable if lab.reliable else bench_chat)(parser, args, lab, target, command)


def bench_chat(parser: argparse.ArgumentParser, args, lab, target: str, command: str) -> int:
    """`chatlab bench lab3` and `lab4`: the contenders under the same load, N clients at a time."""
    if args.losses is not None or args.ack_delay is not None:
        parser.error(_("--losses and --ack-delay are for lab5 only: the relay that loses datagrams is its network"))
    try:
        clients = [int(n) for n in (args.clients or "10,50,200").split(",")]
        regimes = [r.strip() for r in args.regimes.split(",")] if args.regimes else list(REGIMES)
    except ValueError as error:
        parser.error(str(error))
    if any(n < 2 for n in clients) or not set(regimes) <= set(REGIMES) or args.repeat < 1:
        parser.error(_("--clients needs 2 or more each, --regimes interactive and/or saturated, --repeat 1 or more"))
    raise_file_limit()
    cpus = None if args.shared_cpus else split_cpus()
    print(_("CPUs: the load on {load}, the servers on {servers}").format(load=cpus["load"], servers=cpus["servers"])
          if cpus else _("CPUs: shared by the load and the servers")
          + ("" if args.shared_cpus else _(" (pinning needs Linux and 2 CPUs or more)")))
    print(_("contenders: {names}").format(names=", ".join(contenders(lab.stem, target)))
          + ("" if lab.transport == "tcp" else _(" (no tuned contender over UDP: tuned-threads is a lab 3 TCP server)")))
    try:
        records = bench(lab.stem, target, clients, args.messages, args.repeat, regimes, cpus)
        print()
        print(table(records))
        idle = idle_check(lab.stem, target, args.idle) if args.idle else None
    except BenchError as error:
        print(f"chatlab bench: {error}", file=sys.stderr)
        return 2
    from chatlab.bench.plot import bench_plot
    write_outputs(args, bench_plot(records), {"command": command, "cpus": cpus,
                                              "records": [asdict(r) for r in records], "idle": idle})
    return 0


def bench_reliable(parser: argparse.ArgumentParser, args, lab, target: str, command: str) -> int:
    """`chatlab bench lab5`: the contenders at each loss rate (chatlab/bench/reliable.py)."""
    misplaced = [option for option, given in (("--clients", args.clients), ("--regimes", args.regimes),
                                              ("--idle", args.idle), ("--shared-cpus", args.shared_cpus)) if given]
    if misplaced:
        parser.error(_("{options}: not for lab5, which measures one sender and one receiver through a lossy relay "
                       "(its options: --losses, --ack-delay, --messages, --repeat)").format(options=", ".join(misplaced)))
    try:
        losses = [float(p) for p in args.losses.split(",")] if args.losses else list(reliable.LOSSES)
    except ValueError as error:
        parser.error(str(error))
    lines = reliable.LINES if args.messages is None else args.messages
    delay = reliable.ACK_DELAY if args.ack_delay is None else args.ack_delay
    if not all(0 <= p <= reliable.MAX_LOSS for p in losses) or lines < 1 or args.repeat < 1 or not 0 <= delay <= 1:
        parser.error(_("--losses needs rates from 0 to {most:g}, --messages and --repeat 1 or more, --ack-delay "
                       "0 to 1 s").format(most=reliable.MAX_LOSS))
    print(_("contenders: {names}").format(names=", ".join(name for name, *_rest in reliable.contenders(target))))
    print(_("network: alice talks to the server directly; carol, through a relay that loses a share of the datagrams "
            "each way ({losses}), acknowledges each line {delay:g} ms late").format(
              losses=", ".join(f"{p:.0%}" for p in losses), delay=1000 * delay))
    try:
        records = reliable.bench_losses(target, losses, lines, args.repeat, delay)
    except BenchError as error:
        print(f"chatlab bench: {error}", file=sys.stderr)
        return 2
    print()
    print(reliable.table(records))
    from chatlab.bench.plot import loss_plot
    write_outputs(args, loss_plot(records), {"command": command, "ack_delay": delay,
                                             "records": [asdict(r) for r in records]})
    return 0


def write_outputs(args, figure, figures: dict) -> None:
    """Draw `figure` to --png and, with --json, write `figures` there."""
    from chatlab.notebook.pictures import png
    Path(args.png).write_bytes(png(figure))
    print(_("plot written to {file}").format(file=args.png))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        print(_("figures written to {file}").format(file=args.json))
