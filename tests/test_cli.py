"""The `chatlab` command as students run it: a process of its own, reached through pipes and sockets.

Run as `python -m chatlab.cli` (what the installed `chatlab` runs), so the tests do not need
the console script on PATH. Every server listens on 127.0.0.1 port 0 and the tests read the
real port from its first line on stdout; every wait is bounded and every process is killed when its
test ends (see conftest.py).
"""
import os
import re
import signal
import socket
import sys
import time

import pytest
from grading import STUDENT_WORK, labs_release_problems

from chatlab.addresses import addresses_to_share
from chatlab.catalog import LABS, SOLUTIONS_DIR, find_lab
from chatlab.harness.clients import client_for
from chatlab.harness.session import lab_session
from chatlab.harness.waiting import WAIT

LAB1, LAB3 = find_lab("1"), find_lab("3")
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
# The tests' text pipes are UTF-8 on both ends, whatever the locale (on Windows pipes are not).
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def lab_id(lab):
    return lab.stem


@pytest.fixture
def chatlab(spawn):
    """chatlab(*args, stdin=False) -> Process running `python -m chatlab.cli args`."""
    def run(*args, stdin=False):
        return spawn([sys.executable, "-m", "chatlab.cli", *args], stdin=stdin, env=ENV)
    return run


def listening_port(process) -> int:
    """The port from the process's first line, which must be `listening on 127.0.0.1:PORT`."""
    line = process.first_line()
    match = LISTENING.fullmatch(line)
    assert match, f"the first line should be 'listening on 127.0.0.1:PORT', not {line!r}"
    port = int(match.group(1))
    assert port != 0
    return port


def greet(lab, port: int) -> None:
    """Check that the server on `port` answers a scripted client as `lab` says."""
    client = client_for(lab)(("127.0.0.1", port), "x")
    try:
        if not lab.has_nicknames:
            client.send_line("x")
            client.expect("x")  # echoed
        else:
            client.send_line("/join x" if lab.transport == "udp" else "x")
            client.expect("* welcome x")
    finally:
        client.close()


def receive_line(sock) -> bytes:
    """Bytes up to the first b"\\n" included, or until the peer closes; each recv() bounded by the socket timeout."""
    data = b""
    for _ in range(100):
        if b"\n" in data:
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def first_error_line(process) -> str:
    """The first line the process wrote to stderr, waited for (bounded)."""
    process.err.wait_for("\n")
    return process.err.data.splitlines()[0]


# --- whose code runs -----------------------------------------------------------------

@pytest.mark.parametrize("command", [("serve", "lab1", "--port", "0"), ("connect", "lab1", "--port", "1"),
                                     ("demo", "lab1"), ("grade", "lab1", "-k", "nothing_has_this_name")],
                         ids=lambda command: command[0])
def test_every_command_runs_labs_by_default_and_says_so_first(chatlab, command):
    process = chatlab(*command)
    assert re.match(r"chatlab: (running|grading) your code in labs/ \(lab1_echo", first_error_line(process))


def test_the_first_line_names_the_reference_or_the_folder_it_runs(chatlab, stubs):
    reference = chatlab("serve", "lab3", "--target", "solutions", "--port", "0")
    assert first_error_line(reference) == ("chatlab: running the reference solution in solutions/ "
                                           "(lab3_multi_user_chat/server.py)")
    folder = chatlab("demo", "lab3", "--target", stubs)
    assert first_error_line(folder) == (f"chatlab: running the code in the folder {stubs} "
                                        "(lab3_multi_user_chat/server.py, with the demo's scripted clients)")


# --- serve ---------------------------------------------------------------------------

@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_serve_prints_where_it_listens_first_and_answers_there(chatlab, lab):
    server = chatlab("serve", f"lab{lab.number}", "--target", "solutions", "--port", "0")
    greet(lab, listening_port(server))
    assert server.popen.poll() is None, "the server should keep running"


@pytest.mark.parametrize("spelling", ["lab3", "3", "lab3_multi_user_chat", "LAB3"])
def test_a_lab_may_be_named_by_its_short_name_number_or_full_name(chatlab, spelling):
    server = chatlab("serve", spelling, "--target", "solutions", "--port", "0")
    greet(LAB3, listening_port(server))


def test_an_unknown_lab_is_refused_with_exit_code_2_and_the_choices(chatlab):
    process = chatlab("serve", "lab9", "--port", "0")
    assert process.wait() == 2
    error = process.err.data
    assert "no lab called 'lab9'" in error
    for lab in LABS:
        assert f"lab{lab.number} ({lab.stem})" in error


