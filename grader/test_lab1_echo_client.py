"""Lab 1, the echo CLIENT (PROTOCOL.md, "Rules for every lab" and "Lab 1"), run as a person runs it.

`python client.py --host 127.0.0.1 --port P` talks to a scripted echo server of the
grader's, which checks each typed line arrives as UTF-8 ending in b"\\n" and sends the echo
back, cut where TCP may cut it.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.i18n import _

LAB = find_lab("lab1")


def started(scenario):
    """The grader's echo server and the student's client, connected."""
    server = scenario.fake_server()
    client = scenario.student_client(server)
    return server, client


@pytest.mark.points(2, hint="protocol")
def test_a_typed_line_is_sent_in_utf8_ending_in_a_newline_and_its_echo_is_printed(scenario):
    server, client = started(scenario)
    for text in ("hello, echo", "Привет, эхо"):
        client.type(text)
        server.expect(text)
        server.send_line(text)
        client.expect_printed(text)


@pytest.mark.points(2, hint="utf8-split")
def test_an_echo_cut_inside_a_letter_at_byte_1024_is_printed_whole(scenario):
    server, client = started(scenario)
    text = "a" + "П" * 600
    client.type(text)
    server.expect(text)
    data = text.encode() + b"\n"
    assert 0x80 <= data[1024] < 0xC0, "the cut must fall inside a letter"
    server.send_split(data, 1024, _("(the cut falls inside a letter)"))
    client.expect_printed(text)


@pytest.mark.points(2, hint="client-quit")
def test_at_the_end_of_input_the_client_closes_its_sending_side_and_exits_cleanly(scenario):
    server, client = started(scenario)
    client.type("last line")
    server.expect("last line")
    server.send_line("last line")
    client.expect_printed("last line")
    client.end_input()
    server.expect_eof()
    code = client.wait_exit()
    assert code == 0, _("{name} exited with code {code}: {why}").format(name=client.name, code=code,
                                                                         why=client.fate() or _("an error"))


@pytest.mark.points(2, hint="client-eof")
def test_when_the_server_closes_before_echoing_the_client_exits_instead_of_waiting_forever(scenario):
    server, client = started(scenario)
    client.type("no echo for this one")
    server.expect("no echo for this one")
    server.close()
    scenario.step(_("the client should exit, printing at most a few lines"))
    client.wait_exit(max_output=2000)
