"""The bench's load: N chat clients in one thread, every line stamped, every delivery counted.

All clients live on one selector in this process: connect (TCP, lab 3) or bind a UDP socket
(lab 4), join by nickname, then each sends M lines "SEQ TIMESTAMP" that every other client
must receive as "[cI] SEQ TIMESTAMP". Two regimes:

- interactive: a sender's next line leaves only once its previous one reached everybody
  (what a person typing feels: one line in flight per sender);
- saturated: every sender writes all its lines at once (the server is the bottleneck).

Latency is the receive time minus the timestamp in the line (one clock: this process's).
Every wait is bounded: a run ends when all is delivered, when `deadline` seconds have passed,
or after QUIET seconds without a single delivery; what did not arrive by then is lost.
"""
from __future__ import annotations

import collections
import json
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field

from chatlab.harness.goodput import quantile_ms

CPUS_VARIABLE = "CHATLAB_BENCH_CPUS"  # set by chatlab bench: the CPUs a bench process may run on
QUIET = 5.0           # seconds without any delivery: the rest is not coming
DATAGRAM_QUIET = 1.0  # the same over UDP: on loopback a datagram arrives within microseconds, or never
DEADLINE = 120.0      # seconds a whole run may take
RECV_SIZE = 1 << 18


@dataclass
class LoadResult:
    regime: str
    clients: int
    messages: int
    expected: int                 # deliveries a perfect server makes: N * (N - 1) * M
    delivered: int = 0            # distinct (sender, line, receiver) that arrived
    duplicated: int = 0
    seconds: float = 0.0          # from the first line sent to the last one delivered
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    @property
    def lines_per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        return quantile_ms(self.latencies, quantile)

    def summary(self) -> dict:
        """The figures the bench keeps, without the latencies themselves."""
        return {"regime": self.regime, "clients": self.clients, "messages": self.messages,
                "expected": self.expected, "delivered": self.delivered, "duplicated": self.duplicated,
                "lost": self.lost, "seconds": self.seconds, "lines_per_second": self.lines_per_second,
                "p50_ms": self.latency_ms(0.50), "p99_ms": self.latency_ms(0.99)}


class Client:
    """A TCP chat client (lab 3): lines end in b"\\n", and the nickname is the first line."""

    def __init__(self, index: int, address):
        self.index = index
        self.nick = f"c{index}"
        self.join_line = f"{self.nick}\n".encode()
        self.sock = socket.create_connection(address, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.pending = b""          # the start of a line not complete yet
        self.outbox = bytearray()   # what the server has not taken yet
        self.closed = False

    def queue(self, lines: list[bytes]) -> None:
        """Send these lines (each ends in b"\\n") as soon as the server takes them."""
        self.outbox += b"".join(lines)
        self.flush()

    def flush(self) -> None:
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox)
            except BlockingIOError:
                return  # the server is not reading fast enough: try again after the next select
            del self.outbox[:sent]

    def lines(self) -> list[bytes]:
        """The complete lines that have arrived since the last call (never blocks)."""
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return []
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            return []
        *complete, self.pending = (self.pending + chunk).split(b"\n")
        return complete


class DatagramClient:
    """A UDP chat client (lab 4): one datagram is one line, and "/join NICK" the first.

    UDP may drop a datagram wherever a buffer is full: the server's socket when senders outrun
    it, a client's when the load reads late. Both count as lost; the buffers are the OS's own.
    """

    BURST = 256  # datagrams read per call at most, so one busy client cannot starve the others

    def __init__(self, index: int, address):
        self.index = index
        self.nick = f"c{index}"
        self.join_line = f"/join {self.nick}\n".encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # the OS may grant less
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(address)  # send() goes there, and only its datagrams are received
        self.sock.setblocking(False)
        self.outbox = collections.deque()  # datagrams the socket could not take yet
        self.closed = False

    def queue(self, lines: list[bytes]) -> None:
        """Send each line as a datagram of its own, as soon as the socket takes it."""
        self.outbox.extend(lines)
        self.flush()

    def flush(self) -> None:
        while self.outbox:
            try:
                self.sock.send(self.outbox[0])
            except BlockingIOError:
                return
            except ConnectionRefusedError:  # the server's port is closed: it is gone
                self.closed = True
                self.outbox.clear()
                return
            self.outbox.popleft()

    def lines(self) -> list[bytes]:
        """The datagrams that have arrived since the last call, without their b"\\n" (never blocks)."""
        lines = []
        for _ in range(self.BURST):
            try:
                lines.append(self.sock.recv(65535).removesuffix(b"\n"))
            except BlockingIOError:
                break
            except ConnectionRefusedError:
                self.closed = True
                break
        return lines


