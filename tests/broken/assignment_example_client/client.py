# The assignment's own example client (/work/shared/assignment.md), brought to the lab 3
# client's interface: main() reads --host, --port and --name instead of the constants.
# Its bugs are kept: no nickname line and no b"\n" after what is typed (raw input), a
# decode of each recv(1024) (a letter cut at byte 1024, or bad bytes, end the receiving
# thread through the bare except), a print per recv, an endless loop of blank lines once
# the server closes (recv() returns b"" for ever), and a traceback at the end of input
# (EOFError) instead of leaving. The listing never starts send_message(); the screencast
# shows typing, so main() runs it after starting the receiving thread.
import argparse
import socket
import threading


def receive_messages(client_socket):
    while True:
        try:
            message = client_socket.recv(1024).decode()
            print(message)
        except:
            break


def send_message(client_socket):
    while True:
        message = input()
        client_socket.send(message.encode())

        if message == 'exit':
            client_socket.close()
            break


def main(argv=None):
    parser = argparse.ArgumentParser(description="the assignment's example client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12345)
    parser.add_argument("--name", help="accepted for the lab's interface; the example has no nicknames")
    args = parser.parse_args(argv)
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.connect((args.host, args.port))
    threading.Thread(target=receive_messages, args=(client_socket,)).start()
    send_message(client_socket)


if __name__ == "__main__":
    main()
