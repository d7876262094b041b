"""A UDP relay that loses, duplicates and reorders datagrams on purpose, as real networks may.

Loopback never loses a datagram, so a UDP chat tried only on one machine looks reliable.
Put a `LossyRelay` between the clients and the server and it shows what UDP promises on a
real network: nothing. Clients send to `relay.address`; the relay forwards each client's
datagrams to the server from a socket of that client's own (so the server still sees one
address per client), and the server's answers back, deciding each datagram's fate:

    passed      forwarded as it came
    lost        dropped
    duplicated  forwarded twice
    reordered   held back, and forwarded after the next datagram of the same flow

Each flow (one client, one direction) draws its fates from a random generator of its own,
seeded from `seed`, the client's number in order of first contact and the direction, so a
run is repeatable: the same datagrams in the same order meet the same fates.
"""
from __future__ import annotations

import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass

from chatlab.harness.waiting import EventLog

TICK = 0.05          # seconds: how often the relay looks at its stop flag and held datagrams
DATAGRAM = 65535


@dataclass(frozen=True)
class Fate:
    time: float         # seconds since the relay started
    to_server: bool     # the direction: client -> server, or server -> client
    client: tuple       # the client's (host, port)
    data: bytes
    fate: str           # "passed", "lost", "duplicated" or "reordered"


class LossyRelay:
    """`with LossyRelay(server_address, loss=0.2) as relay:` then send to `relay.address`."""

    def __init__(self, server_address, loss=0.0, duplicate=0.0, reorder=0.0, seed=1):
        self.server_address = tuple(server_address[:2])
        self.odds = {"lost": loss, "duplicated": duplicate, "reordered": reorder}
        self.seed = seed
        self.faulty = True          # False: every datagram passes (a held one first), e.g. for a sentinel
        self.log: EventLog[Fate] = EventLog()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.address = self._sock.getsockname()[:2]
        self._upstream: dict[tuple, socket.socket] = {}   # client address -> its socket to the server
        self._numbers: dict[tuple, int] = {}              # client address -> 1, 2, ... in order of first contact
        self._random: dict[tuple, random.Random] = {}     # (client, to_server) -> that flow's generator
        self._held: dict[tuple, tuple] = {}               # (client, to_server) -> (data, since) held back
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._start = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="lossy relay", daemon=True)
        self._thread.start()

    def __enter__(self) -> "LossyRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def snapshot(self) -> list[Fate]:
        return self.log.snapshot()

    def wait_relayed(self, count: int, to_server: bool = True, timeout: float = 5.0) -> bool:
        """Wait until `count` datagrams have met their fate in that direction; False after `timeout` s."""
        return self.log.wait_for(lambda fates: sum(f.to_server == to_server for f in fates) >= count, timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(TICK):
                    self._relay_one(key.data)
                self._release_stale_held()
        finally:
            self._selector.close()
            for sock in [self._sock, *self._upstream.values()]:
                sock.close()

    def _relay_one(self, upstream_of) -> None:
        """Read one datagram: from a client (upstream_of is None) or from the server for that client."""
        try:
            if upstream_of is None:
                data, client = self._sock.recvfrom(DATAGRAM)
                client, to_server = tuple(client[:2]), True
            else:
                data, client, to_server = self._upstream[upstream_of].recv(DATAGRAM), upstream_of, False
        except OSError:  # Windows reports an earlier datagram to a closed port here: not ours to relay
            return
        flow = (client, to_server)
        fate = self._draw_fate(flow)
        self._apply(flow, fate, data)
        # Logged once done with, so that wait_relayed() returning means "sent, dropped or held".
        self.log.append(Fate(time.perf_counter() - self._start, to_server, client, data, fate))

    def _apply(self, flow, fate: str, data: bytes) -> None:
        if fate == "lost":
            return
        held = self._held.pop(flow, None)
        if fate == "reordered" and held is None:
            self._held[flow] = (data, time.monotonic())
            return
        if held is not None and not self.faulty:  # made reliable again: what was held goes first
            self._send(flow, held[0])
            held = None
        for _ in range(2 if fate == "duplicated" else 1):
            self._send(flow, data)
        if held is not None:  # what was held back goes out after this one: the order is swapped
            self._send(flow, held[0])

    def _draw_fate(self, flow) -> str:
        if not self.faulty:
            return "passed"
        if flow not in self._random:  # seeded by the client's number (in order of first contact), not its port
            number = self._numbers.setdefault(flow[0], len(self._numbers) + 1)
            self._random[flow] = random.Random(f"{self.seed}/{number}/{flow[1]}")
        generator = self._random[flow]
        roll = generator.random()
        for fate, odds in self.odds.items():
            if roll < odds:
                return fate
            roll -= odds
        return "passed"

    def _send(self, flow, data: bytes) -> None:
        client, to_server = flow
        if not to_server:
            self._sock.sendto(data, client)
            return
        upstream = self._upstream.get(client)
        if upstream is None:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.connect(self.server_address)
            self._upstream[client] = upstream
            self._selector.register(upstream, selectors.EVENT_READ, client)
        try:
            upstream.send(data)
        except OSError:  # the server is gone: a datagram lost like any other
            pass

    def _release_stale_held(self) -> None:
        """A datagram held back for TICK s with nothing after it goes out anyway: late, not lost."""
        now = time.monotonic()
        for flow, (data, since) in list(self._held.items()):
            if now - since >= TICK:
                del self._held[flow]
                self._send(flow, data)
