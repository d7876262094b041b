"""Lab 5: a reliable UDP chat client. Numbers each line it sends, waits for its acknowledgement,
sends it again if none comes in time; acknowledges each line it receives and prints it once, in order.

Run it:   python client.py --port 5050 --name alice      (/leave, or Ctrl+D, leaves)
Protocol: PROTOCOL.md, section "Lab 5".

Three threads, as in lab 4: the main one reads what you type and sends it, the receiving
thread prints what arrives and acknowledges it, the keepalive thread sends /ping. Sending
is stop-and-wait: one line in flight at a time, so a lock lets one sender at a time wait
for its acknowledgement, and a Condition wakes it when the receiving thread sees one.
"""
import argparse
import os
import re
import socket
import threading
import time

RECV_SIZE = 65535
KEEPALIVE_EVERY = 10.0   # seconds between /ping lines
WINDOW = 8               # lines the server may send ahead of a missing one: kept until it comes
MAX_TRIES = 12           # sends of one line before the server is given up on
FIRST_TIMEOUT = 0.5      # seconds to wait for the first acknowledgement (no round trip measured yet)
MIN_TIMEOUT = 0.05
MAX_TIMEOUT = 1.0
DATA = re.compile(rb"D (\d{1,9}) (.*)", re.S)
ACK = re.compile(rb"A (\d{1,9})")


class Sender:
    """Sends numbered lines, one at a time, each until acknowledged (stop-and-wait)."""

    def __init__(self, sock, max_tries=MAX_TRIES):
        self.sock, self.max_tries = sock, max_tries
        self.next_seq = 1
        self.acked = 0                        # every line up to this number was acknowledged
        self.timeout = FIRST_TIMEOUT          # adapted to the round trip, as the server does
        self.smoothed, self.variation = None, 0.0
        self._one_at_a_time = threading.Lock()
        self._ack_came = threading.Condition()

    def send(self, text):
        """Send `text` as the next numbered line; True once acknowledged, False after max_tries sends."""
        # BEGIN SOLUTION: number it; send, wait for its ack up to timeout; measure or back off; repeat
        with self._one_at_a_time:
            seq = self.next_seq
            self.next_seq += 1
            datagram = f"D {seq} {text}".encode("utf-8")
            for tries in range(1, self.max_tries + 1):
                sent = time.monotonic()
                self.sock.send(datagram)
                with self._ack_came:
                    if self._ack_came.wait_for(lambda: self.acked >= seq, self.timeout):
                        if tries == 1:  # an ack after a retransmission may answer either copy
                            self.measured(time.monotonic() - sent)
                        return True
                self.timeout = min(MAX_TIMEOUT, self.timeout * 2)
            return False
        # END SOLUTION

    def measured(self, seconds):
        """Adapt the timeout to a round trip of `seconds` (RFC 6298, as the server's RoundTrip)."""
        if self.smoothed is None:
            self.smoothed, self.variation = seconds, seconds / 2
        else:
            self.variation = 0.75 * self.variation + 0.25 * abs(self.smoothed - seconds)
            self.smoothed = 0.875 * self.smoothed + 0.125 * seconds
        self.timeout = min(MAX_TIMEOUT, max(MIN_TIMEOUT, self.smoothed + 4 * self.variation))

    def acknowledged(self, seq):
        """The receiving thread saw "A seq": wake the sender waiting for it."""
        # BEGIN SOLUTION: raise `acked` (never lower it) and notify under the condition
        with self._ack_came:
            if seq < self.next_seq:  # an ack for a line never sent is ignored
                self.acked = max(self.acked, seq)
                self._ack_came.notify_all()
        # END SOLUTION


def receive_datagrams(sock, sender, show, stop):
    """The receiving thread: acks go to `sender`; each numbered line is acknowledged (cumulatively:
    "A n" = every line up to n arrived) and shown once, in order, until `stop` is set."""
    # BEGIN SOLUTION: recv until stop; A -> sender.acknowledged; D -> keep early ones, show in order, ack
    expected, early = 1, {}
    while not stop.is_set():
        try:
            data = sock.recv(RECV_SIZE).removesuffix(b"\n")
        except (socket.timeout, ConnectionRefusedError):
            continue
        except OSError:  # our socket was closed
            return
        ack, line = ACK.fullmatch(data), DATA.fullmatch(data)
        if ack:
            sender.acknowledged(int(ack.group(1)))
        elif line:
            seq = int(line.group(1))
            if expected <= seq < expected + WINDOW:
                early[seq] = line.group(2)
            while expected in early:
                show(early.pop(expected).decode("utf-8", errors="replace"))
                expected += 1
            try:
                sock.send(f"A {expected - 1}".encode())
            except OSError:
                return
    # END SOLUTION


def keep_alive(sender, stop, every):
    """Send /ping every `every` seconds until `stop` is set."""
    while not stop.wait(every):
        sender.send("/ping")


def run_client(host, port, name, read_line=input, show=print, keepalive_every=KEEPALIVE_EVERY):
    """Join as `name`, print what arrives, send what read_line() returns until /leave or EOF."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        sock.settimeout(0.5)   # so the receiving thread looks at `stop` now and then
        stop = threading.Event()
        sender = Sender(sock)
        threading.Thread(target=receive_datagrams, args=(sock, sender, show, stop), daemon=True).start()
        threading.Thread(target=keep_alive, args=(sender, stop, keepalive_every), daemon=True).start()
        line = f"/join {name}"
        while True:
            if not sender.send(line):
                show("! no answer from the server: giving up")
                break
            if line == "/leave":
                break
            try:
                line = read_line()
            except EOFError:
                line = "/leave"
        stop.set()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 5: reliable UDP chat client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--name", required=True, help="your nickname")
    parser.add_argument("--keepalive", type=float, default=KEEPALIVE_EVERY, metavar="SECONDS")
    args = parser.parse_args(argv)
    try:
        run_client(args.host, args.port, args.name, keepalive_every=args.keepalive)
    except KeyboardInterrupt:
        pass
    print("* disconnected", flush=True)
    os._exit(0)  # a thread may still be blocked in input()


if __name__ == "__main__":
    main()