class Crowd:
    """N clients on one selector: `join()` them, then `pump()` what arrives to a handler."""

    def __init__(self, address, count: int, first: int = 0, transport: str = "tcp"):
        self.selector = selectors.DefaultSelector()
        self.clients = []
        self.one_at_a_time = transport == "udp"  # a burst of /join datagrams could overflow the server's socket
        for index in range(first, first + count):
            client = (Client if transport == "tcp" else DatagramClient)(index, address)
            self.selector.register(client.sock, selectors.EVENT_READ, client)
            self.clients.append(client)

    def pump(self, on_line, timeout: float = 0.2) -> None:
        """Read what has arrived for every ready client and hand each line to on_line(client, line)."""
        for key, _ in self.selector.select(timeout):
            for line in key.data.lines():
                on_line(key.data, line)
        for client in self.clients:
            if client.outbox:
                client.flush()

    def join(self, deadline: float) -> None:
        """Every client joins; returns once each welcome and every "* cX joined" notice has arrived.

        Which of two clients joined first is up to the server's threads, but each pair makes one
        notice, so the total is known: N welcomes and N(N-1)/2 notices. UDP clients join one at a
        time, each after the one before was welcomed.
        """
        seen = [0]

        def count_notices(client, line):
            if line.startswith((b"* welcome ", b"* c")):
                seen[0] += 1

        waves = [[client] for client in self.clients] if self.one_at_a_time else [self.clients]
        joining = 0
        for wave in waves:
            for client in wave:
                client.queue([client.join_line])
            joining += len(wave)
            wanted = joining + joining * (joining - 1) // 2
            while seen[0] < wanted:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {seen[0]} of {wanted} welcomes and join notices arrived in time")
                if any(client.closed for client in self.clients):
                    raise ConnectionError(f"the server closed a connection while the clients joined "
                                          f"({seen[0]} of {wanted} welcomes and join notices had arrived)")
                self.pump(count_notices)

    def close(self) -> None:
        for client in self.clients:
            client.sock.close()
        self.selector.close()


def run_load(address, clients: int, messages: int, regime: str, deadline: float = DEADLINE,
             quiet: float | None = None, transport: str = "tcp") -> LoadResult:
    """Drive a chat server at `address` with `clients` clients each sending `messages` lines.

    Ends when all is delivered, after `deadline` s, or after `quiet` s without a delivery
    (by default QUIET, or DATAGRAM_QUIET over UDP).
    """
    quiet = quiet or (DATAGRAM_QUIET if transport == "udp" else QUIET)
    result = LoadResult(regime, clients, messages, clients * (clients - 1) * messages)
    ends = time.monotonic() + deadline
    crowd = Crowd(address, clients, transport=transport)
    try:
        crowd.join(ends)
        # seen[receiver][sender] counts, per line number, how often that line arrived there.
        seen = [[bytearray(messages) for _ in range(clients)] for _ in range(clients)]
        waiting = {}  # interactive: (sender, seq) -> receivers still to get it

        def send(client, seq):
            client.queue([b"%d %.6f\n" % (seq, time.perf_counter())])
            waiting[client.index, seq] = clients - 1

        def on_line(receiver, line):
            if not line.startswith(b"[c"):
                return  # a notice ("* cX left" ...), not a measured line
            arrived = time.perf_counter()
            head, seq, stamp = line.split(b" ")
            sender, seq = int(head[2:-1]), int(seq)
            counts = seen[receiver.index][sender]
            if counts[seq]:
                result.duplicated += 1
            else:
                result.delivered += 1
                result.latencies.append(arrived - float(stamp))
            counts[seq] = min(255, counts[seq] + 1)
            last[0] = arrived
            if regime == "interactive" and counts[seq] == 1:
                waiting[sender, seq] -= 1
                if not waiting[sender, seq] and seq + 1 < messages:
                    send(crowd.clients[sender], seq + 1)

        start = time.perf_counter()
        last = [start]
        for client in crowd.clients:
            if regime == "interactive":
                send(client, 0)
            else:
                client.queue([b"%d %.6f\n" % (seq, time.perf_counter()) for seq in range(messages)])
        while result.delivered < result.expected:
            now = time.perf_counter()
            if time.monotonic() > ends or now - last[0] > quiet:
                break
            crowd.pump(on_line)
        result.seconds = last[0] - start
    finally:
        crowd.close()
    return result


