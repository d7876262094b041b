"""Lab 1: a TCP echo server, one thread per client.

Every byte a client sends comes straight back, until the client closes its side.
Run it:   python server.py --port 5050      then try:   nc 127.0.0.1 5050
Protocol: PROTOCOL.md, section "Lab 1".
"""
import argparse
import contextlib
import socket
import threading

RECV_SIZE = 65536  # the most bytes one recv() may return: NOT a message size, TCP has no messages


def echo(conn):
    """Send back every byte received on `conn` until the peer closes its side, then return.

    Done means: bytes come back in order and complete, however recv() splits them, and a
    client that half-closes (shutdown(SHUT_WR)) still gets all of its data back.
    """
    while chunk := conn.recv(RECV_SIZE):  # b"" means the peer closed its side: done
        conn.sendall(chunk)  # send() may send only part of the chunk; sendall() sends it all


class EchoServer:
    """Listens on (host, port); port 0 asks the OS for a free port, see `address`."""

    def __init__(self, host="127.0.0.1", port=0):
        # create_server() binds and listens, with SO_REUSEADDR on POSIX so a restart can
        # reuse the port at once (Windows allows that without it).
        self.listener = socket.create_server((host, port))
        self.address = self.listener.getsockname()[:2]
        self._stopping = threading.Event()

    def serve_forever(self):
        """Accept clients until shutdown(), each served by echo() in a thread of its own."""
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:  # the listener was closed by shutdown()
                break
            threading.Thread(target=self.handle, args=(conn,), daemon=False).start()  # BROKEN: not a daemon

    def handle(self, conn):
        """One client's thread: echo, and close the connection however echo() ends."""
        with conn:
            try:
                echo(conn)
            except ConnectionError:  # the client vanished (reset): nothing to clean up but conn
                pass

    def shutdown(self):
        """Stop serve_forever(); callable from any thread. Open connections end with their clients."""
        self._stopping.set()
        stop_listening(self.listener)


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
    parser = argparse.ArgumentParser(description="Lab 1: TCP echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    server = EchoServer(args.host, args.port)
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