def test_a_port_in_use_is_one_line_that_says_what_to_do(chatlab):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = chatlab("serve", "lab3", "--target", "solutions", "--port", port)
        assert server.wait() == 1
    said = server.err.data.strip().splitlines()
    assert said[-1] == (f"chatlab: port {port} is in use on 127.0.0.1 (another server, perhaps yours, still runs "
                        "there): choose another --port, or --port 0 to let the system pick a free one")
    assert "Traceback" not in server.err.data and server.out.data == ""


@pytest.mark.parametrize("command", [("serve", "lab3", "--port", "0"), ("connect", "lab3", "--name", "bob")])
def test_an_ipv6_host_is_refused_in_one_line(chatlab, command):
    process = chatlab(*command, "--host", "::1", "--target", "solutions")
    assert process.wait() == 1
    assert process.err.data.strip() == ("chatlab: ::1 is an IPv6 address; the labs speak IPv4 only (AF_INET "
                                        "sockets): use --host 0.0.0.0 to listen on every IPv4 address, or --host "
                                        "127.0.0.1 for this machine only")


def test_a_server_on_every_address_is_announced_with_addresses_others_can_type():
    shared = addresses_to_share("0.0.0.0", 5050)
    assert shared[-1] == "127.0.0.1:5050" and "0.0.0.0:5050" not in shared
    assert all(re.fullmatch(r"\d+\.\d+\.\d+\.\d+:5050", address) for address in shared)
    assert addresses_to_share("127.0.0.1", 5050) == ["127.0.0.1:5050"]


@pytest.mark.skipif(sys.platform == "win32",
                    reason="Ctrl+C is a console event on Windows, not a signal a test can send to one process")
def test_ctrl_c_stops_the_server_within_a_second_closes_clients_and_frees_the_port(chatlab):
    server = chatlab("serve", "lab3", "--target", "solutions", "--port", "0")
    port = listening_port(server)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"alice\n")
        assert receive_line(sock) == b"* welcome alice\n"
        started = time.monotonic()
        server.popen.send_signal(signal.SIGINT)
        code = server.wait()
        elapsed = time.monotonic() - started
        assert code == 0, server.err.data
        assert elapsed < 1.0, f"the server took {elapsed:.2f} s to stop"
        assert "stopping" in server.out.data
        try:
            rest = sock.recv(65536)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", "the server should have closed alice's connection"
    # At once: SO_REUSEADDR despite TIME_WAIT.
    restarted = chatlab("serve", "lab3", "--target", "solutions", "--port", port)
    assert listening_port(restarted) == port
    greet(LAB3, port)


def test_serving_the_starter_code_listens_then_stops_naming_the_missing_part(chatlab, stubs):
    server = chatlab("serve", "lab3", "--target", stubs, "--port", "0")
    listening_port(server)
    assert server.wait(5) != 0
    assert "not implemented yet: ChatServer.serve_forever" in server.err.data


# --- connect -------------------------------------------------------------------------

def test_connect_chats_through_pipes_with_a_scripted_client(chatlab):
    with lab_session(LAB3) as session:
        alice = session.client("alice")
        alice.send_line("alice")
        alice.expect("* welcome alice")
        bob = chatlab("connect", "lab3", "--target", "solutions", "--name", "bob", "--port", session.address[1],
                      stdin=True)
        bob.out.wait_for("* welcome bob\n")
        alice.expect("* bob joined")
        alice.send_line("hi bob")
        bob.out.wait_for("[alice] hi bob\n")
        bob.send("hello alice\n")
        alice.expect("[bob] hello alice")
        bob.close_stdin()  # Ctrl+D: the client leaves with /quit
        assert bob.wait() == 0, bob.err.data
        alice.expect("* bob left")
    assert bob.out.data == "* welcome bob\n[alice] hi bob\n* bye\n* disconnected\n"  # no prompt in a pipe


def test_connect_where_nothing_listens_fails_and_says_so(chatlab):
    with socket.socket() as placeholder:
        # Bound but not listening: connections are refused, and nobody else can take the port meanwhile.
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        client = chatlab("connect", "lab3", "--target", "solutions", "--name", "bob", "--port", port)
        code = client.wait()
    assert code != 0
    assert f"nothing listens on 127.0.0.1:{port}" in client.err.data


def test_connect_to_the_echo_server_prints_what_comes_back_in_utf8(chatlab):
    with lab_session(LAB1) as session:
        client = chatlab("connect", "lab1", "--target", "solutions", "--port", session.address[1], stdin=True)
        client.send("Привет\n")
        client.out.wait_for("Привет\n")
        client.close_stdin()
        assert client.wait() == 0, client.err.data
    assert client.out.data == "Привет\n* disconnected\n"


# --- in Russian -----------------------------------------------------------------------

