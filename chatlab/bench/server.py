"""A server for the bench, alone in a process: `python -m chatlab.bench.server LAB TARGET | tuned-threads | peer tcp|udp`.

The bench measures a server's CPU time and peak memory, so each server gets a process of its
own, started the same way for the lab's graded server (LAB TARGET: the lab's server.py from
solutions, labs or a folder), for chatlab/bench/tuned_threads.py and for the asyncio peer. It prints
"listening on HOST:PORT" once it listens; then the Kth line "stats" on its stdin is answered
with one line "stats K {"cpu_seconds": ..., "peak_rss_mib": ...}"; end of stdin stops it.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time

from chatlab.bench.load import pin_to_cpus
from chatlab.catalog import find_lab, load_module


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far, in MiB; None where the OS does not say (Windows).

    Linux: VmHWM from /proc/self/status, which starts afresh at exec. (getrusage's ru_maxrss
    would not do here: on Linux a child inherits its parent's peak across fork and exec.)
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)  # macOS: bytes


def raise_file_limit() -> None:
    """Allow as many sockets as the OS lets this process have: 1,000 clients pass the usual 1,024."""
    try:
        import resource
    except ImportError:
        return  # Windows: no such per-process limit to raise
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def start_lab(lab_name: str, target: str):
    lab = find_lab(lab_name)
    return start_threaded(getattr(load_module(lab, "server", target), lab.server_class)("127.0.0.1", 0))


def start_tuned():
    from chatlab.bench.tuned_threads import ChatServer

    return start_threaded(ChatServer("127.0.0.1", 0))


def start_threaded(server):
    """Run a lab-style server (`serve_forever()`, `address`) on a thread of its own; returns its address."""

    def serve():
        try:
            server.serve_forever()
        except BaseException as error:  # e.g. a stub's "not implemented yet": say so and stop at once
            print(f"serve_forever() failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            os._exit(1)

    threading.Thread(target=serve, daemon=True).start()
    return server.address


def start_peer(transport: str):
    from chatlab.bench.peers import AsyncioChatPeer, AsyncioUdpChatPeer

    listening = threading.Event()
    address = []

    def ready(where):
        address.extend(where)
        listening.set()

    peer = AsyncioChatPeer() if transport == "tcp" else AsyncioUdpChatPeer()
    threading.Thread(target=lambda: asyncio.run(peer.serve(ready)), daemon=True).start()
    if not listening.wait(10):
        raise SystemExit("the asyncio peer did not start listening within 10 s")
    return tuple(address)


def main(argv: list[str]) -> int:
    pin_to_cpus()  # before any thread starts: threads take their CPUs from the thread that starts them
    raise_file_limit()
    if argv[0] == "peer":
        host, port = start_peer(argv[1])
    elif argv[0] == "tuned-threads":
        host, port = start_tuned()
    else:
        host, port = start_lab(*argv[:2])
    print(f"listening on {host}:{port}", flush=True)
    for asked, line in enumerate(sys.stdin, start=1):
        if line.strip() == "stats":  # numbered, so an answer can never be taken for an earlier one
            figures = {"cpu_seconds": time.process_time(), "peak_rss_mib": peak_rss_mib()}
            print(f"stats {asked} {json.dumps(figures)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
