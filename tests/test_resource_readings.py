"""The server process's memory and open descriptors as the grader reads them: psutil, on every system.

ServerProcess.memory_bytes() and open_descriptors() are psutil's readings of the child
process (no /proc); they move when the server's memory and sockets do; and where a reading
cannot be made, the grader's scenarios (grader/chat_scenarios.py) skip the check as "not
checkable here" instead of passing it, or fail it if the server process is gone.
"""
from __future__ import annotations

import importlib.util
import textwrap
import warnings

import psutil
import pytest

from chatlab.catalog import KIT_ROOT, find_lab
from chatlab.harness.waiting import ExpectationError
from chatlab.sandbox.server_process import ServerProcess

LAB1 = find_lab("lab1")
KEEPS_EVERYTHING = """
    import socket, threading

    class EchoServer:
        '''Keeps every byte it receives; after each newline, answers how many this client sent.'''
        def __init__(self, host, port):
            self.listener = socket.create_server((host, port))
            self.address = self.listener.getsockname()
            self.kept = []
        def serve_forever(self):
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        def handle(self, conn):
            with conn:  # closed when the client closes its side: it then sees the FIN
                held = 0
                while chunk := conn.recv(65536):
                    self.kept.append(chunk)
                    held += len(chunk)
                    if b"\\n" in chunk:
                        conn.sendall(b"%d\\n" % held)
        def shutdown(self):
            self.listener.close()
"""


@pytest.fixture
def host(tmp_path):
    """The server above, in the grader's sandbox; closed when the test ends."""
    (tmp_path / LAB1.stem).mkdir()
    (tmp_path / LAB1.stem / "server.py").write_text(textwrap.dedent(KEEPS_EVERYTHING), encoding="utf-8")
    started = ServerProcess(LAB1, tmp_path)
    yield started
    started.close()


def test_the_readings_are_psutils_of_the_server_process(host, monkeypatch):
    process = psutil.Process(host.process.pid)
    expected = process.num_handles() if psutil.WINDOWS else process.num_fds()
    assert host.open_descriptors() == expected
    assert abs(host.memory_bytes() - process.memory_info().rss) < 1 << 20

    class Reading:
        rss = 123_456_789
    monkeypatch.setattr(psutil.Process, "memory_info", lambda self: Reading())
    assert host.memory_bytes() == Reading.rss


def test_the_memory_reading_grows_when_the_server_keeps_megabytes(host):
    client = host.client("alice")
    client.send_bytes(b"warm up\n")
    client.expect("8")
    before = host.memory_bytes()
    size = 16 << 20
    client.send_bytes(b"x" * size + b"\n")
    client.expect(str(size + 9))  # the server has read it all
    assert host.memory_bytes() - before > 12 << 20


def test_the_descriptor_reading_follows_the_servers_sockets(host):
    baseline = host.open_descriptors()
    clients = [host.client(f"c{number}") for number in range(5)]
    for client in clients:
        client.send_bytes(b"hi\n")
        client.expect("3")  # an answer: the server holds the client's socket
    assert host.open_descriptors() >= baseline + 5
    for client in clients:
        client.half_close()
        client.expect_closed()  # the server has closed the client's socket
    assert host.open_descriptors() <= baseline


def chat_scenarios():
    """grader/chat_scenarios.py, loaded by path (grader/ is not a package on the kit's tests' path)."""
    path = KIT_ROOT / "grader" / "chat_scenarios.py"
    spec = importlib.util.spec_from_file_location("chat_scenarios_under_test", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # its @pytest.mark.points is registered by the grader's plugin, not here
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


def test_a_reading_that_cannot_be_made_skips_the_check_and_a_gone_server_fails_it(host, monkeypatch):
    scenarios = chat_scenarios()
    assert scenarios.open_descriptors(host) == host.open_descriptors()
    monkeypatch.setattr(ServerProcess, "memory_bytes", lambda self: None)   # as where psutil cannot read it
    monkeypatch.setattr(ServerProcess, "open_descriptors", lambda self: None)
    for read in (scenarios.memory_bytes, scenarios.open_descriptors):
        with pytest.raises(pytest.skip.Exception, match="^not checkable here: "):
            read(host)
    host.kill()
    for read in (scenarios.memory_bytes, scenarios.open_descriptors):
        with pytest.raises(ExpectationError, match="exited"):
            read(host)
