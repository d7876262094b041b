"""The lab 3 reference server keeps serving when it runs out of file descriptors.

A naive accept loop dies on EMFILE and takes every connected user with it. Here the server
runs in a child process whose descriptor limit is lowered (POSIX `resource`; skipped on
Windows, which has no such per-process limit to lower).
"""
import sys

import pytest

from chatlab.harness.clients import LineClient

resource = pytest.importorskip("resource", reason="lowering the descriptor limit needs POSIX `resource`")

FD_LIMIT = 48
START_SERVER = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({FD_LIMIT}, {FD_LIMIT}))
from chatlab.cli import main
sys.exit(main(["serve", "lab3", "--target", "solutions", "--port", "0"]))
"""


def test_server_survives_running_out_of_file_descriptors(spawn):
    server = spawn([sys.executable, "-c", START_SERVER])
    address = ("127.0.0.1", int(server.first_line().rsplit(":", 1)[1]))
    clients = [LineClient(address, "alice"), LineClient(address, "bob")]
    try:
        alice, bob = clients
        alice.send_line("alice")
        alice.expect("* welcome alice")
        bob.send_line("bob")
        bob.expect("* welcome bob")
        # More connections than descriptors: the later ones wait in the backlog while
        # accept() fails with EMFILE, which the server reports.
        for number in range(FD_LIMIT + 10):
            clients.append(LineClient(address, f"crowd{number}"))
            clients[-1].send_line(f"crowd{number}")
        server.err.wait_for("Too many open files")
        alice.send_line("still there?")
        bob.expect("[alice] still there?")
        # Free descriptors: the waiting connections are accepted, and join.
        for crowd in clients[2:22]:
            crowd.close()
        alice.expect(f"* crowd{FD_LIMIT + 9} joined", timeout=10)
        assert server.popen.poll() is None, "the server died"
    finally:
        for client in clients:
            client.close()
