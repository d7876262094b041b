"""An echo server that works, but first writes a file outside its own folder: the sandbox refuses.

It writes to $CHATLAB_ESCAPE_FILE if set (a test's), else next to the folder it was copied into.
"""
import os
import socket
import threading
from pathlib import Path


class EchoServer:
    def __init__(self, host, port):
        escape = os.environ.get("CHATLAB_ESCAPE_FILE") or Path(__file__).resolve().parents[2] / "escaped.txt"
        Path(escape).write_text("written from outside the submission's folder\n", encoding="utf-8")
        self.sock = socket.create_server((host, port))
        self.address = self.sock.getsockname()[:2]

    def serve_forever(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    def echo(self, conn):
        with conn:
            while chunk := conn.recv(65536):
                conn.sendall(chunk)

    def shutdown(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
