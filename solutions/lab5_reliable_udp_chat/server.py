"""Lab 5: the lab 4 chat made reliable over a network that loses, duplicates and reorders datagrams.

Every chat line travels as a numbered data datagram, "D 7 hello", and is acknowledged with
"A 7" ("I have every line up to 7"). A sender keeps each line until it is acknowledged and
sends it again when no acknowledgement comes in time; a receiver delivers each line once,
in order, and acknowledges duplicates again without delivering them. Both directions work
so: client to server, and server to each member.
Run it:   python server.py --port 5050      then try:   nc -u 127.0.0.1 5050   and type D 1 /join bob
Protocol: PROTOCOL.md, section "Lab 5".

One thread does everything, as in lab 4: it waits in select() for a datagram or for the
earliest retransmission deadline, whichever comes first. A timer that is a deadline in a
table, not a thread, costs nothing while it waits.
"""
import argparse
import re
import select
import socket
import threading
import time

RECV_SIZE = 65535      # the largest UDP payload
MAX_MESSAGE = 4096     # bytes in one chat line
IDLE_TIMEOUT = 30.0    # seconds of silence after which a member is forgotten
SWEEP_EVERY = 0.25     # seconds: the longest select() waits, so shutdown() and silence are noticed
WINDOW = 8             # lines a sender may have unacknowledged at once (1 = stop-and-wait)
MAX_TRIES = 12         # sends of one line before its receiver is given up on
FAST_RESEND_AFTER = 2  # bonus: acknowledgements in a row covering nothing new, before the oldest line goes again
FIRST_TIMEOUT = 0.5    # seconds to wait for an acknowledgement before any round trip was measured
MIN_TIMEOUT = 0.05     # the floor: a few scheduler ticks, so a busy machine does not look like loss
MAX_TIMEOUT = 1.0      # the ceiling: backing off past it would only wait longer for a vanished peer
DATA = re.compile(rb"D (\d{1,9}) (.*)", re.S)   # "D 7 hello": a numbered chat line
ACK = re.compile(rb"A (\d{1,9})")                # "A 7": every line up to 7 arrived
NICKNAME = re.compile(r"[\w-]{1,20}")


def printable(text):
    """`text` with every control character except tab replaced by U+FFFD, as in lab 4."""
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", "\ufffd", text)


class RoundTrip:
    """The retransmission timeout of one peer, adapted to its measured round trip (RFC 6298)."""

    def __init__(self):
        self.smoothed = None     # the average round trip, seconds
        self.variation = 0.0     # how much it varies
        self.timeout = FIRST_TIMEOUT

    def measured(self, seconds):
        """A line sent once was acknowledged after `seconds`: update the average, its variation and
        the timeout (average + 4 variations, between MIN_TIMEOUT and MAX_TIMEOUT)."""
        # BEGIN SOLUTION: the first sample sets average and half-variation, later ones move them by 1/8 and 1/4
        if self.smoothed is None:
            self.smoothed, self.variation = seconds, seconds / 2
        else:
            self.variation = 0.75 * self.variation + 0.25 * abs(self.smoothed - seconds)
            self.smoothed = 0.875 * self.smoothed + 0.125 * seconds
        self.timeout = min(MAX_TIMEOUT, max(MIN_TIMEOUT, self.smoothed + 4 * self.variation))
        # END SOLUTION

    def backed_off(self):
        """No acknowledgement came in time: double the timeout, up to MAX_TIMEOUT."""
        # BEGIN SOLUTION: double, with the ceiling
        self.timeout = min(MAX_TIMEOUT, self.timeout * 2)
        # END SOLUTION


