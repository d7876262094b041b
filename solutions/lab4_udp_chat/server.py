"""Lab 4: the multi-user chat over UDP: one datagram is one message.

No connections here: the server learns who is in the room from /join NICK, keeps each
member by its address (ip, port), and forgets members that say nothing (not even the
client's automatic keepalive) for longer than idle_timeout seconds.
Run it:   python server.py --port 5050      then try:   nc -u 127.0.0.1 5050   and type /join bob
Protocol: PROTOCOL.md, section "Lab 4".

One thread receives every datagram and owns the member table, so no lock is needed here
(compare lab 3, where many threads share the room). The client is where threads matter:
it must receive while you type.
"""
import argparse
import re
import select
import socket
import threading
import time

RECV_SIZE = 65535      # the largest UDP payload: a smaller buffer silently cuts big datagrams
MAX_MESSAGE = 4096     # bytes in one message; longer ones are refused with an error
IDLE_TIMEOUT = 30.0    # seconds of silence after which a member is forgotten
SWEEP_EVERY = 0.25     # seconds: how often silent members are looked for, and shutdown() noticed
NICKNAME = re.compile(r"[\w-]{1,20}")  # \w includes letters of every alphabet: Иван is fine


def printable(text):
    """`text` with every control character except tab replaced by U+FFFD ("\\ufffd").

    Control characters (Unicode category Cc: "\\x00" to "\\x1f", "\\x7f" to "\\x9f") steer the
    terminal that shows them: "\\x1b[2J" clears the screen of everyone who receives it, and a
    "\\n" or a bare "\\r" inside a message starts a line of its own or writes over "[nick] ",
    so bob could pass for alice. Tab is only space, so it stays. PROTOCOL.md, "Rules for every
    lab": "Control characters".
    """
    # BEGIN SOLUTION: replace each control character but tab with "\ufffd", in one pass
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", "\ufffd", text)  # all of Cc but \x09, tab
    # END SOLUTION


