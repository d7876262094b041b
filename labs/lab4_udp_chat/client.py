"""Lab 4: a UDP chat client. Joins with /join NICK, then sends each typed line as a datagram.

Run it:   python client.py --port 5050 --name alice      (/leave, or Ctrl+D, leaves)
Protocol: PROTOCOL.md, section "Lab 4".

Three threads: the main one reads what you type, a receiving thread prints what arrives
(input() blocks, so it cannot do both), and a keepalive thread sends /ping now and then,
because the server forgets members it has not heard from for a while.
"""
import argparse
import os
import socket
import threading

RECV_SIZE = 65535        # the largest UDP payload: a smaller buffer silently cuts big datagrams
KEEPALIVE_EVERY = 10.0   # seconds between /ping datagrams; well under the server's idle timeout


def receive_datagrams(sock, show, stop):
    """Call show(text) for each datagram received, until `stop` is set.

    The receiving thread's body. One datagram is one whole message: no framing needed, but
    decode with errors="replace" and drop the trailing "\\n". `sock` has a timeout, so
    recv() returns regularly and the loop can look at `stop`.
    """
    # TODO: recv in a loop until stop; one datagram is one line
    raise NotImplementedError("not implemented yet: receive_datagrams")


def keep_alive(sock, stop, every):
    """Send /ping every `every` seconds until `stop` is set."""
    # TODO: wait on the event with a timeout, so stopping is immediate
    raise NotImplementedError("not implemented yet: keep_alive")


def run_client(host, port, name, read_line=input, show=print, keepalive_every=KEEPALIVE_EVERY):
    """Join as `name`, print what arrives, send what read_line() returns until /leave or EOF."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        # connect() on UDP sends nothing: it fixes the peer, so send() needs no address and
        # recv() ignores datagrams from anyone else.
        sock.connect((host, port))
        sock.settimeout(0.5)
        stop = threading.Event()
        # TODO: start the receiving and keepalive threads, join, send lines, leave
        raise NotImplementedError("not implemented yet: run_client")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 4: UDP chat client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--name", required=True, help="your nickname")
    parser.add_argument("--keepalive", type=float, default=KEEPALIVE_EVERY, metavar="SECONDS",
                        help="seconds between /ping datagrams")
    args = parser.parse_args(argv)
    try:
        run_client(args.host, args.port, args.name, keepalive_every=args.keepalive)
    except KeyboardInterrupt:
        pass
    print("* disconnected", flush=True)
    os._exit(0)  # as in lab 3: a thread may still be blocked in input()


if __name__ == "__main__":
    main()
