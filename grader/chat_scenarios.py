"""Chat-server scenarios that labs 2 and 3 share (PROTOCOL.md, "Rules for every lab" and "Lab 2"/"Lab 3").

Both TCP chats frame, decode, name and relay lines the same way, so these scenarios are
written once and imported by grader/test_lab2_two_user_chat.py and
grader/test_lab3_multi_user_chat.py; each runs against the lab of the module that imports
it (the `scenario` fixture reads the module's LAB). They use two members, alice and bob, so
that they fit the two seats of lab 2.

How "must not arrive" is checked without waiting: a thread per client relays one sender's
lines in order, so once bob has alice's sentinel line, everything the server was going to
send bob about alice's earlier lines has been sent before it (pitfalls.md, "same-sender
sentinel"). Where a test needs two pieces of one line to reach the server in two recv()
calls, it waits until the server's recv() calls have returned every byte of the first piece
before sending the second (the sandbox counts them), which makes the cut certain instead of
a matter of luck, on every OS.
"""
from __future__ import annotations

import contextlib
import re
import socket
import struct
import time

import pytest

from chatlab.harness.waiting import WAIT, ExpectationError, lines_must_be
from chatlab.i18n import _, ngettext
from chatlab.sandbox.child import Gates

TOO_LONG = "! line too long (max 4096 bytes)"
INVALID_NICK = "! invalid nickname: use 1-20 letters, digits, _ or -"
SPIN_SHARE = 0.5        # share of a core (run or waiting to run) above which a server that should rest spins
MEMORY_SLACK = 4 << 20  # bytes the server's memory may grow while megabytes without a newline stream in
READING = re.compile(r"recv|(?<![a-z])read")  # recv(), recv_into(), readline(), read_lines(); not "thread"
SANDBOX = "/chatlab/sandbox/"  # frames of the sandbox's gates, in the server's threads' stacks


# --- helpers ---------------------------------------------------------------------------

def since(client, mark: int = 0) -> list[str]:
    """The lines `client` received after its first `mark` lines, without "* NICK joined" notices.

    Join notices are checked with expect() where they matter. They are left out here because
    one may come late: a server that welcomes alice and only then announces her may announce
    her to bob too, if bob joined in between (he is a member by then, so that is allowed).
    """
    return [text for text in client.texts()[mark:] if not (text.startswith("* ") and text.endswith(" joined"))]


def expect_anywhere(client, text: str) -> None:
    """Like client.expect(text), but a matching line that came before lines already matched counts too."""
    if text not in client.texts():
        client.expect(text)


def wait_until_read(scenario, host, client, timeout: float = 3.0) -> None:
    """Wait (bounded) until the server has read every byte `client` has sent so far.

    Then the next bytes `client` sends arrive in a recv() of their own. The sandbox counts
    what the server's recv() calls return from each client, so this works on every OS; the
    wait ends early if the server falls silent without reading (see ServerProcess.wait_read).
    """
    scenario.step(_("(the grader waits until the server has read all that {name} sent)").format(name=client.name))
    read = host.wait_read(port_of(client), client.bytes_sent, timeout)
    if read < client.bytes_sent:
        scenario.step(_("(the server read {read} of the {sent} bytes {name} sent, and no more: it went on "
                        "without them)").format(read=f"{read:,}", sent=f"{client.bytes_sent:,}", name=client.name))


def reset(scenario, client, record: bool = True) -> None:
    """`client` vanishes with a reset (RST), as a killed program or a lost network does."""
    if record:
        scenario.step(_("{name} vanishes with a reset (SO_LINGER 0, close: RST, no FIN)").format(name=client.name))
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sock.shutdown(socket.SHUT_RD)  # wakes the client's receiving thread; sends nothing on TCP
    client.expect_closed()
    client.sock.close()


def port_of(client) -> int:
    """The client's own port: the peer port of the server's socket for it (the sandbox's gates name sockets by it)."""
    return client.sock.getsockname()[1]


class RaceNotSetUp(AssertionError):
    """The grader could not put the server's threads where a race scenario needs them: a gate was not reached in time."""


