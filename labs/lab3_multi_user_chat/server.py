"""Lab 3: a multi-user chat server, one thread per client (PROTOCOL.md, section "Lab 3").

Run it: python server.py --port 5050, then in more terminals: nc 127.0.0.1 5050
One thread accepts; each client's thread reads its lines and sends what they cause, to its
client or to the others. Threads share the members (guarded by the room's lock) and each
client's socket (guarded by that connection's send lock).
"""
import argparse
import contextlib
import queue
import re
import socket
import sys
import threading

RECV_SIZE = 65536      # the most bytes one recv() may return: NOT a message size, TCP has none
MAX_LINE = 4096        # bytes in one line, "\n" excluded: without a cap one client fills our memory
MAX_QUEUED = 1 << 20   # bonus (Outbox): bytes waiting for a client that stopped reading, before we drop it
NICKNAME = re.compile(r"[\w-]{1,20}")  # \w includes letters of every alphabet: Иван is fine


def read_lines(sock):
    """Yield each line received on `sock` as printable() text, None for one over MAX_LINE bytes.

    TCP delivers bytes, not messages: one recv() may hold half a line or three, or end inside
    a UTF-8 letter. So collect bytes, cut at b"\\n", decode whole lines (errors="replace"),
    strip one trailing "\\r" (telnet, nc -C). Ends when the peer closes its side.
    """
    # TODO: buffer bytes, split on b"\n", keep the unfinished rest, decode whole lines
    raise NotImplementedError("not implemented yet: read_lines")


def printable(text):
    """`text` with each control character but tab made U+FFFD ("\\x1b[2J" clears screens)."""
    # TODO: replace each control character but tab with "\ufffd", in one pass
    raise NotImplementedError("not implemented yet: printable")


