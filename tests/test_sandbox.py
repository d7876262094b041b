"""The grader's sandbox (chatlab/sandbox/server_process.py) on its own: a submission's server in a child process.

A stub fails the clients at once; a server that exits, hangs at import or raises in
__init__ is reported, within a bound, with where it happened; stacks() names the line a
thread waits on; stop() is quiet for the solution and tells when serve_forever() does not
end; busy_seconds() tells a spinning server from an idle one on a busy machine. Each
submission here is a file of a few lines written to tmp_path, laid out as a --target
(tmp_path/lab1_echo/server.py).
"""
import subprocess
import sys
import threading
import time
import traceback

import pytest

from chatlab.catalog import find_lab, lab_file
from chatlab.harness.waiting import WAIT, ExpectationError
from chatlab.sandbox import server_process
from chatlab.sandbox.child import _starting_a_thread
from chatlab.sandbox.script import StartedScript
from chatlab.sandbox.server_process import ServerProcess, SubmissionError

LAB1 = find_lab("lab1")


@pytest.fixture
def submission(write_lab_file):
    """submission(code) -> a --target folder whose lab1_echo/server.py is `code`."""
    return lambda code: write_lab_file(LAB1, "server", code)


def line_of(path, text: str) -> int:
    """The number of the one line of `path` that contains `text`."""
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {path}"
    return lines[0]


def test_a_stub_fails_every_client_at_once_saying_not_implemented_yet(hosts, stubs):
    host = ServerProcess(LAB1, stubs)
    hosts.append(host)
    client = host.client("client")
    client.send_line("hello")
    started = time.monotonic()
    with pytest.raises(ExpectationError, match="NotImplementedError: not implemented yet: EchoServer.serve_forever"):
        client.expect("hello")
    assert time.monotonic() - started < WAIT / 2, "the client waited for its timeout instead of failing at once"
    assert "lab1_echo/server.py:" in host.failure()


def test_a_server_process_that_exits_is_reported_with_its_exit_code(submission, hosts):
    target = submission("""
        import os, socket
        class EchoServer:
            def __init__(self, host, port):
                self.listener = socket.create_server((host, port))
                self.address = self.listener.getsockname()
            def serve_forever(self):
                self.listener.accept()
                os._exit(7)
            def shutdown(self):
                pass
    """)
    host = ServerProcess(LAB1, target)
    hosts.append(host)
    host.client("client")
    assert host._wait_for(("exit",), WAIT), "no exit event"
    assert "the server process exited with code 7" in host.failure()


def test_a_kill_by_the_grader_is_not_reported_as_a_crash(hosts):
    host = ServerProcess(LAB1, "solutions")
    hosts.append(host)
    client = host.client("client")
    client.send_line("hello")
    client.expect("hello")
    host.kill()
    client.expect_closed()  # learnt from the socket: no "the server process exited" abort racing it
    assert host.failure() == ""


def test_stacks_name_the_line_a_handler_thread_waits_on_in_recv(hosts):
    host = ServerProcess(LAB1, "solutions")
    hosts.append(host)
    client = host.client("client")
    client.send_line("hello")
    client.expect("hello")  # its handler thread goes back to recv(), to wait for more
    server_py = lab_file(LAB1, "server")
    waits = [f"lab1_echo/server.py:{line_of(server_py, 'conn.recv(RECV_SIZE)')} in echo()",
             f"lab1_echo/server.py:{line_of(server_py, 'self.listener.accept()')} in serve_forever()"]
    for _ in range(100):  # a thread may still be on its way there (in sendall(), in start()): look again
        stacks = host.stacks()
        if all(wait in stacks for wait in waits):
            break
    assert all(wait in stacks for wait in waits), stacks


def test_stop_is_quiet_for_the_solution(hosts):
    host = ServerProcess(LAB1, "solutions")
    hosts.append(host)
    client = host.client("client")
    client.send_line("hello")
    client.expect("hello")
    assert host.stop() == ""


def test_stop_says_so_when_shutdown_returns_but_serve_forever_goes_on(submission, hosts):
    target = submission("""
        import socket
        class EchoServer:
            def __init__(self, host, port):
                self.listener = socket.create_server((host, port))
                self.address = self.listener.getsockname()
            def serve_forever(self):
                while True:
                    self.listener.accept()[0].close()
            def shutdown(self):
                pass
    """)
    host = ServerProcess(LAB1, target)
    hosts.append(host)
    assert "serve_forever() was still running" in host.stop()