def held(host, port: int) -> bool:
    """Whether the sandbox holds a thread at the gate of the client at `port` (waiting up to Gates.WAIT_HELD)."""
    host.ask("cpu", timeout=WAIT)  # a round trip: the events the child reported before its answer (a failure) have been read
    if host.failure():  # a server that failed holds nothing: no need to wait
        return False
    event = host.ask(f"wait-held {port}", timeout=Gates.WAIT_HELD + 2)
    return bool(event and event.get("held"))


def gate(host, verb: str, port: int) -> None:
    """Tell the sandbox's gates `hold PORT` or `release PORT`, and wait (bounded) until it is done.

    The answer is waited for: on a loaded machine a release the child has not yet read would
    let the scenario go on while a thread it thinks free is still held.
    """
    host.ask(f"{verb} {port}", timeout=WAIT)


def wait_held(scenario, host, port: int, what: str, why: str) -> None:
    """Wait until the sandbox holds `what` at the gate of the client at `port` (chatlab/sandbox/child.py,
    Gates), or raise RaceNotSetUp saying that and `why` it may not have happened."""
    if not held(host, port):
        if host.failure():
            raise ExpectationError(host.failure())
        scenario.hint("race-not-set-up")
        raise RaceNotSetUp(_("the grader could not set up the race: {what} was not held within {seconds} s "
                             "({why})").format(what=what, seconds=f"{Gates.WAIT_HELD:g}", why=why))
    scenario.step(_("({what} is held)").format(what=what))


def done_announcing(scenario, speaker, listener) -> None:
    """`speaker` says hello; once `listener` has it, the server's thread for `speaker` is done announcing
    its join. (A "* speaker joined" sent late to a client that vanishes meanwhile would be a failed send
    to it before the one a scenario is about, and a server may drop the client then.)"""
    scenario.send(speaker, "hello", _("(once {listener} has it, the server is done announcing {speaker})").format(
        listener=listener.name, speaker=speaker.name))
    with scenario.setting_up("relaying"):
        listener.expect(f"[{speaker.name}] hello")


@contextlib.contextmanager
def vanished_but_listed(scenario, host, client):
    """`client` vanishes with a reset, yet for the `with` block the server still lists it.

    With faults {"gates": True}, the server's recv() for the client has seen the reset and is
    held until the block ends (and only then: the scenario decides when the dead client goes).
    Yields the client's port, which names its gate.
    """
    port = port_of(client)
    reset(scenario, client)
    wait_held(scenario, host, port, _("the server's recv() for {name} (it saw the reset)").format(name=client.name),
              _("the server's thread for {name} may be stuck elsewhere, or not read with recv()").format(
                  name=client.name))
    try:
        yield port
    finally:
        scenario.step(_("(the server's recv() for {name} may go on)").format(name=client.name))
        gate(host, "release", port)


def hang_up(scenario, client) -> None:
    """`client` closes its side of the connection (FIN), without /quit.

    With shutdown(SHUT_WR), not close(): a close() while anything the client has not read yet
    is waiting (a late notice, say) sends a reset instead, and a server's handling of b"" goes
    untested. The socket itself is closed with the others, after the report.
    """
    scenario.step(_("{name} closes its side of the connection (FIN), without /quit").format(name=client.name))
    client.half_close()


def _reading(host, value: int | None, what: str) -> int:
    """`value`, a reading of the server process; where none could be made, the test cannot check its point.

    It must not pass then: if the process has exited, that is the submission's doing and the
    test fails; otherwise this system cannot measure `what`, and the test is skipped.
    """
    if value is not None:
        return value
    if host.process.poll() is not None:
        raise ExpectationError(host.failure() or _("the server process exited with code {code}").format(
            code=host.process.returncode))
    pytest.skip(_("not checkable here: {what} cannot be read on this system (psutil)").format(what=what))


def until_told_of_leaving(scenario, member, leaver, relayed: str) -> None:
    """Wait until `member` is told "* LEAVER left", or gets `relayed`, the line that must not come.

    The server's thread for the leaver announces it after handling the leaver's last bytes, so
    whatever it relayed from them arrives before the notice. A server that announces nobody makes
    this wait its bound, and the test checks what arrived meanwhile: a missing notice is the
    leaving test's point, not this one's.
    """
    scenario.step(_("(the grader waits until {member} is told that {leaver} left)").format(
        member=member.name, leaver=leaver.name))
    with contextlib.suppress(ExpectationError):
        member.expect(f"* {leaver.name} left", relayed)


