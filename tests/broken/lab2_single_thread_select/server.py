"""A two-user chat that follows the protocol but serves every client from ONE thread.

It waits on all sockets at once with `selectors` instead of giving each client a thread
of its own. That is a fine design in general, but the assignment requires threads
("the server runs the client connections ... in threads"), so the grader must notice.
"""
import re
import selectors
import socket
import threading

MAX_LINE = 4096
SEATS = 2
NICKNAME = re.compile(r"[\w-]{1,20}")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # control characters but tab


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.skipping = False
        self.nick = None

    def send_line(self, text):
        try:
            self.sock.sendall((text + "\n").encode("utf-8"))
        except OSError:
            pass  # it vanished: the select loop notices


class TwoUserChatServer:
    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.create_server((host, port))
        self.address = self.listener.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.clients = {}  # socket -> Client
        self._stopping = threading.Event()

    def serve_forever(self):
        while not self._stopping.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                if key.fileobj is self.listener:
                    self.accept()
                elif key.fileobj in self.clients:
                    self.receive(self.clients[key.fileobj])
        for client in list(self.clients.values()):
            client.sock.close()
        self.listener.close()

    def accept(self):
        sock, _ = self.listener.accept()
        if len(self.clients) >= SEATS:
            with sock:
                Client(sock).send_line(f"! chat is full ({SEATS} users)")
                sock.shutdown(socket.SHUT_WR)
            return
        self.clients[sock] = Client(sock)
        self.selector.register(sock, selectors.EVENT_READ)

    def receive(self, client):
        try:
            data = client.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.leave(client)
            return
        *lines, client.pending = (client.pending + data).split(b"\n")
        for line in lines:
            if client.skipping or len(line) > MAX_LINE:
                client.skipping = False
                text = None
            else:
                text = CONTROL.sub("\ufffd", line.decode("utf-8", errors="replace").removesuffix("\r"))
            if not self.handle(client, text):
                return
        if len(client.pending) > MAX_LINE:
            client.pending, client.skipping = b"", True

    def other(self, client):
        return next((c for c in self.clients.values() if c is not client and c.nick), None)

    def handle(self, client, text):
        """Act on one line; False once the client is gone."""
        if text is None:
            client.send_line(f"! line too long (max {MAX_LINE} bytes)")
        elif client.nick is None:
            nick = text.strip()
            if not NICKNAME.fullmatch(nick):
                client.send_line("! invalid nickname: use 1-20 letters, digits, _ or -")
            elif any(c.nick == nick for c in self.clients.values()):
                client.send_line("! nickname taken")
            else:
                client.nick = nick
                client.send_line(f"* welcome {nick}")
                if self.other(client):
                    self.other(client).send_line(f"* {nick} joined")
        elif text == "/quit":
            client.send_line("* bye")
            self.leave(client)
            return False
        elif text:
            other = self.other(client)
            if other:
                other.send_line(f"[{client.nick}] {text}")
            else:
                client.send_line("! nobody else is here yet")
        return True

    def leave(self, client):
        self.selector.unregister(client.sock)
        del self.clients[client.sock]
        client.sock.close()
        other = self.other(client)
        if client.nick and other:
            other.send_line(f"* {client.nick} left")

    def shutdown(self):
        self._stopping.set()
