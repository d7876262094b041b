"""Lab 1: an echo client. Sends each line you type and prints what comes back.

Run it:   python client.py --port 5050      (Ctrl+D, or Ctrl+Z then Enter on Windows, ends)
Protocol: PROTOCOL.md, section "Lab 1".
"""
import argparse
import socket

RECV_SIZE = 65536  # the most bytes one recv() may return: NOT a message size


def echo_line(sock, line):
    """Send `line` plus "\\n" and return the text that came back, without its "\\n".

    The echo may arrive in several pieces: keep receiving until the "\\n" is back.
    Raise ConnectionError if the server closes first.
    """
    # TODO: sendall the line, then recv until the echoed "\n" has arrived
    raise NotImplementedError("not implemented yet: echo_line")


def run_client(host, port, read_line=input, show=print):
    """Echo each line that read_line() returns until it raises EOFError, then close politely."""
    with socket.create_connection((host, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # send each line at once
        while True:
            try:
                line = read_line()
            except EOFError:
                break
            show(echo_line(sock, line))
        sock.shutdown(socket.SHUT_WR)  # "no more from me": the server's recv() returns b""


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 1: echo client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    try:
        run_client(args.host, args.port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