def leaves_before_naming_itself(scenario, host) -> None:
    """A client connects and closes its side (FIN) before sending anything; then the grader waits
    (bounded) until the server has closed the connection too: it is done with that client."""
    ghost = scenario.connect(host, "ghost")
    scenario.step(_("ghost closes its side (FIN) before sending a nickname; the grader waits until the server "
                    "closes the connection too"))
    ghost.half_close()
    with contextlib.suppress(ExpectationError):  # a server that never closes it loses points for that elsewhere
        ghost.expect_closed()


def memory_bytes(host) -> int:
    """The server process's resident memory now (psutil, every system); skips the test where it cannot be read."""
    return _reading(host, host.memory_bytes(), "the server process's memory")


def open_descriptors(host) -> int:
    """How many descriptors the server process has open (POSIX fds, Windows handles: compare with a
    baseline only); skips the test where they cannot be counted."""
    return _reading(host, host.open_descriptors(), "the server process's open descriptors")


def _stacks(host) -> list[dict] | None:
    """Where each thread of the server process is: [{"thread": name, "stack": frames}], or None if it does not answer."""
    event = host.ask("stacks", timeout=WAIT)  # long: a loaded machine is slow to answer, and a spinning server more
    return None if event is None else event["stacks"]


def _blocked_reading(stack: list) -> bool:
    """Whether a thread is blocked reading: its innermost frame calls recv or read (the sandbox's wrappers left out)."""
    innermost = ([frame for frame in stack if SANDBOX not in frame[0]] or stack)[-1]
    return bool(READING.search(f"{innermost[2]} {innermost[3]}".lower()))


def threads_reading(host) -> tuple[list[str], str]:
    """Threads now running the submission's code and blocked reading.

    Returns their names, and where every thread of the submission is, for a report.
    """
    stacks = _stacks(host)
    if stacks is None:
        return [], "(the server process did not answer)"
    reading, where = [], []
    for thread in stacks:
        own = [frame for frame in thread["stack"] if frame[0].startswith(str(host.folder))]
        if not own:
            continue
        where.append(f"{thread['thread']!r} at {own[-1][0].rsplit('/', 1)[-1]}:{own[-1][1]}: {own[-1][3]}")
        if _blocked_reading(thread["stack"]):
            reading.append(thread["thread"])
    return reading, "; ".join(where)


def threads_not_held(host) -> list[str]:
    """The names of the threads running the submission's code that no gate holds now."""
    return [thread["thread"] for thread in _stacks(host) or ()
            if any(frame[0].startswith(str(host.folder)) for frame in thread["stack"])
            and not any(SANDBOX in frame[0] and frame[2] == "hold" for frame in thread["stack"])]


def thread_held_at_a_send(host) -> str | None:
    """The name of the server's thread held at a send gate (in a WatchedSocket's _gated) now, or None."""
    for thread in _stacks(host) or ():
        gates = {frame[2] for frame in thread["stack"] if SANDBOX in frame[0]}
        if {"_gated", "hold"} <= gates:
            return thread["thread"]
    return None


