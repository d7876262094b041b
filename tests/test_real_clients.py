"""The reference servers with real clients: Debian's nc (netcat-openbsd) and telnet.

PROTOCOL.md promises that you can speak it by hand with `nc` and `telnet`; these tests
hold it to that. Each server runs in-process (lab_session, port 0); a scripted observer
tells when an nc client has joined, so nothing sleeps; every wait on a process's output is
bounded and every process is killed when its test ends (see conftest.py).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from chatlab.catalog import find_lab
from chatlab.harness.session import lab_session
from chatlab.harness.waiting import WAIT

NC = shutil.which("nc")
if NC is None:
    pytest.skip("nc is not installed (Debian/Ubuntu: apt-get install netcat-openbsd)", allow_module_level=True)
_usage = subprocess.run([NC, "-h"], stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT)
if b"OpenBSD netcat" not in _usage.stdout + _usage.stderr:
    pytest.skip(f"{NC} is not OpenBSD netcat, whose -N, -C and -u these tests use "
                "(Debian/Ubuntu: apt-get install netcat-openbsd)", allow_module_level=True)
TELNET = shutil.which("telnet")
needs_telnet = pytest.mark.skipif(TELNET is None,
                                  reason="telnet is not installed (Debian/Ubuntu: apt-get install telnet)")

LAB1, LAB2, LAB3, LAB4 = (find_lab(str(n)) for n in (1, 2, 3, 4))


@pytest.fixture
def nc(spawn):
    """nc(address, *options) -> Process running `nc OPTIONS HOST PORT`, binary pipes."""
    def start(address, *options):
        host, port = address
        return spawn([NC, *options, host, port], text=False, stdin=True)
    return start


def observer(session, join="{}"):
    """A scripted client, joined as "observer" (or as `join` makes it), to watch the room."""
    name = "observer" if session.lab.transport == "tcp" else "obs"
    client = session.client(name)
    client.send_line(join.format(name))
    client.expect(f"* welcome {name}")
    return client


# --- lab 1: echo ---------------------------------------------------------------------

def test_nc_gets_its_bytes_echoed_exactly_and_exits_once_the_echo_is_complete(nc):
    with lab_session(LAB1) as session:
        client = nc(session.address, "-N")  # -N: at the end of stdin, half-close (shutdown SHUT_WR)
        client.send(b"hello\n")
        client.out.wait_for(b"hello\n")
        rest = "Привет, мир\n".encode() + b"no newline at the end"
        client.send(rest)
        client.close_stdin()
        assert client.wait() == 0, client.err.data
    assert client.out.data == b"hello\n" + rest


# --- lab 2: two users ----------------------------------------------------------------

def test_two_nc_clients_chat_and_a_third_is_told_the_chat_is_full(nc):
    with lab_session(LAB2) as session:
        alice = nc(session.address, "-N")
        alice.send(b"alice\n")
        alice.out.wait_for(b"* welcome alice\n")
        bob = nc(session.address, "-N")
        bob.send(b"bob\n")
        bob.out.wait_for(b"* welcome bob\n")
        alice.out.wait_for(b"* bob joined\n")
        alice.send(b"hi bob\n")
        bob.out.wait_for(b"[alice] hi bob\n")
        bob.send("Привет, alice\n".encode())
        alice.out.wait_for("[bob] Привет, alice\n".encode())
        # -d: carol reads no stdin, so only the server can end her nc. (With stdin open,
        # nc 1.219 outlives the connection: it exits only at the end of its stdin.)
        carol = nc(session.address, "-d")
        assert carol.wait() == 0, carol.err.data
        assert carol.out.data == b"! chat is full (2 users)\n"
        alice.send(b"still two of us\n")
        bob.out.wait_for(b"[alice] still two of us\n")


# --- lab 3: many users ---------------------------------------------------------------

def test_nc_clients_chat_with_lf_and_crlf_and_one_killed_mid_line_leaves(nc):
    with lab_session(LAB3) as session:
        watcher = observer(session)
        alice = nc(session.address, "-N")
        alice.send(b"alice\n")
        watcher.expect("* alice joined")
        bob = nc(session.address, "-N", "-C")  # -C: sends b"\r\n", as telnet does
        bob.send(b"bob\n")
        watcher.expect("* bob joined")
        alice.out.wait_for(b"* bob joined\n")
        alice.send(b"hi bob\n")
        bob.out.wait_for(b"[alice] hi bob\n")
        watcher.expect("[alice] hi bob")
        bob.send(b"hi alice\n")
        watcher.expect("[bob] hi alice")
        assert b"[bob] hi alice\n" in alice.out.wait_for(b"[bob] hi alice")  # no b"\r" relayed
        bob.send(b"/users\n")
        bob.out.wait_for(b"* users: alice, bob, observer\n")  # "bob", not "bob\r"
        bob.send(b"half a li")
        bob.kill()
        watcher.expect("* bob left")
        alice.send(b"\xff\xfe\n")
        watcher.expect("[alice] \ufffd\ufffd")
        alice.send(b"still here\n")
        watcher.expect("[alice] still here")
        assert not any("half a li" in text for text in watcher.texts())


@needs_telnet
def test_telnet_joins_and_chats_in_the_multi_user_chat(spawn):
    with lab_session(LAB3) as session:
        watcher = observer(session)
        host, port = session.address
        telnet = spawn([TELNET, host, port], text=False, stdin=True)
        telnet.out.wait_for(b"Escape character is")  # its banner: connected
        telnet.send(b"tina\n")  # typed; telnet sends b"tina\r\n"
        watcher.expect("* tina joined")
        telnet.out.wait_for(b"* welcome tina")
        telnet.send(b"hello\n")
        watcher.expect("[tina] hello")
        watcher.send_line("hi tina")
        telnet.out.wait_for(b"[observer] hi tina")


# --- lab 4: UDP ----------------------------------------------------------------------

def test_nc_u_joins_and_chats_in_the_udp_chat(nc):
    with lab_session(LAB4) as session:
        watcher = observer(session, join="/join {}")
        client = nc(session.address, "-u")  # one datagram per write: each line is sent on its own
        client.send(b"/join bob\n")
        watcher.expect("* bob joined")
        client.out.wait_for(b"* welcome bob\n")
        client.send(b"hi\n")
        watcher.expect("[bob] hi")
        watcher.send_line("hello bob")
        client.out.wait_for(b"[obs] hello bob\n")
        assert client.popen.poll() is None  # nc -u never learns the chat is over: killed at teardown


# --- lab 5: reliable chat over UDP, typed by hand ------------------------------------

TRIES = 5  # times a person types a numbered line again when its acknowledgement does not come


def type_until(client, line: bytes, answer: bytes) -> None:
    """Type `line` into nc, and again while `answer` does not come within a second, as PROTOCOL.md's
    sender does (TRIES times at most). nc sends what it read since its last send as one datagram, so
    a line typed right after an acknowledgement may travel with it ("A 2\nD 2 hi"), a datagram the
    server ignores; the line typed again travels alone, and the server takes a copy only once."""
    for _ in range(TRIES):
        client.send(line)
        try:
            client.out.wait_for(answer, timeout=1.0)
            return
        except AssertionError:
            continue
    client.out.wait_for(answer, timeout=0)  # fails, showing what nc printed


def test_two_nc_u_sessions_join_chat_and_leave_through_chatlab_serve_lab5_by_hand(nc, spawn):
    """PROTOCOL.md, "Lab 5": numbered lines typed by hand, and each line the server sends acknowledged by hand."""
    server = spawn([sys.executable, "-m", "chatlab.cli", "serve", "lab5", "--target", "solutions", "--port", "0"],
                   env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    port = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", server.first_line()).group(1)
    alice, bob = nc(("127.0.0.1", port), "-u"), nc(("127.0.0.1", port), "-u")
    type_until(alice, b"D 1 /join alice\n", b"D 1 * welcome alice\n")
    alice.send(b"A 1\n")
    type_until(bob, b"D 1 /join bob\n", b"D 1 * welcome bob\n")
    bob.send(b"A 1\n")
    alice.out.wait_for(b"D 2 * bob joined\n")
    alice.send(b"A 2\n")
    type_until(alice, b"D 2 hi bob\n", b"A 2\n")
    bob.out.wait_for(b"D 2 [alice] hi bob\n")
    bob.send(b"A 2\n")
    type_until(bob, b"D 2 /leave\n", b"D 3 * bye\n")
    bob.send(b"A 3\n")
    said = alice.out.wait_for(b"D 3 * bob left\n")
    alice.send(b"A 3\n")
    assert b"[alice]" not in said  # her own line does not come back to her
