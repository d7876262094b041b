"""The tuned lab 3 server: `chatlab bench`'s third contender, "tuned-threads".

A complete lab 3 chat server (PROTOCOL.md, "Lab 3"), built like the graded one: a reader
thread per client, a Lock around the room, and the same interface (ChatServer(host, port),
`address`, `serve_forever()`, `shutdown()`; run it with `python -m chatlab.bench.tuned_threads`).
Only the way a line reaches the other members differs. It was the lab 3 reference until the
reference became the simple design a student writes: a send lock per connection, a plain
sendall() to each member in turn and, for the bonus, an Outbox (a writer thread per client
that sends its lines one by one). This one shows how far threads go when every line counts.

Where the time goes, per line that reaches N - 1 members:

- System calls. The simple server makes one sendall() per member per line, and so does
  asyncio (its write() sends at once whenever nothing is buffered). Here lines wait in one
  queue shared by every connection, and the thread that delivers takes all that is queued
  and gives each member all of its lines in one send(): one call per member per line when
  the room is quiet, one call for dozens of lines under load. To let the queue fill, a
  reader delivers only once it has handled all it received (or FLUSH_LINES lines wait), and
  first yields the CPU to the readers woken meanwhile, so that their lines join the same
  sends. Measured against delivering each line at once: 1.07 to 1.21 times the lines/s
  (10 and 50 clients, both regimes); without the yield, no better.
- GIL hand-offs. A Python thread runs only while it holds the GIL, and handing the GIL to
  another thread costs the OS a wake-up and a switch. A writer thread woken for every line
  (this server's first design) cost 12 us of CPU per line, and half of asyncio's lines/s;
  the reference's Outbox, the same idea, costs 4 to 14 us. Sending from each speaker's own
  thread instead, under each member's send lock, did worse with 50 clients: every thread
  fought for the GIL and for the others' locks. Here the thread of whoever spoke delivers,
  and a thread that finds another delivering leaves its line in the queue and goes back to
  reading: nobody waits for a lock.
- MSG_DONTWAIT. send(data, MSG_DONTWAIT) takes what the member's socket buffer has room
  for and returns at once. So the delivering thread never waits for a slow client: only
  what did not fit goes to that client's own writer thread, which alone waits in sendall().
- The SendQ cap. A member that stops reading would make its writer's queue grow for ever:
  past MAX_QUEUED (1 MiB) waiting bytes it is dropped, as IRC servers do ("Max SendQ
  exceeded"). The asyncio peer has the same cap.

asyncio makes one send per member per line too, and runs more Python per line (transports,
protocols, stream buffers). Measured with `chatlab bench --repeat 5` (2 CPUs: the load on
one, the server on the other; 10, 50 and 200 clients, each regime; two runs), this server
delivered 1.46 to 2.67 times asyncio's lines/s, with a lower p99 and from less than half to
a seventh of its CPU per line; the reference with its Outbox delivered 0.37 to 0.93 times
asyncio's. The machine was shared with other work, so the absolute figures were noisy:
README.md, "Benchmark", has the table.
"""
import argparse
import contextlib
import os
import queue
import re
import socket
import sys
import threading

RECV_SIZE = 65536      # the most bytes one recv() may return: NOT a message size, TCP has none
MAX_LINE = 4096        # bytes in one line, "\n" excluded: without a cap one client fills our memory
MAX_QUEUED = 1 << 20   # bytes waiting for a client that stopped reading, before we drop it
NICKNAME = re.compile(r"[\w-]{1,20}")  # \w includes letters of every alphabet: Иван is fine
DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # send() flag: never wait (Linux, macOS; not Windows)
FLUSH_LINES = 32       # lines queued at which a reader delivers at once, without reading on first
yield_cpu = getattr(os, "sched_yield", lambda: None)  # let the threads that are ready run (not on Windows)


def read_lines(sock, caught_up):
    """Yield each line received on `sock` as text, until the peer closes its side.

    TCP delivers bytes, not messages: one recv() may hold half a line or three lines, and
    may even end in the middle of a multi-byte UTF-8 letter. So: collect bytes, cut them at
    b"\\n", decode each whole line (invalid bytes become U+FFFD, never an error), strip one
    trailing "\\r" (telnet and nc -C send "\\r\\n"), make it printable(). A line longer than
    MAX_LINE bytes is dropped and yields None instead, and memory stays bounded while it streams in.
    Before each recv(), once every line received so far has been handled, it calls `caught_up()`.
    """
    pending = b""        # the start of a line whose b"\n" has not arrived yet
    skipping = False     # True while the rest of an overlong line streams in
    while True:
        caught_up()
        chunk = sock.recv(RECV_SIZE)
        if not chunk:  # the peer closed its side
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if skipping or len(line) > MAX_LINE:
                skipping = False
                yield None
            else:
                yield printable(line.decode("utf-8", errors="replace").removesuffix("\r"))
        if len(pending) > MAX_LINE:
            pending, skipping = b"", True