class Connection:
    """One client's socket. Many threads send to it: its own, and that of every member who speaks."""

    def __init__(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms wait per line
        self.sock = sock
        # TODO: create the lock that send_line() holds while it sends
        raise NotImplementedError("not implemented yet: Connection.__init__")

    def send_line(self, text):
        """Send `text` and "\\n", whole; OSError if the client is gone.

        sendall() may take several send() calls: without the lock, another thread's line could land inside ours.
        """
        # TODO: encode the line and its "\n", sendall it holding this connection's send lock
        raise NotImplementedError("not implemented yet: Connection.send_line")

    def disconnect(self):
        """Cut the connection now: a thread blocked in recv() or sendall() on it returns."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.disconnect()
        self.sock.close()


class Outbox(Connection):
    """Bonus: a Connection whose lines queue up for a writer thread of its own.

    Once a client stops reading, every thread that sends to a Connection waits; to an Outbox, only
    its writer does. Past MAX_QUEUED bytes the client is cut off (IRC: "Max SendQ exceeded").
    Use Outbox(sock) instead of Connection(sock) in handle_client; no required test needs it.
    """

    def __init__(self, sock):
        super().__init__(sock)
        self._lines = queue.SimpleQueue()  # text for the writer, oldest first; None: stop
        self._queued = 0                   # bytes in _lines, guarded by _lock
        self._lock = threading.Lock()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def send_line(self, text):
        """Queue a line for the writer; past MAX_QUEUED bytes waiting, cut the client off instead."""
        # TODO: count the line's bytes under the lock; past the cap disconnect, else queue it
        raise NotImplementedError("not implemented yet: Outbox.send_line")

    def _write(self):
        """The writer thread: send each queued line with Connection's send_line, until None or an OSError."""
        # TODO: get a line, send it, count it off; stop at None or at an OSError
        raise NotImplementedError("not implemented yet: Outbox._write")

    def close(self):
        """Let the writer send what is queued (a second at most), then close."""
        self._lines.put(None)
        self._writer.join(1.0)
        super().close()


class Room:
    """Who is in the chat: nickname -> connection. Shared by every client thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._members = {}

    def join(self, nick, conn):
        """Add a member; False if the nickname is taken. Check and add as one step."""
        # TODO: check and insert under the lock, or two clients can take one name
        raise NotImplementedError("not implemented yet: Room.join")

    def leave(self, nick):
        """Remove a member (no error if it is already gone)."""
        # TODO: remove under the lock
        raise NotImplementedError("not implemented yet: Room.leave")

    def broadcast(self, text, sender=None):
        """Send a line to every member but `sender`.

        Copy the members under the lock and send outside it (a send may wait), a try each (one
        vanished client must not cost the others the line).
        """
        # TODO: snapshot the members under the lock, then send to each outside it, a try each
        raise NotImplementedError("not implemented yet: Room.broadcast")

    def members(self):
        """A copy of nickname -> connection, taken under the lock."""
        with self._lock:
            return dict(self._members)


class ChatServer:
    """Listens on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.create_server((host, port))  # SO_REUSEADDR on POSIX: restart at once
        self.address = self.listener.getsockname()[:2]
        self.room = Room()
        self._stopping = threading.Event()

    def serve_forever(self):
        """Accept clients until shutdown(), each handled by a thread of its own."""
        # TODO: accept in a loop, start a daemon thread per client, survive accept errors
        raise NotImplementedError("not implemented yet: ChatServer.serve_forever")

    def handle_client(self, sock):
        """One client's thread: its nickname, then its lines, until it leaves; always close.

        A client that vanishes makes recv() or a send raise OSError: a normal event, not an error.
        """
        # TODO: nickname, join notice, serve lines, and always leave and close
        raise NotImplementedError("not implemented yet: ChatServer.handle_client")

    def choose_nickname(self, conn, lines):
        """Read lines until one is a free, valid nickname and join with it; None if the client left."""
        for line in lines:
            nick = line.strip() if line is not None else None
            if nick is None:
                conn.send_line(f"! line too long (max {MAX_LINE} bytes)")
            elif not NICKNAME.fullmatch(nick):
                conn.send_line("! invalid nickname: use 1-20 letters, digits, _ or -")
            elif not self.room.join(nick, conn):
                conn.send_line("! nickname taken")
            else:
                return nick
        return None

    def serve_line(self, conn, nick, line):
        """Act on one line from `nick`; False when the client asked to quit."""
        if line is None:
            conn.send_line(f"! line too long (max {MAX_LINE} bytes)")
        elif line == "/quit":
            conn.send_line("* bye")
            return False
        elif line == "/users":
            conn.send_line("* users: " + ", ".join(sorted(self.room.members())))
        elif line == "/msg" or line.startswith("/msg "):
            target, _, text = line[len("/msg "):].partition(" ")
            recipient = self.room.members().get(target)
            if not target or not text:
                conn.send_line("! usage: /msg NICK TEXT")
            elif recipient is None:
                conn.send_line(f"! no such user: {target}")
            else:
                with contextlib.suppress(OSError):  # the recipient vanished: not the sender's error
                    recipient.send_line(f"[{nick} -> {target}] {text}")
        elif line.startswith("/"):
            conn.send_line(f"! unknown command: {line.split()[0]} (try /users, /msg NICK TEXT, /quit)")
        elif line:
            self.room.broadcast(f"[{nick}] {line}", sender=nick)  # the server names the author
        return True

    def shutdown(self):
        """Stop serve_forever() and disconnect every member; callable from any thread."""
        self._stopping.set()
        host = "localhost" if self.address[0] in ("0.0.0.0", "::") else self.address[0]
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept(), on every OS
            socket.create_connection((host, self.address[1]), 1).close()
        self.listener.close()
        for conn in self.room.members().values():
            conn.disconnect()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 3: multi-user chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    server = ChatServer(args.host, args.port)
    print("listening on %s:%d" % server.address, flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)  # a timeout, so Ctrl+C is noticed on Windows too
    except KeyboardInterrupt:
        print("stopping")
    server.shutdown()


if __name__ == "__main__":
    main()
