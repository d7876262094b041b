"""Lab 2: a two-user chat relay, one thread per client.

Two people connect and name themselves; each line one sends, the other receives.
A third connection is told the chat is full; when one leaves, the other is told.
Run it:   python server.py --port 5050      then, in two more terminals:   nc 127.0.0.1 5050
Protocol: PROTOCOL.md, section "Lab 2".
"""
import argparse
import contextlib
import re
import socket
import threading

RECV_SIZE = 65536      # the most bytes one recv() may return: NOT a message size, TCP has none
MAX_LINE = 4096        # bytes in one line, "\n" excluded: without a cap one client fills our memory
SEATS = 2
NICKNAME = re.compile(r"[\w-]{1,20}")  # \w includes letters of every alphabet: Иван is fine


def read_lines(sock):
    """Yield each line received on `sock` as text, until the peer closes its side.

    TCP delivers bytes, not messages: one recv() may hold half a line or three lines, and
    may even end in the middle of a multi-byte UTF-8 letter. So: collect bytes, cut them at
    b"\\n", decode each whole line (invalid bytes become U+FFFD, never an error), strip one
    trailing "\\r" (telnet and nc -C send "\\r\\n"), make it printable(). A line longer than
    MAX_LINE bytes is dropped and yields None instead, and memory stays bounded while it streams in.
    """
    # BEGIN SOLUTION: buffer bytes, split on b"\n", keep the unfinished rest, decode whole lines
    pending = b""        # the start of a line whose b"\n" has not arrived yet
    skipping = False     # True while the rest of an overlong line streams in
    while chunk := sock.recv(RECV_SIZE):  # b"" means the peer closed its side
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if skipping or len(line) > MAX_LINE:
                skipping = False
                yield None
            else:
                yield printable(line.decode("utf-8", errors="replace").removesuffix("\r"))
        if len(pending) > MAX_LINE:
            pending, skipping = b"", True
    # END SOLUTION


def printable(text):
    """`text` with every control character except tab replaced by U+FFFD ("\\ufffd").

    Control characters (Unicode category Cc: "\\x00" to "\\x1f", "\\x7f" to "\\x9f") steer the
    terminal that shows them: "\\x1b[2J" clears the screen of everyone who receives it, and a
    bare "\\r" lets a line write over its own "[nick] ", so bob could pass for alice. Tab is
    only space, so it stays. PROTOCOL.md, "Rules for every lab": "Control characters".
    """
    # BEGIN SOLUTION: replace each control character but tab with "\ufffd", in one pass
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", "\ufffd", text)  # all of Cc but \x09, tab
    # END SOLUTION