def printable(text):
    """`text` with every control character except tab replaced by U+FFFD ("\\ufffd").

    Control characters (Unicode category Cc: "\\x00" to "\\x1f", "\\x7f" to "\\x9f") steer the
    terminal that shows them: "\\x1b[2J" clears the screen of everyone who receives it, and a
    bare "\\r" lets a line write over its own "[nick] ", so bob could pass for alice. Tab is
    only space, so it stays. PROTOCOL.md, "Rules for every lab": "Control characters".
    """
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", "\ufffd", text)  # all of Cc but \x09, tab


class Connection:
    """One client's socket, and how lines reach it without any thread waiting on a slow client.

    A client that stops reading fills its socket buffers, and then sendall() blocks. If the
    thread of whoever spoke did that sendall(), one stuck reader would freeze every speaker,
    and soon the room. So send() never blocks:

    - it puts the line in one queue shared by all connections. A reader thread delivers the
      queue once it has handled all it received, before it reads again, or as soon as
      FLUSH_LINES lines wait: the first to find nobody else delivering takes the turn, lets
      the other threads that are ready queue their lines too (yield_cpu), then sends each
      client all of its lines in one call: one line per call when the room is quiet, dozens
      when it is busy;
    - it delivers with MSG_DONTWAIT: what the client's socket cannot take at once goes to
      that client's own writer thread, which alone waits for it (Windows has no
      MSG_DONTWAIT: there the writer threads send everything);
    - a client with more than MAX_QUEUED bytes waiting for its writer is dropped (IRC
      servers say "Max SendQ exceeded").

    (The module's docstring says why, with measured figures.)
    """

    # Shared by every connection in this process: which thread delivers is all they decide.
    _pending = queue.SimpleQueue()  # ([connection, ...], bytes) waiting for delivery, oldest first
    _turn = threading.Lock()        # held by the one thread delivering _pending

    def __init__(self, sock):
        # TCP_NODELAY: by default TCP holds a small segment back until the previous one is
        # acknowledged (Nagle), and the peer may delay that ack by 40 ms: every chat line
        # would wait. Measured: 413 lines/s without it, 57,000 with it (10 clients).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self._with_writer = 0       # bytes handed to the writer thread and not sent yet
        self._closing = False
        self._count = threading.Lock()      # guards the two above
        self._outbox = queue.SimpleQueue()  # the writer thread's bytes, oldest first; None: stop
        self._writer = threading.Thread(target=self._write_queued, daemon=True)
        self._writer.start()

    def send_line(self, text):
        """Queue one line for this client; returns at once, whatever the client is doing."""
        self.send((text + "\n").encode("utf-8"))

    def send(self, data):
        Connection.send_to([self], data)

    @staticmethod
    def send_to(connections, data):
        """Queue `data` for each of `connections`; delivered at once only if FLUSH_LINES lines wait.

        Otherwise the thread that queued it delivers once it has caught up (see read_lines),
        together with what other threads queued meanwhile.
        """
        Connection._pending.put((connections, data))
        if Connection._pending.qsize() >= FLUSH_LINES:  # under load: deliver while still reading
            Connection.deliver_pending()

    @staticmethod
    def deliver_pending(wait=False):
        """Deliver every queued line, unless another thread is doing it (then it will)."""
        while not Connection._pending.empty():
            if not Connection._turn.acquire(blocking=wait):
                return  # whoever has the turn looks at the queue again after giving it back
            try:
                yield_cpu()  # readers woken by a line queue it now, and it goes in these sends
                batches = {}  # connection -> its lines, in order
                while not Connection._pending.empty():
                    connections, data = Connection._pending.get()
                    for conn in connections:
                        batches.setdefault(conn, []).append(data)
                for conn, parts in batches.items():
                    conn._push(parts[0] if len(parts) == 1 else b"".join(parts))
            finally:
                Connection._turn.release()

    def _push(self, data):
        """Send what the socket takes now; hand the rest to the writer thread."""
        with self._count:
            if self._closing:
                return
            if DONTWAIT and not self._with_writer:  # else the writer has older bytes: after them
                try:
                    data = data[self.sock.send(data, DONTWAIT):]
                except BlockingIOError:
                    pass
                except OSError:  # the client is gone: its reader thread will notice
                    return
            if not data:
                return
            if self._with_writer + len(data) > MAX_QUEUED:  # it has not read for a long while
                self._closing = True
                self.disconnect()
                self._outbox.put(None)
                return
            self._with_writer += len(data)
            self._outbox.put(data)

    def _write_queued(self):
        """The writer thread: wait for bytes, take whatever else is queued too, send it all."""
        stopping = False
        while not stopping:
            parts = [self._outbox.get()]
            while not self._outbox.empty():  # many lines in one system call
                parts.append(self._outbox.get())
            stopping = None in parts
            chunk = b"".join(part for part in parts if part is not None)
            try:
                self.sock.sendall(chunk)
            except OSError:  # the client is gone: its reader thread will notice too
                return
            finally:
                with self._count:
                    self._with_writer -= len(chunk)

    def disconnect(self):
        """Cut the connection now: wakes this client's reader (recv returns) and writer."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self, linger=1.0):
        """Send what is queued (waiting at most `linger` seconds), then close the socket."""
        Connection.deliver_pending(wait=True)  # our last lines may still be in the shared queue
        with self._count:
            self._closing = True
        self._outbox.put(None)
        self._writer.join(linger)
        self.disconnect()  # in case the writer is still stuck on a client that does not read
        self._writer.join(linger)
        self.sock.close()


class Room:
    """Who is in the chat: nickname -> Connection. Shared by every client thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._members = {}

    def join(self, nick, conn):
        """Add a member; False if the nickname is taken. Check and add as one step."""
        with self._lock:
            if nick in self._members:
                return False
            self._members[nick] = conn
            return True

    def leave(self, nick):
        """Remove a member (no error if it is already gone)."""
        with self._lock:
            self._members.pop(nick, None)

    def broadcast(self, text, sender=None):
        """Send a line to every member except `sender`.

        Copy the members under the lock, then send outside it: a send must never hold the
        lock, and nobody may change the dict while we loop over it.
        """
        with self._lock:
            recipients = [conn for nick, conn in self._members.items() if nick != sender]
        Connection.send_to(recipients, (text + "\n").encode("utf-8"))  # never waits for anyone

    def find(self, nick):
        with self._lock:
            return self._members.get(nick)

    def nicks(self):
        with self._lock:
            return sorted(self._members)


