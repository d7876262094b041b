"""The client shim (chatlab/sandbox/client_shim.py) and the waits built on it, without /proc.

The grader runs a student's client.py through the shim, which reports the byte count of
each receive on stderr; FakeServer.wait_taken() waits for those reports, so a line sent in
two pieces reaches the client in two receives on every system. Here: the reports are exact
(TCP and UDP, every receiving method, a report landing inside a half-written stderr line);
a client behaves through the shim as it does alone (exit codes, os._exit, daemon threads,
end of input, tracebacks naming the client's own lines); wait_taken() really waits, and
a client that decodes each recv() on its own is caught every time with /proc out of reach.
Each client is a file of a few lines written to tmp_path, laid out as a --target.
"""
from __future__ import annotations

import builtins
import json
import socket
import subprocess
import sys
import textwrap

import pytest
from grading import build_broken

from chatlab.catalog import find_lab
from chatlab.grading.fake_server import FakeServer
from chatlab.grading.student_client import StudentClient
from chatlab.harness.waiting import WAIT, ExpectationError
from chatlab.sandbox import client_shim

LAB2, LAB4 = find_lab("lab2"), find_lab("lab4")


@pytest.fixture
def client_file(write_lab_file):
    """client_file(code, lab=LAB2) -> a --target folder whose LAB/client.py is `code`."""
    return lambda code, lab=LAB2: write_lab_file(lab, "client", code)


@pytest.fixture
def running():
    """Every FakeServer and StudentClient a test starts, closed when it ends."""
    started = []
    yield started
    for thing in started:
        (thing.shutdown if isinstance(thing, FakeServer) else thing.close)()


def connected(running, lab, target, name="bob", transport="tcp"):
    """A FakeServer and the `target`'s client of `lab` run against it, as the grader runs them."""
    server = FakeServer(transport)
    client = StudentClient(lab, target, server.port, name)
    server.attach(client)
    running += [server, client]
    return server, client


def test_the_shim_reports_the_bytes_each_receive_returned_by_socket_and_keeps_the_clients_stderr(spawn, tmp_path):
    """TCP recv, recv_into and a makefile()'s reads, UDP recvfrom and recvfrom_into: each report
    names the receiving socket's port and the count the call returned, no more, no less."""
    script = tmp_path / "client.py"
    script.write_text(textwrap.dedent("""
        import json, os, socket, sys
        tcp = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        t, u = tcp.getsockname()[1], udp.getsockname()[1]
        print(u, flush=True)
        got = []
        os.write(2, b"half a line, ")                 # a report lands inside this stderr line
        got.append((t, len(tcp.recv(3))))
        os.write(2, b"then the rest\\n")
        got.append((t, tcp.recv_into(bytearray(64), 5)))
        got.append((t, len(tcp.makefile("rb").read(18))))  # may take several receives: summed below
        got.append((u, len(udp.recvfrom(100)[0])))
        got.append((u, udp.recvfrom_into(bytearray(100))[0]))
        print(json.dumps(got), flush=True)
    """), encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT)
        client = spawn([sys.executable, client_shim.__file__, script.name, str(listener.getsockname()[1])],
                       cwd=tmp_path)
        conn, _ = listener.accept()
        udp_port = int(client.first_line())
        with conn, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            conn.sendall(b"abcdefgh")                       # recv(3), then recv_into(.., 5)
            conn.sendall(b"ijklmnopqrstuvwxyz")             # 18 bytes for the file's read()
            udp.sendto(b"seven!!", ("127.0.0.1", udp_port))
            udp.sendto(b"eleven byte", ("127.0.0.1", udp_port))
            assert client.wait() == 0, client.err.data
    got = json.loads(client.out.data.splitlines()[1])
    text, reports = client_shim.parse_reports(client.err.data)
    file_port = got[2][0]
    file_reads = [size for port, size in reports[2:-2] if port == file_port]
    assert reports[:2] + [(file_port, sum(file_reads))] + reports[-2:] == [tuple(pair) for pair in got]
    assert got[0][1:] == [3] and got[1][1:] == [5] and got[3][1:] == [7] and got[4][1:] == [11]
    assert text == "half a line, then the rest\n"


