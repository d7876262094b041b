"""Lab 2, the chat CLIENT (PROTOCOL.md, "Rules for every lab" and "Lab 2"), run as a person runs it.

`python client.py --host 127.0.0.1 --port P --name Иван` talks to a scripted server of the
grader's, which checks what the client sends byte for byte and sends it lines, cut where
TCP may cut them. Lab 3's client speaks the same way: test_lab3_multi_user_chat_client.py
runs these scenarios again against it.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.i18n import _

LAB = find_lab("lab2")
NICK = "Иван"  # a Cyrillic nickname: the client must send UTF-8, from the command line on


def started(scenario):
    """The grader's server and the student's client, connected (nothing sent or read yet)."""
    server = scenario.fake_server()
    client = scenario.student_client(server, NICK)
    return server, client


def reachable(scenario):
    """Like started(), once the grader's server can send to the client.

    Over TCP that is at once; over UDP (lab 4 runs the scenarios that use this) only after the
    client's first datagram, /join NICK, has told the server its address. The nickname line
    itself is graded by its own test, so a TCP client is not asked for it here.
    """
    server, client = started(scenario)
    if scenario.lab.transport == "udp":
        server.expect(f"/join {NICK}")
    return server, client


@pytest.mark.points(2, hint="protocol")
def test_the_client_sends_its_nickname_first_then_each_typed_line_in_utf8_ending_in_a_newline(scenario):
    server, client = started(scenario)
    server.expect(NICK)
    server.send_line(f"* welcome {NICK}")
    client.type("привет, мир")
    server.expect("привет, мир")
    client.type("/users")
    server.expect("/users")


@pytest.mark.points(3, hint="client-thread")
def test_lines_from_the_server_are_printed_while_nothing_is_typed(scenario):
    """Labs 3 and 4 run this scenario too: the assignment wants the client to receive in its own thread."""
    server, client = reachable(scenario)
    server.send_line(f"* welcome {NICK}")
    client.expect_printed(f"* welcome {NICK}")
    server.send_line(f"[bob] hi {NICK}, nobody has typed anything yet")
    client.expect_printed(f"[bob] hi {NICK}, nobody has typed anything yet")


@pytest.mark.points(2, hint="framing-split")
def test_a_line_that_arrives_in_two_pieces_is_printed_whole(scenario):
    server, client = started(scenario)
    server.send_split(b"[bob] one line, sent in two pieces\n", 10)
    client.expect_printed("[bob] one line, sent in two pieces")


@pytest.mark.points(2, hint="framing-merge")
def test_two_lines_that_arrive_together_are_both_printed(scenario):
    server, client = started(scenario)
    server.send_bytes(b"[bob] first\n[bob] second\n", _("(two lines in one segment)"))
    client.expect_printed("[bob] first")
    client.expect_printed("[bob] second")


@pytest.mark.points(3, hint="utf8-split")
def test_a_cyrillic_line_cut_inside_a_letter_at_byte_1024_is_printed_whole_and_so_is_the_next(scenario):
    server, client = started(scenario)
    long_line = "[bob] a" + "П" * 600
    data = f"{long_line}\n[bob] после\n".encode()
    assert 0x80 <= data[1024] < 0xC0, "the cut must fall inside a letter"
    server.send_split(data, 1024, _("(the cut falls inside a letter)"))
    client.expect_printed(long_line)
    client.expect_printed("[bob] после")


@pytest.mark.points(2, hint="client-decode")
def test_bytes_that_are_not_utf8_are_shown_and_do_not_stop_the_client(scenario):
    server, client = started(scenario)
    server.send_bytes(b"[bob] \xff\xfe not utf-8\n", _("(not UTF-8)"))
    client.expect_printed("not utf-8")
    server.send_line("[bob] still here")
    client.expect_printed("[bob] still here")


@pytest.mark.points(3, hint="client-eof")
def test_when_the_server_closes_the_connection_the_client_stops_printing_and_exits(scenario):
    server, client = started(scenario)
    server.send_line(f"* welcome {NICK}")
    client.expect_printed(f"* welcome {NICK}")
    server.close()
    scenario.step(_("the client should exit, printing at most a line or two"))
    client.wait_exit(max_output=1000)


@pytest.mark.points(2, hint="client-quit")
def test_at_the_end_of_input_the_client_sends_quit_and_exits_when_the_server_closes(scenario):
    server, client = started(scenario)
    client.end_input()
    server.expect("/quit", skip=True)
    server.send_line("* bye")
    server.close()
    client.wait_exit()