class Peer:
    """Both directions of reliable delivery with one address: what we sent it, what it sent us."""

    def __init__(self, window):
        self.window = window
        self.next_seq = 1        # the number our next line to this peer gets
        self.unacked = {}        # seq -> [datagram, time first sent, tries, deadline]: sent, not yet acknowledged
        self.waiting = []        # datagrams not sent yet: the window is full
        self.expected = 1        # the number of the next line we deliver from this peer
        self.early = {}          # seq -> text: arrived ahead of a missing line, delivered once it comes
        self.round_trip = RoundTrip()
        self.repeated_acks = 0   # acknowledgements in a row that covered nothing new
        self.heard = time.monotonic()

    def accept(self, seq, text):
        """Line `seq` arrived: return the lines now deliverable in order (none for a duplicate, a
        line beyond the window, or one that waits for a missing line before it)."""
        # BEGIN SOLUTION: ignore old and far-ahead numbers, keep early lines, deliver the run from `expected`
        if seq < self.expected or seq >= self.expected + self.window:
            return []
        self.early[seq] = text
        delivered = []
        while self.expected in self.early:
            delivered.append(self.early.pop(self.expected))
            self.expected += 1
        return delivered
        # END SOLUTION

    def oldest(self):
        """The oldest line sent and not yet acknowledged, [datagram, first sent, tries, deadline], or None."""
        return self.unacked[min(self.unacked)] if self.unacked else None

    def acknowledged(self, seq, now):
        """An "A seq" arrived: forget every line up to `seq`; measure the round trip of line `seq`
        unless a line it covers was sent twice (Karn's rule: that acknowledgement may answer any
        copy, and a line that waited at the receiver behind the lost one would look slow); without
        a sample, a backed-off timeout stays as it is.

        Bonus (window): return True at the FAST_RESEND_AFTER-th acknowledgement in a row that covers
        nothing new: later lines arrived, the oldest did not, and it should go again now, not after
        its timeout (TCP's fast retransmit, RFC 5681). Otherwise return False.
        """
        # BEGIN SOLUTION: ignore acks beyond what was sent; count repeats; drop covered lines; measure unless resent
        if not self.unacked or seq > max(self.unacked):
            return False
        covered = [self.unacked.pop(number) for number in sorted(self.unacked) if number <= seq]
        if not covered:
            self.repeated_acks += 1
            return self.repeated_acks == FAST_RESEND_AFTER
        self.repeated_acks = 0
        if all(tries == 1 for _, _, tries, _ in covered):
            self.round_trip.measured(now - covered[-1][1])
        return False
        # END SOLUTION