class ChatServer:
    """Listens on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.create_server((host, port))  # SO_REUSEADDR on POSIX: restart at once
        self.address = self.listener.getsockname()[:2]
        self.room = Room()
        self._stopping = threading.Event()

    def serve_forever(self):
        """Accept clients until shutdown(), each handled by a thread of its own."""
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError as error:
                if self._stopping.is_set():  # shutdown() closed the listener
                    break
                # Out of file descriptors (EMFILE) or a client gone before we took it: report,
                # give the others a moment to free something, and keep serving.
                print(f"accept failed: {error}", file=sys.stderr)
                self._stopping.wait(0.1)
                continue
            threading.Thread(target=self.handle_client, args=(sock,), daemon=True).start()

    def handle_client(self, sock):
        """One client's reader thread: its nickname, then its lines, until it leaves."""
        conn = Connection(sock)
        nick = None
        try:
            lines = read_lines(sock, caught_up=Connection.deliver_pending)  # deliver, then read on
            nick = self.choose_nickname(conn, lines)
            if nick is None:
                return
            conn.send_line(f"* welcome {nick}")
            self.room.broadcast(f"* {nick} joined", sender=nick)
            for line in lines:
                if not self.serve_line(conn, nick, line):
                    break
        except OSError:  # reset, or cut by disconnect(): a vanished client is a normal event
            pass
        finally:
            if nick is not None:
                self.room.leave(nick)
                self.room.broadcast(f"* {nick} left")
            conn.close()

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
            conn.send_line("* users: " + ", ".join(self.room.nicks()))
        elif line == "/msg" or line.startswith("/msg "):
            target, _, text = line[len("/msg "):].partition(" ")
            recipient = self.room.find(target)
            if not target or not text:
                conn.send_line("! usage: /msg NICK TEXT")
            elif recipient is None:
                conn.send_line(f"! no such user: {target}")
            else:
                recipient.send_line(f"[{nick} -> {target}] {text}")
        elif line.startswith("/"):
            conn.send_line(f"! unknown command: {line.split()[0]} (try /users, /msg NICK TEXT, /quit)")
        elif line:
            self.room.broadcast(f"[{nick}] {line}", sender=nick)  # the server names the author
        return True

    def shutdown(self):
        """Stop serve_forever() and disconnect every member; callable from any thread."""
        self._stopping.set()
        stop_listening(self.listener)
        for nick in self.room.nicks():
            conn = self.room.find(nick)
            if conn is not None:
                conn.disconnect()


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
    parser = argparse.ArgumentParser(description="tuned-threads: the lab 3 chat server tuned for speed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    server = ChatServer(args.host, args.port)
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