def test_an_error_in_init_is_reported_at_once_with_its_line(submission):
    target = submission("""
        import socket
        class EchoServer:
            def __init__(self, host, port):
                self.listener = socket.create_server(host, port)
    """)
    started = time.monotonic()
    with pytest.raises(SubmissionError, match=r"could not start: \w+Error: .*\(lab1_echo/server\.py:5\)"):
        ServerProcess(LAB1, target)
    assert time.monotonic() - started < WAIT


def test_an_import_that_hangs_is_reported_with_its_line_and_not_waited_for_twice(submission, monkeypatch):
    monkeypatch.setattr(server_process, "START_HANGS", {})
    monkeypatch.setattr(server_process, "STARTUP_WAIT", 2.5)
    target = submission("""
        import threading
        NEVER = threading.Event()
        NEVER.wait()
    """)
    with pytest.raises(SubmissionError, match=r"importing within 2.5 s \(stuck at lab1_echo/server\.py:4\)"):
        ServerProcess(LAB1, target)
    started = time.monotonic()
    with pytest.raises(SubmissionError, match="in an earlier test: not waited for again"):
        ServerProcess(LAB1, target, options={"other": "options"})
    with pytest.raises(SubmissionError, match="in an earlier test: not waited for again"):
        StartedScript(target / LAB1.stem / "server.py")
    assert time.monotonic() - started < 0.5


def test_a_script_that_crashes_at_start_is_reported_at_once_with_its_stderr(submission):
    target = submission("""
        raise RuntimeError("broken on purpose")
    """)
    started = time.monotonic()
    with pytest.raises(SubmissionError, match="exited first.*broken on purpose"):
        StartedScript(target / LAB1.stem / "server.py")
    assert time.monotonic() - started < WAIT


def busy_share(host, window: float = 0.3) -> float:
    """busy_seconds() per wall second over `window` seconds in which nothing happens."""
    before, started = host.busy_seconds(), time.monotonic()
    time.sleep(window)  # a measurement window, not a synchronisation
    return (host.busy_seconds() - before) / (time.monotonic() - started)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="run-queue waits are read from Linux's /proc")
def test_busy_seconds_tell_a_spinning_server_from_an_idle_one_with_every_core_busy(submission, hosts):
    spinning = submission("""
        import socket
        class EchoServer:
            def __init__(self, host, port):
                self.listener = socket.create_server((host, port))
                self.address = self.listener.getsockname()
            def serve_forever(self):
                while True:  # a busy loop, as `except: continue` makes one
                    pass
            def shutdown(self):
                pass
    """)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        hosts.extend([ServerProcess(LAB1, "solutions"), ServerProcess(LAB1, spinning)])
        idle, busy = busy_share(hosts[0]), busy_share(hosts[1])
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert idle < 0.1 and busy > 0.7, f"idle server {idle:.2f}, spinning server {busy:.2f}"


def test_a_thread_starting_another_is_never_taken_for_a_waiting_one():
    """quiet() must not call a server silent while its accepting thread waits in Thread.start() for the
    handler it starts (on a busy machine that wait is long), nor while that handler is not yet in run()."""
    def frames(*names):
        return [traceback.FrameSummary(threading.__file__, 1, name) for name in names]

    submission = traceback.FrameSummary("server.py", 99, "serve_forever")
    assert _starting_a_thread([submission, *frames("start", "wait", "wait")])   # the starter
    assert _starting_a_thread(frames("_bootstrap", "_bootstrap_inner", "set"))  # the new thread, not in run()
    released, waiting = threading.Event(), threading.Event()
    handler = threading.Thread(target=lambda: (waiting.set(), released.wait(WAIT)), daemon=True)
    handler.start()
    try:
        assert waiting.wait(WAIT)
        stack = traceback.extract_stack(sys._current_frames()[handler.ident])
        assert not _starting_a_thread(stack), [entry.name for entry in stack]  # in its target: really waiting
    finally:
        released.set()
        handler.join(WAIT)