class UdpChatServer:
    """Receives on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0, idle_timeout=IDLE_TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()[:2]
        self.idle_timeout = idle_timeout
        self.members = {}  # (ip, port) -> [nick, time last heard from]
        self._stopping = threading.Event()

    def serve_forever(self):
        """Receive and answer datagrams until shutdown(), forgetting silent members as we go."""
        # BEGIN SOLUTION: wait (bounded) for a datagram, recvfrom, handle it; sweep now and then
        sweep_every = min(SWEEP_EVERY, self.idle_timeout / 2)
        next_sweep = time.monotonic() + sweep_every
        while not self._stopping.is_set():
            # Wait at most sweep_every, so that we sweep and notice shutdown() even in silence.
            # sock.settimeout(sweep_every) would do too, but then Python polls the socket before
            # every call on it, each sendto() included: a line to 199 members costs 398 system
            # calls instead of 199 (chatlab bench lab4, 200 clients: 0.92 of an asyncio
            # server's lines per second with settimeout, 1.14 with select).
            readable, _, _ = select.select([self.sock], [], [], sweep_every)
            try:
                if readable:
                    data, address = self.sock.recvfrom(RECV_SIZE)
                    self.handle_datagram(data, address)
            except ConnectionResetError:  # Windows: an earlier sendto() hit a closed port
                pass
            if time.monotonic() >= next_sweep:
                self.forget_silent()
                next_sweep = time.monotonic() + sweep_every
        self.sock.close()
        # END SOLUTION

    def handle_datagram(self, data, address):
        """Act on one datagram from `address`: /join, /leave, a command, or a chat line."""
        # BEGIN SOLUTION: decode, refuse oversize, then join / leave / ping / command / relay
        data = data.removesuffix(b"\n").removesuffix(b"\r")  # nc -u sends "\n", nc -C "\r\n"
        if len(data) > MAX_MESSAGE:
            return self.send_to(address, f"! message too long (max {MAX_MESSAGE} bytes)")
        text = printable(data.decode("utf-8", errors="replace"))  # no control characters: see printable()
        member = self.members.get(address)
        if member is None:
            if text.startswith("/join "):
                return self.join(address, text[len("/join "):].strip())
            if text in ("/ping", "/leave", ""):
                return  # a keepalive or a goodbye from someone we have forgotten already
            return self.send_to(address, "! join first: /join NICK")
        member[1] = time.monotonic()  # any datagram, keepalives included, proves it is alive
        nick = member[0]
        if text == "/leave":
            del self.members[address]
            self.send_to(address, "* bye")
            self.broadcast(f"* {nick} left")
        elif text == "/users":
            self.send_to(address, "* users: " + ", ".join(sorted(m[0] for m in self.members.values())))
        elif text == "/msg" or text.startswith("/msg "):
            self.private(address, nick, text[len("/msg "):])
        elif text.startswith("/join"):
            self.send_to(address, f"! already joined as {nick}")
        elif text.startswith("/") and text != "/ping":
            self.send_to(address, f"! unknown command: {text.split()[0]} (try /users, /msg NICK TEXT, /leave)")
        elif text and text != "/ping":
            self.broadcast(f"[{nick}] {text}", sender=address)
        # END SOLUTION

    def join(self, address, nick):
        if not NICKNAME.fullmatch(nick):
            self.send_to(address, "! invalid nickname: use 1-20 letters, digits, _ or -")
        elif any(member[0] == nick for member in self.members.values()):
            self.send_to(address, "! nickname taken")
        else:
            self.members[address] = [nick, time.monotonic()]
            self.send_to(address, f"* welcome {nick}")
            self.broadcast(f"* {nick} joined", sender=address)

    def private(self, address, nick, rest):
        target, _, text = rest.partition(" ")
        recipients = [a for a, member in self.members.items() if member[0] == target]
        if not target or not text:
            self.send_to(address, "! usage: /msg NICK TEXT")
        elif not recipients:
            self.send_to(address, f"! no such user: {target}")
        else:
            self.send_to(recipients[0], f"[{nick} -> {target}] {text}")

    def forget_silent(self):
        """Forget members not heard from for idle_timeout seconds, and tell the others."""
        # BEGIN SOLUTION: find the silent ones first, then delete and announce
        deadline = time.monotonic() - self.idle_timeout
        for address in [a for a, member in self.members.items() if member[1] < deadline]:
            nick = self.members.pop(address)[0]
            self.broadcast(f"* {nick} left")
        # END SOLUTION

    def broadcast(self, text, sender=None):
        """Send a line to every member except the one at address `sender`."""
        # BEGIN SOLUTION: send_to() each member but the sender
        for address in list(self.members):
            if address != sender:
                self.send_to(address, text)
        # END SOLUTION

    def send_to(self, address, text):
        """One line, one datagram, with a "\\n" so that nc -u prints it as a line.

        A sendto() can fail (that address is unreachable now): UDP promises nothing, and one
        member's trouble must not stop the server, so the error is dropped here.
        """
        # BEGIN SOLUTION: sendto the encoded line and its "\n"; an OSError is no reason to stop
        try:
            self.sock.sendto((text + "\n").encode("utf-8"), address)
        except OSError:  # e.g. that address can no longer be reached: UDP gives no guarantee
            pass
        # END SOLUTION

    def shutdown(self):
        """Stop serve_forever(), which notices within SWEEP_EVERY seconds (the standard library's
        socketserver polls the same way); callable from any thread."""
        self._stopping.set()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 4: UDP chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT,
                        help="seconds of silence before a member is forgotten")
    args = parser.parse_args(argv)
    server = UdpChatServer(args.host, args.port, args.idle_timeout)
    print("listening on %s:%d" % server.address, flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)  # a timeout, so Ctrl+C is noticed on Windows too
    except KeyboardInterrupt:
        print("stopping")
    server.shutdown()


if __name__ == "__main__":
    main()