@dataclass
class IdleResult:
    idle: int               # clients that joined and then only listened
    still_members: int      # of them, how many the server still listed in /users at the end (and had not cut)
    relayed: int            # private lines that went from one active client to the other
    sent: int
    latencies: list[float] = field(default_factory=list, repr=False)


def hold_idle(address, idle: int, lines: int = 200, deadline: float = 120.0, transport: str = "tcp") -> IdleResult:
    """`idle` clients join and stay; then two more exchange `lines` private messages, one at a time."""
    ends = time.monotonic() + deadline
    crowd = Crowd(address, idle, transport=transport)
    pair = None
    try:
        crowd.join(ends)
        pair = Crowd(address, 2, first=idle, transport=transport)
        pair.join(ends)
        for client in crowd.clients:  # the idle ones hear of the pair: read it so nothing backs up
            crowd.selector.unregister(client.sock)
            pair.selector.register(client.sock, selectors.EVENT_READ, client)
        result = IdleResult(idle, 0, 0, lines)
        speaker, listener = pair.clients
        sent_at = [0.0]

        def on_line(client, line):
            if client is listener and b"-> " in line:
                result.latencies.append(time.perf_counter() - sent_at[0])
                result.relayed += 1
                if result.relayed < lines:
                    send()

        def send():
            sent_at[0] = time.perf_counter()
            speaker.queue([f"/msg {listener.nick} line {result.relayed}\n".encode()])

        send()
        quiet_since = time.monotonic()
        while result.relayed < lines and time.monotonic() < ends:
            before = result.relayed
            pair.pump(on_line)
            if result.relayed != before:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > QUIET:
                break
        listed = []

        def on_users(client, line):
            if client is speaker and line.startswith(b"* users: "):
                listed.extend(line.removeprefix(b"* users: ").decode().split(", "))

        speaker.queue([b"/users\n"])
        answer_by = min(ends, time.monotonic() + QUIET)
        while not listed and time.monotonic() < answer_by:
            pair.pump(on_users)
        result.still_members = len({client.nick for client in crowd.clients if not client.closed} & set(listed))
        return result
    finally:
        crowd.close()
        if pair:
            pair.close()


def pin_to_cpus() -> None:
    """Run this process, and every thread it starts later, on the CPUs CHATLAB_BENCH_CPUS lists ("1,2").

    chatlab bench gives the load and the measured server CPUs of their own, so that neither
    waits for the other's threads. Linux only: elsewhere the variable is never set.
    """
    listed = os.environ.get(CPUS_VARIABLE)
    if listed:
        os.sched_setaffinity(0, {int(cpu) for cpu in listed.split(",")})


def main(argv: list[str]) -> int:
    """`python -m chatlab.bench.load HOST PORT CLIENTS MESSAGES REGIME [tcp|udp]`: one run, its summary as a JSON line.

    The bench runs each load in a fresh process: measured, a load process reused for several
    runs added its own pauses to the latency tail (p99 1.6-2.6 ms instead of 0.7-0.9 ms).
    """
    pin_to_cpus()
    host, port, clients, messages, regime, *transport = argv
    result = run_load((host, int(port)), int(clients), int(messages), regime, transport=transport[0] if transport else "tcp")
    print(json.dumps(result.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
