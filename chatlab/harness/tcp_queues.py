"""How many bytes wait in a TCP connection's queues: a Linux-only probe (/proc/net/tcp).

Kept apart because it is the one platform-specific piece of the harness: elsewhere it
answers None, and its callers must say what that means for them.
"""
from __future__ import annotations

import socket
import sys


def _proc_tcp_address(address) -> str:
    """127.0.0.1:80 as /proc/net/tcp writes it: 0100007F:0050."""
    host, port = address[:2]
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def tcp_queues(local, remote) -> tuple[int, int] | None:
    """(tx_queue, rx_queue) of the TCP socket local->remote, from /proc/net/tcp, or None.

    A Linux-only probe: with it a scenario can wait until a peer has read everything, so
    that the next bytes arrive in a recv() of their own. Elsewhere it returns None and the
    scenarios go on without the wait (a cut is then likely, not certain).
    """
    want = (_proc_tcp_address(local), _proc_tcp_address(remote))
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            for row in table:
                fields = row.split()
                if len(fields) > 4 and (fields[1], fields[2]) == want:
                    tx, rx = fields[4].split(":")
                    return int(tx, 16), int(rx, 16)
    except OSError:
        pass
    return None
