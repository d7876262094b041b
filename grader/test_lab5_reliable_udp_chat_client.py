"""Lab 5, the reliable UDP chat CLIENT (PROTOCOL.md, "Lab 5"), run as a person runs it.

`python client.py --host 127.0.0.1 --port P --name Иван` talks to a scripted UDP server of
the grader's that speaks lab 5 itself (chatlab.grading.fake_server.ReliableFakeServer): it
checks each numbered line the client sends (`D n line`), acknowledges it or, to play a lost
datagram, does not; it sends numbered lines of its own, copies and lines out of their turn
included, and checks the client's acknowledgements (`A n`) and what it prints. Over loopback
nothing is lost by accident: every loss, copy and overtaking is the test's, and certain.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.harness.waiting import describe
from chatlab.i18n import _

LAB = find_lab("lab5")
# What a scenario needs working before it gets to its point (Scenario.setting_up): when one of those steps
# fails, the report points to the test that checks it.
FEATURE_TESTS = {
    "joining": "test_the_client_joins_as_line_1_then_sends_each_typed_line_as_the_next_numbered_utf8_datagram",
    "acknowledging": "test_each_line_from_the_server_is_acknowledged_by_number_and_printed_while_nothing_is_typed",
}
NICK = "Иван"
RETRANSMIT_WAIT = 3.0   # seconds: the first timeout is 0.5 s, doubled up to 1 s (PROTOCOL.md); generous under load


def joined(scenario):
    """The grader's server and the student's client, whose line 1, `/join Иван`, was acknowledged."""
    server = scenario.fake_server()
    client = scenario.student_client(server, NICK)
    with scenario.setting_up("joining"):
        server.expect_data(1, f"/join {NICK}")
    return server, client


def welcomed(scenario):
    """Like joined(), once the client has printed the server's line 1, its welcome."""
    server, client = joined(scenario)
    server.send_data(1, f"* welcome {NICK}")
    client.expect_printed(f"* welcome {NICK}")
    return server, client


def check(ok: bool, problem: str) -> None:
    """Fail with `problem` alone."""
    if not ok:
        raise AssertionError(problem)


@pytest.mark.points(3, hint="rudp-client-send")
def test_the_client_joins_as_line_1_then_sends_each_typed_line_as_the_next_numbered_utf8_datagram(scenario):
    server, client = joined(scenario)
    server.send_data(1, f"* welcome {NICK}")
    client.type("привет, мир")
    server.expect_data(2, "привет, мир")
    client.type("/users")
    server.expect_data(3, "/users")


@pytest.mark.points(3, hint="rudp-client-retransmit")
def test_a_line_that_is_not_acknowledged_is_sent_again_and_the_next_waits_for_its_acknowledgement(scenario):
    server, client = joined(scenario)
    client.type("first")
    client.type("second")
    server.expect_data(2, "first", ack=False)
    scenario.step(_("the grader's server does not acknowledge line 2, as if its datagram were lost: within {seconds} s "
                    "the client must send the same line 2 again, and not line 3").format(
                        seconds=f"{RETRANSMIT_WAIT:g}"))
    server.expect_data(2, "first", timeout=RETRANSMIT_WAIT, ack=False)
    scenario.step(_("the grader's server now acknowledges line 2: line 3 may follow"))
    server.ack(2)
    server.expect_data(3, "second")


@pytest.mark.points(2, hint="rudp-client-ack")
def test_each_line_from_the_server_is_acknowledged_by_number_and_printed_while_nothing_is_typed(scenario):
    server, client = joined(scenario)
    server.send_data(1, f"* welcome {NICK}")
    server.expect_ack(1)
    client.expect_printed(f"* welcome {NICK}")
    server.send_data(2, f"[bob] hi {NICK}, nobody has typed anything yet")
    server.expect_ack(2)
    client.expect_printed(f"[bob] hi {NICK}, nobody has typed anything yet")


@pytest.mark.points(3, hint="rudp-duplicate")
def test_a_copy_of_a_line_is_acknowledged_again_but_printed_once(scenario):
    server, client = joined(scenario)
    with scenario.setting_up("acknowledging"):
        server.send_data(1, f"* welcome {NICK}")
        server.expect_ack(1)
        client.expect_printed(f"* welcome {NICK}")
    server.send_data(1, f"* welcome {NICK}", _("(a copy: as if the client's 'A 1' had been lost on the way)"))
    server.expect_ack(1)
    server.send_data(2, "[bob] after the copy")
    server.expect_ack(2)
    client.expect_printed("[bob] after the copy")
    welcomes = [line for line in client.printed if f"* welcome {NICK}" in line]
    check(len(welcomes) == 1, _("the client printed line 1 {count} times: {lines}; a copy must be acknowledged "
                                "again but not printed again").format(count=len(welcomes), lines=describe(welcomes)))


@pytest.mark.points(3, hint="rudp-order")
def test_a_line_that_overtakes_the_one_before_it_is_printed_after_it(scenario):
    server, client = welcomed(scenario)
    server.send_data(3, "[bob] third", _("(it overtook line 2, which comes next)"))
    server.send_data(2, "[bob] second")
    server.send_data(3, "[bob] third", _("(again, as the server sends a line not acknowledged: a client that did "
                                         "not keep it needs it)"))
    server.send_data(4, "[bob] fourth")
    client.expect_printed("[bob] fourth")
    texts = ["[bob] second", "[bob] third", "[bob] fourth"]
    printed = [line for line in client.printed if any(text in line for text in texts)]
    first = [next((index for index, line in enumerate(printed) if text in line), None) for text in texts]
    check(None not in first and first == sorted(first), _(
        "the client printed {printed}: lines 2, 3 and 4 must be printed in that order, line 3 only after line 2, "
        "which it overtook").format(printed=describe(printed)))


@pytest.mark.points(2, hint="rudp-bad-datagram")
def test_garbage_a_number_far_ahead_and_an_acknowledgement_for_nothing_are_ignored(scenario):
    server, client = welcomed(scenario)
    server.send_bytes(b"hello\n", _("(neither 'D n line' nor 'A n')"))
    server.send_bytes(b"A 99\n", _("(an acknowledgement of a line never sent)"))
    server.send_data(999999, "far ahead", _("(a number far ahead)"))
    server.send_data(2, "[bob] still here")
    client.expect_printed("[bob] still here")
    ignored = [line for line in client.printed if line == "hello" or "far ahead" in line]
    check(not ignored, _("the client printed {lines}: a datagram that is not 'D n line' in its turn must not be "
                         "printed").format(lines=describe(ignored)))
    client.type("after the garbage")
    server.expect_data(2, "after the garbage")


@pytest.mark.points(2, hint="client-decode")
def test_a_line_that_is_not_utf8_is_shown_and_does_not_stop_the_client(scenario):
    server, client = welcomed(scenario)
    server.send_bytes(b"D 2 [bob] \xff\xfe not utf-8\n", _("(not UTF-8)"))
    client.expect_printed("not utf-8")
    server.send_data(3, "[bob] still here")
    client.expect_printed("[bob] still here")


@pytest.mark.points(2, hint="client-quit")
def test_at_the_end_of_input_the_client_sends_slash_leave_as_its_next_line_and_exits(scenario):
    server, client = welcomed(scenario)
    client.end_input()
    server.expect_data(2, "/leave")
    server.send_data(2, "* bye")
    client.wait_exit()