class User:
    """One connected client. Two threads may send to it: its own, and the other user's."""

    def __init__(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms wait per line
        self.sock = sock
        self.nick = None  # set once it has chosen a free nickname
        # BEGIN SOLUTION: create the lock that send_line() holds while it sends
        self._send_lock = threading.Lock()
        # END SOLUTION

    def send_line(self, text):
        """Send `text` and "\\n", whole; OSError if the client is gone.

        sendall() may take several send() calls, and the other thread's line could land between
        two of them, inside ours. Holding this user's send lock makes each line one step.
        """
        # BEGIN SOLUTION: encode the line and its "\n", sendall it holding this user's send lock
        with self._send_lock:
            self.sock.sendall((text + "\n").encode("utf-8"))
        # END SOLUTION


class TwoUserChatServer:
    """Listens on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.create_server((host, port))  # SO_REUSEADDR on POSIX: restart at once
        self.address = self.listener.getsockname()[:2]
        self._lock = threading.Lock()  # guards _users: every client thread reads and changes it
        self._users = []
        self._stopping = threading.Event()

    def serve_forever(self):
        """Accept clients until shutdown(), each handled by a thread of its own."""
        # BEGIN SOLUTION: accept in a loop; a daemon thread per client runs handle_client()
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:  # the listener was closed by shutdown()
                break
            threading.Thread(target=self.handle_client, args=(sock,), daemon=True).start()
        # END SOLUTION

    def take_seat(self, user):
        """Add `user` if fewer than SEATS are connected; False when the chat is full."""
        # BEGIN SOLUTION: count and add under the lock, as one step
        with self._lock:
            if len(self._users) >= SEATS:
                return False
            self._users.append(user)
            return True
        # END SOLUTION

    def claim_nickname(self, user, nick):
        """Give `user` the nickname unless the other user has it; False if taken."""
        with self._lock:
            if any(other.nick == nick for other in self._users):
                return False
            user.nick = nick
            return True

    def tell_other(self, user, text):
        """Send a line to the other user, if someone with a nickname is there; False if not.

        Find the others under the lock, send outside it (sendall() may wait for a client that
        does not read), and let a send to one that vanished fail quietly: its own thread cleans up.
        """
        # BEGIN SOLUTION: find the others under the lock, then send to each outside it, a try each
        with self._lock:
            others = [other for other in self._users if other is not user and other.nick]
        for other in others:
            with contextlib.suppress(OSError):  # it vanished; its own thread cleans up
                other.send_line(text)
        return bool(others)
        # END SOLUTION

    def handle_client(self, sock):
        """One client's thread: a seat, a nickname, then relay its lines until it leaves."""
        # BEGIN SOLUTION: take a seat or refuse, choose a nickname, relay, always clean up
        user = User(sock)
        if not self.take_seat(user):
            with sock, contextlib.suppress(OSError):
                user.send_line(f"! chat is full ({SEATS} users)")
                close_after_reading(sock)
            return
        try:
            lines = read_lines(sock)
            for line in lines:
                if user.nick is None:
                    self.choose_nickname(user, line)
                elif line is None:
                    user.send_line(f"! line too long (max {MAX_LINE} bytes)")
                elif line == "/quit":
                    user.send_line("* bye")
                    break
                elif line and not self.tell_other(user, f"[{user.nick}] {line}"):
                    user.send_line("! nobody else is here yet")
        except OSError:  # reset, or cut by shutdown(): a vanished client is a normal event
            pass
        finally:
            with self._lock:
                self._users.remove(user)
            if user.nick is not None:
                self.tell_other(user, f"* {user.nick} left")
            sock.close()
        # END SOLUTION

    def choose_nickname(self, user, line):
        """Treat `line` as the nickname `user` asks for: welcome it, or say what is wrong."""
        nick = line.strip() if line is not None else None
        if nick is None:
            user.send_line(f"! line too long (max {MAX_LINE} bytes)")
        elif not NICKNAME.fullmatch(nick):
            user.send_line("! invalid nickname: use 1-20 letters, digits, _ or -")
        elif not self.claim_nickname(user, nick):
            user.send_line("! nickname taken")
        else:
            user.send_line(f"* welcome {nick}")
            self.tell_other(user, f"* {nick} joined")

    def shutdown(self):
        """Stop serve_forever() and disconnect both users; callable from any thread."""
        self._stopping.set()
        stop_listening(self.listener)
        with self._lock:
            users = list(self._users)
        for user in users:
            with contextlib.suppress(OSError):
                user.sock.shutdown(socket.SHUT_RDWR)  # wakes its thread's recv()


def close_after_reading(sock, patience=1.0):
    """Say "no more from me" (FIN), then read what the client sent until it closes too.

    Closing a socket that still has unread data makes TCP send RST instead of FIN, and an
    RST can destroy the last line we sent before the client reads it.
    """
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(patience)  # a client that never closes does not keep this thread for long
    while sock.recv(RECV_SIZE):
        pass


def stop_listening(listener):
    """Close a listener and wake the thread blocked in its accept(), on any OS."""
    try:
        listener.shutdown(socket.SHUT_RDWR)  # Linux: the blocked accept() raises at once
    except OSError:  # macOS and Windows refuse shutdown() on a listener: wake accept() with a connection
        host, port = listener.getsockname()[:2]
        with contextlib.suppress(OSError):
            socket.create_connection((host if host not in ("0.0.0.0", "::") else "localhost", port), 1).close()
    listener.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 2: two-user chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    server = TwoUserChatServer(args.host, args.port)
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
