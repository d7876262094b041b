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
    # TODO: replace each control character but tab with "\ufffd", in one pass
    raise NotImplementedError("not implemented yet: printable")


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
        # TODO: wait (bounded) for a datagram, recvfrom, handle it; sweep now and then
        raise NotImplementedError("not implemented yet: UdpChatServer.serve_forever")

    def handle_datagram(self, data, address):
        """Act on one datagram from `address`: /join, /leave, a command, or a chat line."""
        # TODO: decode, refuse oversize, then join / leave / ping / command / relay
        raise NotImplementedError("not implemented yet: UdpChatServer.handle_datagram")

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
        # TODO: find the silent ones first, then delete and announce
        raise NotImplementedError("not implemented yet: UdpChatServer.forget_silent")

    def broadcast(self, text, sender=None):
        """Send a line to every member except the one at address `sender`."""
        # TODO: send_to() each member but the sender
        raise NotImplementedError("not implemented yet: UdpChatServer.broadcast")

    def send_to(self, address, text):
        """One line, one datagram, with a "\\n" so that nc -u prints it as a line.

        A sendto() can fail (that address is unreachable now): UDP promises nothing, and one
        member's trouble must not stop the server, so the error is dropped here.
        """
        # TODO: sendto the encoded line and its "\n"; an OSError is no reason to stop
        raise NotImplementedError("not implemented yet: UdpChatServer.send_to")

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
