"""The course assignment's own example server (see the assignment), brought to the lab 3 interface.

Only the frame changed: the module-level listener, list and threads became a ChatServer
class (ChatServer(host, port), .address, .serve_forever(), .shutdown()) so that the grader
can start it on a free port. The logic is the example's, bugs intact: recv(1024).decode()
(one recv() taken for one message; a letter cut at a recv() boundary raises), a bare
`except: continue`, a list shared by every thread without a lock, send() instead of
sendall(), non-daemon threads, no nicknames and no protocol: it relays raw bytes.
"""
import socket
import threading


class ChatServer:
    def __init__(self, host="127.0.0.1", port=0):
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.bind((host, port))
        self.server_socket.listen(5)
        self.address = self.server_socket.getsockname()
        self.connected_clients = []

    def handle_client(self, client_socket):
        while True:
            try:
                message = client_socket.recv(1024).decode()
                print(message)
                if not message:
                    self.connected_clients.remove(client_socket)
                    client_socket.close()
                    break

                for client in self.connected_clients:
                    if client != client_socket:
                        client.send(message.encode())

            except:  # noqa: E722  (the example's own)
                continue

    def accept_clients(self):
        while True:
            client_socket, client_address = self.server_socket.accept()

            self.connected_clients.append(client_socket)

            threading.Thread(target=self.handle_client, args=(client_socket,)).start()

    def serve_forever(self):
        self.accept_clients()

    def shutdown(self):
        self.server_socket.close()
