"""The bench's yardsticks: labs 3 and 4 as an experienced engineer might write them with asyncio.

One thread, one event loop, a coroutine per client, asyncio streams. It speaks the subset of
PROTOCOL.md "Lab 3" the bench uses: the nickname as the first line, "* welcome NICK",
"* NICK joined" / "* NICK left" to the others, "[NICK] text" to everyone else, and
"/msg NICK TEXT". Writes go into each stream's buffer (`write`, never awaited per line); a
client whose buffer passes MAX_BUFFERED is dropped, like the reference's 1 MiB queue.
"""
from __future__ import annotations

import asyncio
import socket

MAX_LINE = 4096
MAX_BUFFERED = 1 << 20


class AsyncioChatPeer:
    def __init__(self, host="127.0.0.1", port=0):
        self.host, self.port = host, port
        self.members: dict[str, asyncio.StreamWriter] = {}

    async def serve(self, ready) -> None:
        """Serve until cancelled; `ready(address)` is called once listening."""
        server = await asyncio.start_server(self.handle, self.host, self.port, limit=MAX_LINE + 2)
        ready(server.sockets[0].getsockname()[:2])
        async with server:
            await server.serve_forever()

    def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if writer.transport.get_write_buffer_size() > MAX_BUFFERED:
            writer.transport.abort()  # it stopped reading: drop it rather than hold its lines forever
            return
        writer.write(data)

    def broadcast(self, text: str, sender: str | None = None) -> None:
        data = (text + "\n").encode("utf-8")
        for nick, writer in list(self.members.items()):
            if nick != sender:
                self.send(writer, data)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        nick = None
        try:
            nick = (await reader.readline()).decode("utf-8", "replace").strip()
            if not nick or nick in self.members:
                return
            self.members[nick] = writer
            self.send(writer, f"* welcome {nick}\n".encode("utf-8"))
            self.broadcast(f"* {nick} joined", sender=nick)
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text.startswith("/msg "):
                    _, target, body = (text.split(" ", 2) + [""])[:3]
                    if target in self.members:
                        self.send(self.members[target], f"[{nick} -> {target}] {body}\n".encode("utf-8"))
                else:
                    self.broadcast(f"[{nick}] {text}", sender=nick)
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # reset, or a line past MAX_LINE: the client is gone or dropped
        finally:
            if nick and self.members.get(nick) is writer:
                del self.members[nick]
                self.broadcast(f"* {nick} left")
            writer.close()


class AsyncioUdpChatPeer(asyncio.DatagramProtocol):
    """Lab 4's chat on an asyncio datagram endpoint: the subset of PROTOCOL.md "Lab 4" the bench uses.

    "/join NICK" then "* welcome NICK" and "* NICK joined" to the others, a chat line as
    "[NICK] text" to every other member, "/msg NICK TEXT", "/leave". Members are addresses.
    """

    def __init__(self, host="127.0.0.1", port=0):
        self.host, self.port = host, port
        self.members: dict[tuple, str] = {}   # (ip, port) -> nickname
        self.transport: asyncio.DatagramTransport | None = None

    async def serve(self, ready) -> None:
        """Serve until cancelled; `ready(address)` is called once bound."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self.port))
        ready(transport.get_extra_info("sockname")[:2])
        try:
            await asyncio.Event().wait()  # forever: datagram_received() does the work
        finally:
            transport.close()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, address, text: str) -> None:
        self.transport.sendto((text + "\n").encode("utf-8"), address)

    def broadcast(self, text: str, sender=None) -> None:
        for address in list(self.members):
            if address != sender:
                self.send(address, text)

    def datagram_received(self, data: bytes, address) -> None:
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        nick = self.members.get(address)
        if nick is None:
            wanted = text.removeprefix("/join ").strip()
            if text.startswith("/join ") and wanted and wanted not in self.members.values():
                self.members[address] = wanted
                self.send(address, f"* welcome {wanted}")
                self.broadcast(f"* {wanted} joined", sender=address)
        elif text.startswith("/msg "):
            _, target, body = (text.split(" ", 2) + [""])[:3]
            for member, name in self.members.items():
                if name == target:
                    self.send(member, f"[{nick} -> {target}] {body}")
                    break
        elif text == "/leave":
            del self.members[address]
            self.broadcast(f"* {nick} left")
        elif text and text != "/ping":
            self.broadcast(f"[{nick}] {text}", sender=address)