def wait_until_reading_or_gone(host, name: str, timeout: float = WAIT) -> None:
    """Wait (bounded) until the thread called `name` is blocked reading again, or has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stacks = _stacks(host)
        thread = next((thread for thread in stacks or () if thread["thread"] == name), None)
        if stacks is not None and (thread is None or _blocked_reading(thread["stack"])):
            return
        time.sleep(0.01)


# --- framing and encoding (pitfalls 1-6) ---------------------------------------------------

@pytest.mark.points(3, hint="framing-merge")
def test_two_lines_sent_in_one_segment_arrive_as_two_messages(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(bob.received)
    scenario.send(alice, b"one\ntwo\n", _("(one sendall: one recv() on the server gets both lines)"))
    bob.expect("[alice] two")
    lines_must_be(bob, since(bob, mark), ["[alice] one", "[alice] two"])


@pytest.mark.points(3, hint="framing-split")
def test_a_line_sent_in_two_pieces_arrives_as_one_message(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    line = "".join(f"{n:04d} " for n in range(300))  # 1,500 bytes
    mark = len(bob.received)
    scenario.send(alice, line[:1000].encode(), _("(the first 1,000 bytes, no newline yet)"))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, line[1000:].encode() + b"\n", _("(the other 500 bytes and the newline)"))
    wait_until_read(scenario, host, alice)  # the sentinel comes in a recv() of its own: this test is about the cut
    scenario.send(alice, "end", _("(a sentinel: bob gets it after alice's line)"))
    bob.expect("[alice] end")
    lines_must_be(bob, since(bob, mark), [f"[alice] {line}", "[alice] end"])


@pytest.mark.points(3, hint="utf8-split")
def test_a_letter_cut_between_two_recv_calls_arrives_whole(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    word = "Привет".encode()
    mark = len(bob.received)
    scenario.send(alice, word[:3], _('(3 bytes: "П" and the first half of "р")'))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, word[3:] + b"\n", _("(the rest of the word)"))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "после", _("(a sentinel)"))
    bob.expect("[alice] после")
    lines_must_be(bob, since(bob, mark), ["[alice] Привет", "[alice] после"])


@pytest.mark.points(2, hint="utf8-split")
def test_a_long_cyrillic_line_and_the_line_after_it_arrive_whole(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    line = "a" + "П" * 600  # 1,201 bytes: byte 1,024 is the middle of a letter
    mark = len(bob.received)
    scenario.send(alice, line)
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "после", _("(the next line)"))
    bob.expect("[alice] после")
    lines_must_be(bob, since(bob, mark), [f"[alice] {line}", "[alice] после"])


@pytest.mark.points(2, hint="encoding")
def test_a_cyrillic_nickname_and_cyrillic_lines_work(scenario):
    host = scenario.server()
    bob, ivan = scenario.join(host, "bob", "Иван")
    scenario.send(ivan, "привет, bob")
    bob.expect("[Иван] привет, bob")
    scenario.send(bob, "здравствуй, Иван")
    ivan.expect("[bob] здравствуй, Иван")


@pytest.mark.points(2, hint="invalid-bytes")
def test_invalid_utf8_is_replaced_and_the_sender_stays_connected(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(bob.received)
    scenario.send(alice, b"\xff\xfe bad bytes\n", _("(not UTF-8)"))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "still here")
    bob.expect("[alice] still here")
    lines_must_be(bob, since(bob, mark), ["[alice] \ufffd\ufffd bad bytes", "[alice] still here"])


@pytest.mark.points(2, hint="crlf")
def test_lines_ending_in_crlf_work_like_lines_ending_in_lf(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    bob = scenario.connect(host, "bob")
    scenario.send(bob, b"bob\r\n", _("(telnet and nc -C end lines with CRLF)"))
    bob.expect("* welcome bob")
    alice.expect("* bob joined")
    scenario.send(bob, b"hi alice\r\n")
    alice.expect("[bob] hi alice")
    scenario.send(bob, b"/quit\r\n")
    bob.expect("* bye")


# --- line length (pitfall 8) -------------------------------------------------------------

@pytest.mark.points(2, hint="line-limit")
def test_a_line_over_4096_bytes_is_refused_and_the_connection_goes_on(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    longest = "П" * 2048  # 4,096 bytes: the longest line allowed
    scenario.send(alice, longest, _("(4,096 bytes: the newline does not count)"))
    bob.expect(f"[alice] {longest}")
    mark = len(bob.received)
    scenario.send(alice, "П" * 2049, _("(4,098 bytes in 2,049 letters: too long, bytes count)"))
    alice.expect(TOO_LONG)
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "x" * 5000, _("(5,000 bytes)"))
    alice.expect(TOO_LONG)
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "still here")
    bob.expect("[alice] still here")
    lines_must_be(bob, since(bob, mark), ["[alice] still here"])


@pytest.mark.points(2, hint="line-limit")
def test_megabytes_without_a_newline_do_not_fill_the_servers_memory(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    before = memory_bytes(host)
    size = 8 << 20
    scenario.send(alice, b"x" * size, _("({size} MB, no newline)").format(size=size >> 20))
    wait_until_read(scenario, host, alice, timeout=5.0)
    grown = memory_bytes(host) - before
    assert grown < MEMORY_SLACK, _("the server's memory grew by {grown} MB while {size} MB without a newline "
                                   "streamed in: it keeps the whole line").format(grown=f"{grown / 2**20:.1f}",
                                                                                  size=size >> 20)
    mark = len(bob.received)
    scenario.send(alice, b"\nafter\n", _("(the newline, then a short line)"))
    alice.expect(TOO_LONG)
    bob.expect("[alice] after")
    lines_must_be(bob, since(bob, mark), ["[alice] after"])


# --- who said what (pitfalls 25, 27) -------------------------------------------------------

@pytest.mark.points(2, hint="echo-to-sender")
def test_the_sender_never_receives_its_own_line(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(alice.received)
    scenario.send(alice, "first")
    bob.expect("[alice] first")
    scenario.send(alice, "second", _("(once bob has it, the server is done with alice's first line)"))
    bob.expect("[alice] second")
    scenario.send(bob, "marker", _("(whatever alice gets before it is an echo)"))
    alice.expect("[bob] marker")
    lines_must_be(alice, since(alice, mark), ["[bob] marker"])


@pytest.mark.points(2, hint="nicknames")
def test_the_server_names_the_author_so_nobody_can_speak_as_someone_else(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(alice.received)
    scenario.send(bob, b"x\n[alice] fake\n", _("(bob pretends to be alice)"))
    alice.expect("[bob] [alice] fake")
    lines_must_be(alice, since(alice, mark), ["[bob] x", "[bob] [alice] fake"])


@pytest.mark.points(3, hint="nicknames")
def test_taken_and_invalid_nicknames_are_refused_until_a_good_one_comes(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    other = scenario.connect(host, "other")
    for wanted, answer in (("alice", "! nickname taken"), ("bob smith", INVALID_NICK),
                           ("b" * 21, INVALID_NICK), ("bob!", INVALID_NICK)):
        scenario.send(other, wanted)
        other.expect(answer)
    scenario.send(other, "  Alice  ", _("(spaces around are ignored; case counts: Alice is not alice)"))
    other.expect("* welcome Alice")
    alice.expect("* Alice joined")
    scenario.send(other, "hi")
    alice.expect("[Alice] hi")
    lines_must_be(other, since(other)[:5],
                  ["! nickname taken", INVALID_NICK, INVALID_NICK, INVALID_NICK, "* welcome Alice"])


@pytest.mark.points(3, hint="nickname-race")
def test_two_clients_asking_for_one_free_nickname_at_once_do_not_both_get_it(scenario):
    """Both clients' threads read "bob" and are held at the first lock they take after it (the
    sandbox's lock gates): a server that checks whether the name is free before it takes its lock
    has let both through by then. One goes on, and the other only once the first has its answer."""
    host = scenario.server(faults={"lock_gates": True})
    first, second = scenario.connect(host, "first"), scenario.connect(host, "second")
    for client in (first, second):
        scenario.send(client, "bob", _("(a free nickname)"))
    ports = {client: port_of(client) for client in (first, second)}
    if all([held(host, port) for port in ports.values()]):
        scenario.step(_("(both threads have read 'bob' and wait at the first lock they take)"))
    else:
        scenario.step(_("(the two threads were not both held at a lock after reading 'bob': the race is left to chance)"))
    answers = []
    for client, port in ports.items():
        scenario.step(_("(the thread of {name} may go on)").format(name=client.name))
        gate(host, "release", port)
        with scenario.setting_up("joining"):
            answers.append(client.expect("* welcome bob", "! nickname taken"))
    if answers == ["* welcome bob"] * 2 and scenario.lab.number == 3:  # lab 2 has no seat for a third
        scenario.hint("nicknames")
        third = scenario.connect(host, "third")
        scenario.send(third, "bob", _("(now, with no race: is a taken nickname ever refused?)"))
        if held(host, port_of(third)):
            gate(host, "release", port_of(third))
        assert third.expect("* welcome bob", "! nickname taken") == "! nickname taken", \
            _("the server welcomed bob three times: it never refuses a taken nickname")
        scenario.hint("nickname-race")
    assert sorted(answers) == ["! nickname taken", "* welcome bob"], (
        _("the two clients who asked for bob at once got {answers}").format(answers=answers) + (
            _(": both were welcomed, so the check that a nickname is free and the taking of it are not one step "
              "under the lock") if answers.count("* welcome bob") == 2 else _(": exactly one must be welcomed")))


@pytest.mark.points(1, hint="protocol")
def test_empty_lines_are_ignored(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    alice_mark, bob_mark = len(alice.received), len(bob.received)
    scenario.send(alice, b"\n", _("(an empty line)"))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, b"\r\n", _("(an empty line from telnet)"))
    wait_until_read(scenario, host, alice)
    scenario.send(alice, "after")
    bob.expect("[alice] after")
    lines_must_be(bob, since(bob, bob_mark), ["[alice] after"])
    scenario.send(bob, "marker")
    alice.expect("[bob] marker")
    lines_must_be(alice, since(alice, alice_mark), ["[bob] marker"])


# --- leaving (pitfalls 9, 10, 14, 22) ------------------------------------------------------

@pytest.mark.points(2, hint="leave-notice")
def test_quit_says_bye_closes_the_connection_and_tells_the_other(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.send(bob, "/quit")
    bob.expect("* bye")
    bob.expect_closed()
    alice.expect("* bob left")
    carol, = scenario.join(host, "carol")
    alice.expect("* carol joined")
    scenario.send(carol, "hi alice")
    alice.expect("[carol] hi alice")


@pytest.mark.points(3, hint="eof")
def test_a_client_that_closes_resets_or_dies_mid_line_is_announced_as_left(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    hang_up(scenario, bob)
    alice.expect("* bob left")
    scenario.hint("reset")
    bob = scenario.join(host, "bob")[0]
    alice.expect("* bob joined")
    reset(scenario, bob)
    alice.expect("* bob left")
    scenario.hint("eof")
    bob = scenario.join(host, "bob")[0]
    alice.expect("* bob joined")
    scenario.send(bob, b"half a li", _("(no newline)"))
    hang_up(scenario, bob)
    alice.expect("* bob left")
    scenario.hint("leave-notice")
    bob = scenario.join(host, "bob")[0]
    alice.expect("* bob joined")
    scenario.send(alice, "still chatting")
    bob.expect("[alice] still chatting")


@pytest.mark.points(2, hint="quit-relayed")
def test_quit_is_never_relayed_to_the_others(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(alice.received)
    scenario.send(bob, "/quit")
    until_told_of_leaving(scenario, alice, bob, relayed="[bob] /quit")
    relayed = [text for text in since(alice, mark) if text.startswith("[bob]")]
    assert not relayed, _("alice received {lines}: /quit was relayed as a chat line").format(lines=relayed)


@pytest.mark.points(2, hint="unfinished-line")
def test_an_unfinished_line_is_dropped_when_its_sender_disconnects(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(alice.received)
    scenario.send(bob, b"an unfinished li", _("(no newline)"))
    hang_up(scenario, bob)
    until_told_of_leaving(scenario, alice, bob, relayed="[bob] an unfinished li")
    relayed = [text for text in since(alice, mark) if text.startswith("[bob]")]
    assert not relayed, _("alice received {lines}: a line is a message only once its b'\\n' has arrived").format(
        lines=relayed)


@pytest.mark.points(2, hint="busy-loop")
def test_the_server_rests_after_a_client_closes_while_the_others_stay(scenario):
    """bob says a last line and closes his connection (FIN): once alice has the line, the server's next
    recv() for bob returns b"" at once. Then nothing happens, and the server must rest."""
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.send(bob, "bye for now")
    hang_up(scenario, bob)
    with scenario.setting_up("relaying"):
        alice.expect("[bob] bye for now")
    share = scenario.busy_share_while_idle(host)
    assert share < SPIN_SHARE, _("after bob closed his connection the server was busy {share} of the time on a "
                                 "core: a thread is spinning, probably on recv() returning b'' ({stacks})").format(
                                     share=f"{share:.0%}", stacks=host.stacks())


@pytest.mark.points(3, hint="busy-loop")
def test_the_server_rests_after_a_send_to_a_vanished_client_fails(scenario):
    """bob resets while the server still lists him (a gate holds its recv() for him); alice's line is
    sent to him and fails; only when the thread that sent it is done with the failure may the
    server's thread for bob go on. That is the order in which a "remove the dead client" fix in the
    broadcast meets bob's own clean-up. Then nothing happens (alice stays connected), and the
    server must rest."""
    host = scenario.server(faults={"gates": True})
    alice, bob = scenario.join(host, "alice", "bob")
    done_announcing(scenario, alice, bob)
    with vanished_but_listed(scenario, host, bob) as bob_port:
        if threads_not_held(host):
            gate(host, "hold", bob_port)
            scenario.send(alice, "are you still there, bob?")
            wait_held(scenario, host, bob_port, _("the server's send of alice's line to bob"),
                      _("does the server relay each line to every other member?"))
            sender = thread_held_at_a_send(host)
            scenario.step(_("(the send to bob may go on: it fails; the grader waits until the thread that sent it, "
                            "{sender}, reads again or ends)").format(sender=repr(sender)))
            gate(host, "release", bob_port)
            if sender:
                wait_until_reading_or_gone(host, sender)
        else:  # the thread held is the only one: nothing can send to bob before his own clean-up
            scenario.step(_("(the server's only thread is the one held: nothing can send to bob meanwhile)"))
    share = scenario.busy_share_while_idle(host)
    assert share < SPIN_SHARE, _("after a send to bob, who had vanished, failed, the server was busy {share} of "
                                 "the time on a core: a thread is spinning ({stacks})").format(
                                     share=f"{share:.0%}", stacks=host.stacks())


@pytest.mark.points(2, hint="reset")
def test_the_sockets_of_departed_clients_are_closed(scenario):
    """Forty clients come and go (FIN and RST in turn): the server's open descriptors must come back
    to where they were (psutil: file descriptors, or handles on Windows)."""
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    baseline = open_descriptors(host)
    cycles = 40
    scenario.step(_("{cycles} times: bob joins, then vanishes (a FIN, then a reset, in turn); alice waits for "
                    "'* bob left' each time").format(cycles=cycles))
    for cycle in range(cycles):
        with scenario.setting_up("joining"):
            client = host.join("bob", members=[alice])[0]
        if cycle % 2:
            reset(scenario, client, record=False)
        else:
            client.close()
        with scenario.setting_up("leaving"):
            alice.expect("* bob left")
    now, deadline = open_descriptors(host), time.monotonic() + 1.0
    while now > baseline + 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # the last thread may still be closing its socket
        now = open_descriptors(host)
    assert now <= baseline + 1, _("the server had {baseline} descriptors open with alice connected, and {now} "
                                  "after {cycles} clients came and went: it does not close their sockets").format(
                                      baseline=baseline, now=now, cycles=cycles)


# --- the server's shape (pitfalls 16, 17, 19, 22; the assignment) ----------------------------

@pytest.mark.points(2, hint="sendall")
def test_relayed_lines_arrive_whole_when_send_may_send_only_a_few_bytes(scenario):
    host = scenario.server(faults={"send_cap": 7})
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.send(alice, "a line much longer than seven bytes, relayed whole")
    bob.expect("[alice] a line much longer than seven bytes, relayed whole")


@pytest.mark.points(3, hint="send-lock")
def test_two_threads_sending_to_one_client_never_mix_their_lines(scenario):
    """Two threads of the server send to bob at once: alice's, relaying her line, and another
    (lab 3: carol's, relaying hers; lab 2, two seats: bob's own, answering his /quit). The
    grader holds the first halfway through its sendall() (the sandbox's gates); the second
    must wait for it (a lock per connection), or its line lands inside alice's."""
    host = scenario.server(faults={"gates": True})
    alice, bob, *others = scenario.join(host, *("alice", "bob", "carol")[:3 if scenario.lab.number == 3 else 2])
    for speaker in (alice, *others):  # else a late "* NICK joined" to bob could be the send held
        done_announcing(scenario, speaker, bob)
    bob_port = port_of(bob)
    gate(host, "hold-midway", bob_port)
    line = "a line that the server will send to bob in two halves"
    scenario.send(alice, line, _("(the server's send of it to bob is held halfway through)"))
    wait_held(scenario, host, bob_port, _("the server's send of alice's line to bob"),
              _("does the server relay each line to the other members?"))
    if others:
        second, other = "[carol] and one from carol meanwhile", others[0]
        scenario.send(other, second[len("[carol] "):], _("(carol's thread sends it to bob now)"))
    else:
        second, other = "* bye", bob
        scenario.send(bob, "/quit", _("(bob's own thread answers \"* bye\" now)"))
    wait_until_read(scenario, host, other)
    scenario.step(_("(the grader waits until every thread of the server waits: the second line is sent, "
                    "or it waits its turn)"))
    host.wait_silent()
    scenario.step(_("(the send of alice's line to bob may go on)"))
    gate(host, "release", bob_port)
    bob.expect(f"[alice] {line}")
    expect_anywhere(bob, second)


@pytest.mark.points(2, hint="handshake-in-accept")
def test_a_client_that_never_sends_a_nickname_does_not_block_the_others(scenario):
    host = scenario.server()
    silent = scenario.connect(host, "silent")
    scenario.step(_("silent sends nothing at all"))
    alice, = scenario.join(host, "alice")
    scenario.send(silent, "xavier", _("(at last)"))
    silent.expect("* welcome xavier")
    alice.expect("* xavier joined")


@pytest.mark.points(3, hint="thread-per-client")
def test_every_client_is_served_by_a_thread_of_its_own(scenario):
    host = scenario.server()
    nicks = ("alice", "bob", "carol")[:2 if scenario.lab.number == 2 else 3]
    scenario.join(host, *nicks)
    scenario.step(ngettext("{count} client is connected and idle: each should have a thread blocked reading it",
                           "{count} clients are connected and idle: each should have a thread blocked reading it",
                           len(nicks)).format(count=len(nicks)))
    deadline = time.monotonic() + 2.0
    reading, where = threads_reading(host)
    while len(reading) < len(nicks) and time.monotonic() < deadline:  # a thread may still be finishing a send
        time.sleep(0.02)
        reading, where = threads_reading(host)
    assert len(reading) >= len(nicks), ngettext("with {count} idle clients, {reading} thread of the server is "
                                                "waiting to read: {where}",
                                                "with {count} idle clients, {reading} of the server's threads are "
                                                "waiting to read: {where}", len(reading)).format(
        count=len(nicks), reading=len(reading), where=where or _("none is in the submission"))


@pytest.mark.points(1, hint="stop")
def test_shutdown_returns_promptly_with_clients_connected(scenario):
    host = scenario.server()
    scenario.join(host, "alice", "bob")
    host.wait_silent(timeout=2)  # the accepting thread is back in accept(), not about to look at a stop flag
    scenario.step(_("the grader calls the server's shutdown()"))
    problem = host.stop()
    assert not problem, problem


# --- what reaches a terminal (PROTOCOL.md, "Control characters") -------------------------------

# ASCII only, and each line in a recv() of its own: a wrong codec and framing are other tests' points.
CONTROL_LINES = (  # (what alice sends, what bob must receive)
    (b"hi\x1b[2J\x1b[31m\n", "[alice] hi\ufffd[2J\ufffd[31m"),  # ESC [2J clears a screen, ESC [31m paints it red
    (b"a\tb\x07\x7f\n", "[alice] a\tb\ufffd\ufffd"),  # a tab stays; BEL and DEL do not
    (b"x\r[bob] I owe alice 100\n", "[alice] x\ufffd[bob] I owe alice 100"),  # a bare \r would hide "[alice] x"
)


@pytest.mark.points(2, hint="control-characters")
def test_control_characters_reach_the_others_as_u_fffd_and_a_tab_as_it_is(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    mark = len(bob.received)
    notes = (_("(ESC [2J would clear bob's screen, ESC [31m paint it red)"), _("(a tab, then BEL and DEL)"),
             _("(a bare \\r inside the line: on a terminal, '[bob] ...' would write over '[alice] x')"))
    for (data, _wanted), note in zip(CONTROL_LINES, notes):
        scenario.send(alice, data, note)
        wait_until_read(scenario, host, alice)
    scenario.send(alice, "end", _("(a sentinel: bob gets it after alice's other lines)"))
    with scenario.setting_up("relaying"):
        bob.expect("[alice] end")
    got, expected = since(bob, mark), [wanted for _data, wanted in CONTROL_LINES] + ["[alice] end"]
    if got != expected:  # not lines_must_be(): these lines differ from the expected ones in control characters only
        raise AssertionError(_("bob received {got}, expected {expected}: every control character but tab must "
                               "reach the others as U+FFFD ('\\ufffd')").format(got=got, expected=expected))
