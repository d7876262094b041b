"""A first UDP chat as a student writes it after the course's TCP example (kept buggy on purpose).

It speaks the protocol, but: recvfrom(1024) cuts long datagrams, a strict decode() inside a
bare `except: continue` silently drops anything that is not valid UTF-8 (a cut Cyrillic
letter included), nothing refuses messages over 4096 bytes, and members are never forgotten.
"""
import socket
import threading


class UdpChatServer:
    def __init__(self, host="127.0.0.1", port=0, idle_timeout=30.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()[:2]
        self.clients = {}  # address -> nick

    def serve_forever(self):
        while True:
            try:
                data, address = self.sock.recvfrom(1024)
                message = data.decode().strip()
                if not message:
                    continue
                if address not in self.clients:
                    if message.startswith("/join "):
                        self.join(address, message[6:].strip())
                    else:
                        self.send(address, "! join first: /join NICK")
                    continue
                nick = self.clients[address]
                if message == "/leave":
                    del self.clients[address]
                    self.send(address, "* bye")
                    self.send_all(f"* {nick} left", None)
                elif message == "/users":
                    self.send(address, "* users: " + ", ".join(sorted(self.clients.values())))
                elif message.startswith("/msg"):
                    parts = message.split(" ", 2)
                    if len(parts) < 3 or not parts[2]:
                        self.send(address, "! usage: /msg NICK TEXT")
                        continue
                    for other, name in self.clients.items():
                        if name == parts[1]:
                            self.send(other, f"[{nick} -> {name}] {parts[2]}")
                            break
                    else:
                        self.send(address, f"! no such user: {parts[1]}")
                elif message.startswith("/join"):
                    self.send(address, f"! already joined as {nick}")
                elif message == "/ping":
                    pass
                else:
                    self.send_all(f"[{nick}] {message}", address)
            except:
                continue

    def join(self, address, nick):
        if not nick or len(nick) > 20 or not all(c.isalnum() or c in "_-" for c in nick):
            self.send(address, "! invalid nickname: use 1-20 letters, digits, _ or -")
        elif nick in self.clients.values():
            self.send(address, "! nickname taken")
        else:
            self.clients[address] = nick
            self.send(address, f"* welcome {nick}")
            self.send_all(f"* {nick} joined", address)

    def send(self, address, text):
        self.sock.sendto((text + "\n").encode(), address)

    def send_all(self, text, sender):
        for address in list(self.clients):
            if address != sender:
                self.send(address, text)

    def shutdown(self):
        self.sock.close()


def main():
    server = UdpChatServer("127.0.0.1", 5050)
    print("listening on %s:%d" % server.address)
    threading.Thread(target=server.serve_forever).start()


if __name__ == "__main__":
    main()
