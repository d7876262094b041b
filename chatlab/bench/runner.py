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

from chatlab.bench.load import CPUS_VARIABLE, hold_idle
from chatlab.bench.load import DEADLINE as LOAD_DEADLINE
from chatlab.bench.server import raise_file_limit
from chatlab.catalog import KIT_ROOT, find_lab, target_dir
from chatlab.harness.process import Process
from chatlab.i18n import _

PEER = "asyncio peer"   # the yardstick's display name
TUNED = "tuned-threads"  # lab 3 only: chatlab/bench/tuned_threads.py
REGIMES = ("interactive", "saturated")
DELIVERIES = 200_000   # per run, when --messages is not given: enough to measure, quick enough to repeat


class BenchError(Exception):
    """A server could not be measured: it failed to start, died, or dropped the clients."""


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
                raise AssertionError(f"its first line was {line!r}")
        except AssertionError as error:
            self.close()
            raise BenchError(f"{' '.join(args)} did not start: {self.last_words() or error}") from None
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
        said = server.last_words()
        raise BenchError(f"{' '.join(args)}: " + (f"the server stopped: {said}" if said else str(error))) from None
    finally:
        server.close()


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
            said = server.last_words()
            raise BenchError(f"{' '.join(args)}: the server stopped: {said}" if said
                             else f"the load failed: {load.err.data.strip()[-1500:]}") from None
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
                    say(f"[{done}/{total}] {name:<18} {regime:<11} N={count:<4} M={lines:<5} "
                        f"{run[0]['lines_per_second']:>9,.0f} lines/s  p99 {run[0]['p99_ms']:7.2f} ms"
                        + (f"  LOST {run[0]['lost']}" if run[0]["lost"] else ""))
            summary = {name: summarise(name, servers[name][0], regime, count, lines, found)
                       for name, found in runs.items()}
            peer = summary[PEER]
            for record in summary.values():
                record.ratio_to_peer = record.lines_per_second / peer.lines_per_second if peer.lines_per_second else None
                record.p99_ratio_to_peer = record.p99_ms / peer.p99_ms if peer.p99_ms else None
                records.append(record)
    return records


def table(records: list[Record]) -> str:
    header = (f"{'server':<18} {'regime':<11} {'N':>4} {'M':>5} {'lines/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU us/line':>11} {'lost':>5} {'dup':>4} {'peak MiB':>8} {'ratio':>6} {'p99 ratio':>9}")
    rows = [header, "-" * len(header)]
    for r in records:
        peak = f"{r.peak_rss_mib:8.1f}" if r.peak_rss_mib is not None else f"{'n/a':>8}"
        rows.append(f"{r.server:<18} {r.regime:<11} {r.clients:>4} {r.messages:>5} {r.lines_per_second:>9,.0f} "
                    f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.cpu_us_per_line:>11.1f} {r.lost:>5} {r.duplicated:>4} "
                    f"{peak} {r.ratio_to_peer:>6.2f} {r.p99_ratio_to_peer:>9.2f}")
    return "\n".join(rows)


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
    say(f"{idle} idle clients: {result.still_members} still members (in /users); {result.relayed} of {result.sent} private "
        f"lines relayed between two more, p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms"
        + (f"; peak {peak:.0f} MiB" if peak is not None else ""))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatlab bench",
        description=_("Measure a multi-user chat server side by side with an asyncio peer under the same load "
                    "(lab 3 also with a tuned threaded server, chatlab/bench/tuned_threads.py): lines delivered "
                    "per second, latency p50/p99, server CPU per line, lost and duplicated lines, peak memory, "
                    "and the ratio to the peer."))
    parser.add_argument("lab", nargs="?", default="lab3", help=_("the lab whose server is measured: lab3 (default, TCP) or lab4 (UDP)"))
    parser.add_argument("--target", default="solutions", help=_("solutions (default), labs or a folder"))
    parser.add_argument("--clients", default="10,50,200", help=_("numbers of clients, comma-separated (default 10,50,200)"))
    parser.add_argument("--messages", type=int, help=_("lines each client sends (default: about {count} deliveries per run)").format(
                            count=f"{DELIVERIES:,}"))
    parser.add_argument("--repeat", type=int, default=3, help=_("interleaved runs per server, regime and N (default 3)"))
    parser.add_argument("--regimes", default=",".join(REGIMES), help=_("interactive, saturated or both (default)"))
    parser.add_argument("--idle", type=int, default=0, metavar="N",
                        help=_("also check that N idle clients are held while two more talk (e.g. 1000)"))
    parser.add_argument("--shared-cpus", action="store_true",
                        help=_("let the load and the servers share every CPU (default on Linux: the load gets one "
                             "CPU of its own, the servers the others)"))
    parser.add_argument("--json", metavar="FILE", help=_("write the figures as JSON, one record per server, regime and N"))
    parser.add_argument("--png", metavar="FILE", default="bench.png", help=_("where to draw the plot (default bench.png)"))
    args = parser.parse_args(argv)
    try:
        lab = find_lab(args.lab)
        target = args.target if args.target in ("labs", "solutions") else str(target_dir(args.target))
        clients = [int(n) for n in args.clients.split(",")]
        regimes = [r.strip() for r in args.regimes.split(",")]
    except ValueError as error:
        parser.error(str(error))
    if lab.number < 3:
        parser.error(f"the bench measures a multi-user chat (lab3 over TCP, lab4 over UDP); {lab.stem} is not one")
    if lab.reliable:  # its clients speak numbered lines and acknowledgements, which the bench's peers do not
        parser.error(f"the bench does not measure {lab.stem} yet; its notebook measures goodput against the loss rate")
    if any(n < 2 for n in clients) or not set(regimes) <= set(REGIMES) or args.repeat < 1:
        parser.error("--clients needs 2 or more each, --regimes interactive and/or saturated, --repeat 1 or more")
    raise_file_limit()
    cpus = None if args.shared_cpus else split_cpus()
    print(f"CPUs: the load on {cpus['load']}, the servers on {cpus['servers']}" if cpus else
          "CPUs: shared by the load and the servers" + ("" if args.shared_cpus else
                                                        " (pinning needs Linux and 2 CPUs or more)"))
    print("contenders: " + ", ".join(contenders(lab.stem, target))
          + ("" if lab.transport == "tcp" else " (no tuned contender over UDP: tuned-threads is a lab 3 TCP server)"))
    try:
        records = bench(lab.stem, target, clients, args.messages, args.repeat, regimes, cpus)
        print()
        print(table(records))
        idle = idle_check(lab.stem, target, args.idle) if args.idle else None
    except BenchError as error:
        print(f"chatlab bench: {error}", file=sys.stderr)
        return 2
    from chatlab.bench.plot import bench_plot
    from chatlab.notebook.pictures import png
    Path(args.png).write_bytes(png(bench_plot(records)))
    print(f"plot written to {args.png}")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": "chatlab bench " + " ".join(argv or sys.argv[2:]),
                                               "cpus": cpus, "records": [asdict(r) for r in records],
                                               "idle": idle}, indent=2))
        print(f"figures written to {args.json}")
    return 0