BEHAVIOURS = {
    "sys.exit at the end of input": """
        import sys
        for line in sys.stdin:
            print("typed", line.strip())
        print("end of input")
        sys.exit(3)
    """,
    "os._exit from a thread while the main one waits on input": """
        import os, threading
        threading.Thread(target=lambda: (print("leaving", flush=True), os._exit(5))).start()
        input()
    """,
    "a daemon thread left blocked in recv()": """
        import socket, threading
        mine, theirs = socket.socketpair()
        threading.Thread(target=mine.recv, args=(10,), daemon=True).start()
        print("main is done")
    """,
    "a stub raising NotImplementedError": """
        def receive_lines(sock):
            raise NotImplementedError("not implemented yet: receive_lines")

        receive_lines(None)
    """,
    "a thread whose recv() fails": """
        import socket, threading

        def receive():
            socket.socket().recv(10)  # not connected: OSError

        thread = threading.Thread(target=receive, name="receiver")
        thread.start()
        thread.join()
        print(__name__, __file__.endswith("client.py"))
    """,
    "a syntax error": """
        print("never"
    """,
}


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_a_client_behaves_through_the_shim_as_it_does_alone(tmp_path, behaviour):
    """Same exit code, same output, same stderr (a traceback names the client's own lines only)."""
    (tmp_path / "client.py").write_text(textwrap.dedent(BEHAVIOURS[behaviour]), encoding="utf-8")

    def run(*shim):
        done = subprocess.run([sys.executable, *shim, "client.py"], cwd=tmp_path, input="one\ntwo\n",
                              capture_output=True, text=True, timeout=WAIT)
        return done.returncode, done.stdout, done.stderr

    alone, shimmed = run(), run(client_shim.__file__)
    assert shimmed == alone
    assert "client_shim" not in shimmed[2] and "runpy" not in shimmed[2]


def test_a_stub_client_through_the_grader_fails_as_not_implemented_at_its_function(running, stubs):
    server, client = connected(running, LAB2, stubs)
    with pytest.raises(ExpectationError, match="failed: not implemented yet: run_client$"):
        client.wait_exit()
    assert client_shim.REPORT_PREFIX not in client.stderr
    assert 'File "' + str(client.script) + '", line ' in client.stderr
    assert client.command.startswith("client.py --host 127.0.0.1 --port ")


READS_WHEN_TOLD = """
    import argparse, socket
    parser = argparse.ArgumentParser()
    parser.add_argument("--host"), parser.add_argument("--port", type=int), parser.add_argument("--name")
    args = parser.parse_args()
    with socket.create_connection((args.host, args.port)) as sock:
        while True:
            input()                                # reads only when a line is typed
            print("got", len(sock.recv(65536)), flush=True)
"""


def test_wait_taken_waits_until_the_clients_receives_have_returned_all_that_was_sent(running, client_file):
    server, client = connected(running, LAB2, client_file(READS_WHEN_TOLD))
    server.send_bytes(b"ten bytes!")
    assert server.wait_taken(timeout=0.3) is False, "the client has not called recv() yet"
    client.type("now read")
    assert server.wait_taken() is True
    assert client.received(server.peer[1]) == 10
    client.expect_printed("got 10")
    server.send_bytes(b"four")
    assert server.wait_taken(timeout=0.3) is False, "the client has not read the second piece yet"


@pytest.fixture
def no_proc(monkeypatch):
    """As on macOS and Windows: no /proc (any attempt to read it here fails the test)."""
    real_open = builtins.open

    def guarded(path, *args, **kwargs):
        if str(path).startswith("/proc"):
            raise AssertionError(f"{path} was opened: the client side must not need /proc")
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", guarded)


@pytest.mark.parametrize("attempt", range(5))
def test_without_proc_a_client_that_decodes_each_recv_on_its_own_is_caught_every_time(
        no_proc, running, tmp_path, attempt):
    """The two pieces of a split line reach the broken client in two receives, so it prints two lines;
    the solution's client, given the same pieces, prints one."""
    line = b"[bob] one line, sent in two pieces\n"
    broken = build_broken("lab2_client_decodes_each_recv", tmp_path / "broken")
    for target, printed in ((broken, ["[bob] one ", "line, sent in two pieces"]),
                            ("solutions", ["[bob] one line, sent in two pieces"])):
        server, client = connected(running, LAB2, target)
        server.send_bytes(line[:10])
        assert server.wait_taken() is True
        server.send_bytes(line[10:])
        for text in printed:
            client.expect_printed(text)
        assert client.printed[-len(printed):] == printed


def test_wait_taken_counts_datagrams_received_by_a_udp_client(no_proc, running):
    server, client = connected(running, LAB4, "solutions", transport="udp")
    server.expect("/join bob")
    server.send_line("* welcome bob")
    assert server.wait_taken() is True
    assert client.received(server.peer[1]) == len(b"* welcome bob\n")
    client.expect_printed("* welcome bob")
