"""Lab 4, the UDP chat CLIENT (PROTOCOL.md, "Rules for every lab" and "Lab 4"), run as a person runs it.

`python client.py --host 127.0.0.1 --port P --name Иван` talks to a scripted UDP server of
the grader's, which learns the client's address from its first datagram, checks what it
sends (one datagram per message, UTF-8) and sends it datagrams of its own.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.i18n import _
from grader.test_lab2_two_user_chat_client import (  # noqa: F401  (pytest collects it here, for lab 4)
    test_lines_from_the_server_are_printed_while_nothing_is_typed,
)

LAB = find_lab("lab4")
NICK = "Иван"


def joined(scenario):
    """The grader's server and the student's client, which has sent `/join Иван`."""
    server = scenario.fake_server()
    client = scenario.student_client(server, NICK)
    server.expect(f"/join {NICK}")
    return server, client


@pytest.mark.points(2, hint="udp-join")
def test_the_client_joins_with_slash_join_then_sends_each_typed_line_as_one_utf8_datagram(scenario):
    server, client = joined(scenario)
    server.send_line(f"* welcome {NICK}")
    client.type("привет, мир")
    server.expect("привет, мир")
    client.type("/users")
    server.expect("/users")


@pytest.mark.points(3, hint="udp-size")
def test_a_2000_byte_datagram_and_a_1201_byte_cyrillic_one_are_printed_whole(scenario):
    server, client = joined(scenario)
    ascii_line = "[bob] " + "x" * 1993
    cyrillic_line = "a" + "П" * 600
    server.send_line(ascii_line)
    client.expect_printed(ascii_line)
    server.send_line(cyrillic_line)
    client.expect_printed(cyrillic_line)
    server.send_line("[bob] after the long ones")
    client.expect_printed("[bob] after the long ones")


@pytest.mark.points(2, hint="client-decode")
def test_bytes_that_are_not_utf8_are_shown_and_do_not_stop_the_client(scenario):
    server, client = joined(scenario)
    server.send_bytes(b"[bob] \xff\xfe not utf-8\n", _("(not UTF-8)"))
    client.expect_printed("not utf-8")
    server.send_line("[bob] still here")
    client.expect_printed("[bob] still here")


@pytest.mark.points(2, hint="client-quit")
def test_at_the_end_of_input_the_client_sends_slash_leave_and_exits(scenario):
    server, client = joined(scenario)
    server.send_line(f"* welcome {NICK}")
    client.end_input()
    server.expect("/leave", skip=True)
    server.send_line("* bye")
    client.wait_exit()


@pytest.mark.points(2, hint="udp-leave")
def test_the_client_sends_slash_ping_keepalives_by_itself(scenario):
    server = scenario.fake_server()
    scenario.student_client(server, NICK, "--keepalive", "0.2")
    server.expect(f"/join {NICK}")
    scenario.step(_("nothing is typed: within 3 s a /ping must arrive (the client runs with --keepalive 0.2)"))
    server.expect("/ping", timeout=3)


@pytest.mark.points(1, hint="udp-size")
def test_a_line_too_long_for_one_datagram_does_not_crash_the_client(scenario):
    server, client = joined(scenario)
    scenario.step(_("a line of 70,000 bytes is typed: more than one UDP datagram can carry (65,507)"))
    client.type("x" * 70_000)
    client.type("still alive")
    server.expect("still alive", skip=True)