class ReliableChatServer:
    """Receives on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0, idle_timeout=IDLE_TIMEOUT, window=WINDOW, max_tries=MAX_TRIES):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()[:2]
        self.idle_timeout, self.window, self.max_tries = idle_timeout, window, max_tries
        self.peers = {}      # (ip, port) -> Peer: everyone we exchange numbered lines with
        self.members = {}    # (ip, port) -> nick: the room
        self._stopping = threading.Event()

    def serve_forever(self):
        """Until shutdown(): wait for a datagram or the earliest deadline, handle it, retransmit what is due."""
        next_sweep = time.monotonic() + SWEEP_EVERY
        while not self._stopping.is_set():
            # BEGIN SOLUTION: select() until the earliest deadline (at most SWEEP_EVERY), receive, retransmit
            deadlines = [peer.oldest()[3] for peer in self.peers.values() if peer.unacked]
            wait = min([next_sweep, *deadlines]) - time.monotonic()
            readable, _, _ = select.select([self.sock], [], [], min(SWEEP_EVERY, max(0.0, wait)))
            try:
                if readable:
                    data, address = self.sock.recvfrom(RECV_SIZE)
                    self.handle_datagram(data, address)
            except ConnectionResetError:  # Windows: an earlier sendto() hit a closed port
                pass
            self.retransmit_due()
            # END SOLUTION
            if time.monotonic() >= next_sweep:
                self.forget_silent()
                next_sweep = time.monotonic() + SWEEP_EVERY
        self.sock.close()

    def handle_datagram(self, data, address):
        """An acknowledgement, or a numbered line: acknowledge it and act on each line now in order."""
        # BEGIN SOLUTION: parse; "A n" -> acknowledged() (True: resend the oldest); "D n text" -> accept(), ack, act
        data = data.removesuffix(b"\n").removesuffix(b"\r")  # nc -u sends "\n", nc -C "\r\n"
        ack, line = ACK.fullmatch(data), DATA.fullmatch(data)
        peer = self.peers.get(address)
        if ack and peer:
            peer.heard = time.monotonic()
            if peer.acknowledged(int(ack.group(1)), time.monotonic()):  # bonus: the oldest line again, now
                oldest = peer.oldest()
                oldest[2] += 1
                self.send_raw(address, oldest[0])
            self.send_waiting(address, peer)
        elif line:
            peer = peer or self.peers.setdefault(address, Peer(self.window))
            peer.heard = time.monotonic()
            delivered = peer.accept(int(line.group(1)), line.group(2))
            self.send_raw(address, f"A {peer.expected - 1}\n".encode())  # duplicates too: their first ack was lost
            for text in delivered:
                self.handle_line(text, address)
        # END SOLUTION

    def handle_line(self, data, address):
        """Act on one chat line, delivered once and in order: the lab 4 protocol, unchanged."""
        if len(data) > MAX_MESSAGE:
            return self.send_to(address, f"! message too long (max {MAX_MESSAGE} bytes)")
        text = printable(data.decode("utf-8", errors="replace"))
        nick = self.members.get(address)
        if nick is None:
            if text.startswith("/join "):
                self.join(address, text[len("/join "):].strip())
            elif text not in ("/ping", "/leave", ""):
                self.send_to(address, "! join first: /join NICK")
        elif text == "/leave":
            del self.members[address]
            self.send_to(address, "* bye")
            self.broadcast(f"* {nick} left")
        elif text == "/users":
            self.send_to(address, "* users: " + ", ".join(sorted(self.members.values())))
        elif text == "/msg" or text.startswith("/msg "):
            self.private(address, nick, text[len("/msg "):])
        elif text.startswith("/join"):
            self.send_to(address, f"! already joined as {nick}")
        elif text.startswith("/") and text != "/ping":
            self.send_to(address, f"! unknown command: {text.split()[0]} (try /users, /msg NICK TEXT, /leave)")
        elif text and text != "/ping":
            self.broadcast(f"[{nick}] {text}", sender=address)

    def join(self, address, nick):
        if not NICKNAME.fullmatch(nick):
            self.send_to(address, "! invalid nickname: use 1-20 letters, digits, _ or -")
        elif nick in self.members.values():
            self.send_to(address, "! nickname taken")
        else:
            self.members[address] = nick
            self.send_to(address, f"* welcome {nick}")
            self.broadcast(f"* {nick} joined", sender=address)

    def private(self, address, nick, rest):
        target, _, text = rest.partition(" ")
        recipients = [a for a, member in self.members.items() if member == target]
        if not target or not text:
            self.send_to(address, "! usage: /msg NICK TEXT")
        elif not recipients:
            self.send_to(address, f"! no such user: {target}")
        else:
            self.send_to(recipients[0], f"[{nick} -> {target}] {text}")

    def broadcast(self, text, sender=None):
        for address in list(self.members):
            if address != sender:
                self.send_to(address, text)

    def send_to(self, address, text):
        """Send `text` to `address` reliably: number it, and send it now if the window has room."""
        # BEGIN SOLUTION: give the line the peer's next number, queue it, send what the window allows
        peer = self.peers.setdefault(address, Peer(self.window))
        peer.waiting.append(f"D {peer.next_seq} {text}\n".encode("utf-8"))
        peer.next_seq += 1
        self.send_waiting(address, peer)
        # END SOLUTION

    def send_waiting(self, address, peer):
        """Send queued lines while fewer than `window` are unacknowledged, each with its deadline."""
        # BEGIN SOLUTION: move lines from waiting to unacked, sending each, while the window has room
        while peer.waiting and len(peer.unacked) < self.window:
            datagram = peer.waiting.pop(0)
            seq = int(datagram.split(b" ", 2)[1])
            now = time.monotonic()
            peer.unacked[seq] = [datagram, now, 1, now + peer.round_trip.timeout]
            self.send_raw(address, datagram)
        # END SOLUTION

    def retransmit_due(self):
        """Send again each peer's oldest unacknowledged line once its deadline passed, backing off; give
        up on a peer after max_tries. Only the oldest (one timer per peer, as TCP): the lines after it
        may well have arrived and wait at the receiver for the gap, which one acknowledgement covers."""
        # BEGIN SOLUTION: per peer, the oldest line if overdue: give up after max_tries, else back off, resend
        now = time.monotonic()
        for address, peer in list(self.peers.items()):
            oldest = peer.oldest()
            if oldest is None or oldest[3] > now:
                continue
            if oldest[2] >= self.max_tries:
                self.give_up(address)
                continue
            peer.round_trip.backed_off()
            oldest[2] += 1
            for line in peer.unacked.values():  # the timer restarts for every line in flight
                line[3] = now + peer.round_trip.timeout
            self.send_raw(address, oldest[0])
        # END SOLUTION

    def give_up(self, address):
        """`address` acknowledged nothing in max_tries sends: it is gone. Forget it, tell the room."""
        del self.peers[address]
        nick = self.members.pop(address, None)
        if nick:
            self.broadcast(f"* {nick} left")

    def forget_silent(self):
        """Forget members silent for idle_timeout, and peers with nothing left to deliver."""
        deadline = time.monotonic() - self.idle_timeout
        for address in [a for a, peer in self.peers.items() if peer.heard < deadline]:
            if address in self.members:
                self.broadcast(f"* {self.members.pop(address)} left")
            if not self.peers[address].unacked:
                del self.peers[address]

    def send_raw(self, address, datagram):
        """One datagram; a failed sendto() is a datagram lost, which retransmission repairs."""
        # BEGIN SOLUTION: sendto; an OSError is no reason to stop
        try:
            self.sock.sendto(datagram, address)
        except OSError:
            pass
        # END SOLUTION

    def shutdown(self):
        """Stop serve_forever() within SWEEP_EVERY seconds; callable from any thread."""
        self._stopping.set()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 5: reliable UDP chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT)
    parser.add_argument("--window", type=int, default=WINDOW, help="lines in flight per member (1: stop-and-wait)")
    args = parser.parse_args(argv)
    server = ReliableChatServer(args.host, args.port, args.idle_timeout, args.window)
    print("listening on %s:%d" % server.address, flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        print("stopping")
    server.shutdown()


if __name__ == "__main__":
    main()
