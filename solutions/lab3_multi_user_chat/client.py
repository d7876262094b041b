"""Lab 3: a chat client. What you type goes to the room; what the room says is printed.

Run it:   python client.py --port 5050 --name alice      (/quit, or Ctrl+D, leaves)
Protocol: PROTOCOL.md, section "Lab 3".

Two things happen at once: you type, and lines arrive whenever others speak. input()
blocks, so lines are received by a thread of their own.
"""
import argparse
import os
import socket
import threading

RECV_SIZE = 65536  # the most bytes one recv() may return: NOT a message size


def receive_lines(sock, show):
    """Call show(text) for each line the server sends, until it closes the connection.

    The receiving thread's body. Frame lines exactly as the server does: collect bytes,
    cut at b"\\n", decode whole lines only (errors="replace": a bad byte never stops us).
    Return when recv() returns b"" or the connection breaks.
    """
    # BEGIN SOLUTION: recv in a loop, split on b"\n", keep the rest, decode whole lines
    pending = b""
    try:
        while chunk := sock.recv(RECV_SIZE):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                show(line.decode("utf-8", errors="replace").removesuffix("\r"))
    except OSError:  # reset, or our own shutdown() after /quit
        pass
    # END SOLUTION


def run_client(host, port, name, read_line=input, show=print):
    """Join as `name`, print what arrives, send what read_line() returns until /quit or EOF."""
    with socket.create_connection((host, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # send each line at once
        # BEGIN SOLUTION: start the receiving thread, send the nickname, then the typed lines
        receiver = threading.Thread(target=receive_lines, args=(sock, show), daemon=True)
        receiver.start()
        sock.sendall(name.encode("utf-8") + b"\n")
        typist = threading.Thread(target=send_typed_lines, args=(sock, read_line), daemon=True)
        typist.start()
        while receiver.is_alive():  # until the server closes: after /quit, or when it stops
            receiver.join(0.5)      # a timeout, so Ctrl+C is noticed on Windows too
        # END SOLUTION


def send_typed_lines(sock, read_line):
    """Send each typed line; at the end of input (EOFError), leave with /quit.

    The typing thread's body. sendall(), not send(): send() may send only part of a line.
    """
    # BEGIN SOLUTION: read_line() in a loop, sendall each line and its "\n", stop after /quit
    try:
        while True:
            try:
                line = read_line()
            except EOFError:
                line = "/quit"
            sock.sendall(line.encode("utf-8") + b"\n")
            if line == "/quit":
                return
    except OSError:  # the server is gone; the receiving thread reports it
        pass
    # END SOLUTION


def main(argv=None):
    parser = argparse.ArgumentParser(description="Lab 3: chat client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--name", required=True, help="your nickname")
    args = parser.parse_args(argv)
    try:
        run_client(args.host, args.port, args.name)
    except KeyboardInterrupt:
        pass
    print("* disconnected", flush=True)
    # The typing thread may still be blocked in input(), holding stdin's lock; a normal exit
    # would wait for that lock and abort. Nothing is left to clean up: leave at once.
    os._exit(0)


if __name__ == "__main__":
    main()
