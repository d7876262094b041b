"""Where a server started by hand listens, and what to say when it cannot: for `chatlab serve` and `connect`.

An instructor serving a class types `chatlab serve lab3 --host 0.0.0.0`; the students need an
address they can type, not "0.0.0.0". And a port already taken, a host that is not this
machine's, or an IPv6 address deserve one line that says what to do, not a traceback.
"""
from __future__ import annotations

import errno
import socket

from chatlab.i18n import _

EVERYWHERE = ("0.0.0.0", "")  # bind to every IPv4 address of the machine
IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
NOT_HERE = {errno.EADDRNOTAVAIL, getattr(errno, "WSAEADDRNOTAVAIL", errno.EADDRNOTAVAIL)}
NO_TRAFFIC = "192.0.2.1"  # TEST-NET-1 (RFC 5737): connecting a UDP socket there picks a route, sends nothing


def ipv6_refusal(host: str) -> str | None:
    """One line if `host` is an IPv6 address, which the labs' servers and clients (AF_INET) cannot use."""
    if ":" not in host:
        return None
    return _("chatlab: {host} is an IPv6 address; the labs speak IPv4 only (AF_INET sockets): use --host 0.0.0.0 "
             "to listen on every IPv4 address, or --host 127.0.0.1 for this machine only").format(host=host)


def bind_problem(error: OSError, host: str, port: int) -> str:
    """What a failed bind means, in one line that says what to do."""
    if error.errno in IN_USE:
        return _("chatlab: port {port} is in use on {host} (another server, perhaps yours, still runs there): "
                 "choose another --port, or --port 0 to let the system pick a free one").format(port=port, host=host)
    if error.errno in NOT_HERE:
        return _("chatlab: {host} is not an address of this machine: use --host 127.0.0.1 (this machine only) "
                 "or --host 0.0.0.0 (every address it has)").format(host=host)
    if isinstance(error, socket.gaierror):
        return _("chatlab: cannot use --host {host}: {error}").format(host=host, error=error.strerror or error)
    if isinstance(error, PermissionError):
        return _("chatlab: port {port} needs administrator rights: use a port above 1023, such as 5050").format(
            port=port)
    return _("chatlab: cannot listen on {host}:{port}: {error}").format(host=host, port=port,
                                                                       error=error.strerror or error)


def addresses_to_share(host: str, port: int) -> list[str]:
    """The HOST:PORT others can type to reach a server bound to `host`, the machine's own addresses first.

    Bound to every address (0.0.0.0), the server is reached at each of the machine's IPv4
    addresses: the one of the route out (found by connecting a UDP socket, which sends
    nothing), those its name resolves to, and 127.0.0.1 from the machine itself.
    """
    if host not in EVERYWHERE:
        return [f"{host}:{port}"]
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((NO_TRAFFIC, 9))
            found.append(probe.getsockname()[0])
        except OSError:  # no route at all: a machine without a network
            pass
    try:
        found += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass
    shared = [address for address in dict.fromkeys(found) if not address.startswith("127.")]
    return [f"{address}:{port}" for address in shared] + [f"127.0.0.1:{port}"]