def russian_lines(text: str) -> str:
    """What serve, connect and demo printed, without what the chat carries (after >>, <<, as the scripts sent it)
    and without serve's first line, `listening on HOST:PORT`, which scripts read (not translated)."""
    return "\n".join(re.split(r" (?:>>|<<) ", line)[0] for line in text.splitlines() if not LISTENING.fullmatch(line))


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is a signal only outside Windows")
@pytest.mark.parametrize("flag", [("--lang", "ru"), ("--lang=ru",)], ids=["after", "before"])
def test_serve_connect_and_demo_print_in_russian_under_lang_ru(chatlab, flag):
    """`chatlab serve LAB --lang ru` and `chatlab --lang=ru serve LAB`: every line of theirs, on stdout and stderr."""
    from english_words import english_words

    def run(command, *args, stdin=False):
        return chatlab(*(flag if len(flag) == 1 else ()), command, *args, *(flag if len(flag) == 2 else ()),
                       stdin=stdin)

    demo = run("demo", "lab1", "--target", "solutions")
    assert demo.wait(20) == 0, demo.err.data
    assert "lab1_echo: демонстрация окончена" in demo.out.data.splitlines(), demo.out.data
    server = run("serve", "lab1", "--target", "solutions", "--port", "0")
    port = listening_port(server)
    client = run("connect", "lab1", "--target", "solutions", "--port", str(port), stdin=True)
    client.send("x\n")
    client.out.wait_for("x\n")
    client.close_stdin()
    assert client.wait() == 0, client.err.data
    assert client.out.data == "x\n* соединение закрыто\n"
    server.popen.send_signal(signal.SIGINT)
    assert server.wait() == 0, server.err.data
    assert "остановка" in server.out.data
    for process in (demo, server, client):
        printed = russian_lines(process.out.data + process.err.data)
        assert english_words(printed, frozenset({"ann", "ben"})) == [], printed  # the echo demo's nicknames


# --- demo, release -------------------------------------------------------------------

def test_demo_without_a_lab_plays_the_multi_user_chat(chatlab):
    demo = chatlab("demo", "--target", "solutions")
    assert demo.wait(20) == 0, demo.err.data
    lines = demo.out.data.splitlines()
    for line in ("  alice  >> hi everyone", "  bob    << [alice] hi everyone",
                 "lab3_multi_user_chat: demo finished"):
        assert line in lines


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_demo_of_every_lab_finishes(chatlab, lab):
    demo = chatlab("demo", lab.stem, "--target", "solutions")
    assert demo.wait(20) == 0, demo.err.data
    assert f"{lab.stem}: demo finished" in demo.out.data.splitlines()


def test_demo_of_a_file_that_does_not_load_is_one_line(chatlab, write_lab_file):
    target = write_lab_file(LAB3, "server", "def broken(:\n")
    demo = chatlab("demo", "lab3", "--target", target)
    assert demo.wait() == 1
    assert demo.err.data.strip().splitlines()[-1] == (
        f"chatlab: lab3_multi_user_chat/server.py from {target} could not be loaded: SyntaxError: invalid syntax "
        "(server.py, line 1)")


def test_demo_of_the_starter_code_fails_naming_what_is_not_implemented(chatlab, stubs):
    demo = chatlab("demo", "3", "--target", stubs)
    assert demo.wait(10) == 1
    assert "not implemented yet" in demo.err.data


def test_release_check_finds_labs_up_to_date_unless_a_student_works_there(chatlab):
    """labs/ as solutions/ generates it, apart from files edited since the last release: a student's work.

    A file that still matches the manifest of the last release but not a fresh one is a
    maintainer's missing `chatlab release`, and fails; a file that matches neither is a
    student's edit, and only skips (the kit's tests must pass while a student works).
    """
    check = chatlab("release", "--check")
    if check.wait() == 0:
        assert "up to date" in check.out.data
        return
    stale, edited = labs_release_problems()
    assert not stale, check.out.data + check.err.data
    pytest.skip(f"{STUDENT_WORK} ({len(edited)} files edited since the last release)")


# --- the solution files on their own -------------------------------------------------

@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_each_solution_server_runs_as_a_script_and_prints_where_it_listens_first(spawn, lab):
    server = spawn([sys.executable, SOLUTIONS_DIR / lab.stem / "server.py", "--port", "0"], env=ENV)
    greet(lab, listening_port(server))
    server.popen.terminate()
    server.wait()


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_each_solution_client_runs_as_a_script_and_explains_itself(spawn, lab):
    client = spawn([sys.executable, SOLUTIONS_DIR / lab.stem / "client.py", "--help"], env=ENV)
    assert client.wait() == 0, client.err.data
    assert client.out.data.startswith("usage: ")
    assert "--port" in client.out.data
