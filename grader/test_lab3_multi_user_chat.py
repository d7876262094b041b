"""Lab 3, multi-user chat over TCP (PROTOCOL.md, "Lab 3", and "Rules for every lab").

Any number of members; each line goes to every other member; /users, /msg and /quit are
commands. Everything lab 2 promises still holds: the shared scenarios of
grader/chat_scenarios.py run here against lab 3. This module adds the commands, the races
of a room shared by many threads (made certain with the sandbox's gates, see
chatlab/sandbox/child.py), fifty clients at once, and a client that never reads.
"""
import contextlib
import socket

import pytest

from chatlab.catalog import find_lab
from chatlab.harness.clients import ScriptedClient
from chatlab.harness.waiting import WAIT, ExpectationError, lines_must_be
from chatlab.i18n import _, ngettext
from grader.chat_scenarios import (  # noqa: F401  (pytest collects the imported scenarios here)
    done_announcing,
    expect_anywhere,
    gate,
    hang_up,
    leaves_before_naming_itself,
    port_of,
    since,
    test_a_client_that_closes_resets_or_dies_mid_line_is_announced_as_left,
    test_a_client_that_never_sends_a_nickname_does_not_block_the_others,
    test_a_cyrillic_nickname_and_cyrillic_lines_work,
    test_a_letter_cut_between_two_recv_calls_arrives_whole,
    test_a_line_over_4096_bytes_is_refused_and_the_connection_goes_on,
    test_a_line_sent_in_two_pieces_arrives_as_one_message,
    test_a_long_cyrillic_line_and_the_line_after_it_arrive_whole,
    test_an_unfinished_line_is_dropped_when_its_sender_disconnects,
    test_control_characters_reach_the_others_as_u_fffd_and_a_tab_as_it_is,
    test_empty_lines_are_ignored,
    test_every_client_is_served_by_a_thread_of_its_own,
    test_invalid_utf8_is_replaced_and_the_sender_stays_connected,
    test_lines_ending_in_crlf_work_like_lines_ending_in_lf,
    test_megabytes_without_a_newline_do_not_fill_the_servers_memory,
    test_quit_is_never_relayed_to_the_others,
    test_quit_says_bye_closes_the_connection_and_tells_the_other,
    test_relayed_lines_arrive_whole_when_send_may_send_only_a_few_bytes,
    test_shutdown_returns_promptly_with_clients_connected,
    test_taken_and_invalid_nicknames_are_refused_until_a_good_one_comes,
    test_the_sender_never_receives_its_own_line,
    test_the_server_names_the_author_so_nobody_can_speak_as_someone_else,
    test_the_server_rests_after_a_client_closes_while_the_others_stay,
    test_the_server_rests_after_a_send_to_a_vanished_client_fails,
    test_the_sockets_of_departed_clients_are_closed,
    test_two_clients_asking_for_one_free_nickname_at_once_do_not_both_get_it,
    test_two_lines_sent_in_one_segment_arrive_as_two_messages,
    test_two_threads_sending_to_one_client_never_mix_their_lines,
    vanished_but_listed,
    wait_held,
)

LAB = find_lab("lab3")
# The test that checks each feature other scenarios need before they get to their point
# (Scenario.setting_up): when one of those steps fails, the report points here.
FEATURE_TESTS = {
    "joining": "test_members_are_welcomed_announced_and_hear_each_other",
    "leaving": "test_a_client_that_closes_resets_or_dies_mid_line_is_announced_as_left",
    "quitting": "test_quit_says_bye_closes_the_connection_and_tells_the_other",
    "relaying": "test_members_are_welcomed_announced_and_hear_each_other",
}

USAGE = "! usage: /msg NICK TEXT"


@pytest.mark.points(3, hint="protocol")
def test_members_are_welcomed_announced_and_hear_each_other(scenario):
    host = scenario.server()
    carol, alice, bob = scenario.join(host, "carol", "alice", "bob")
    scenario.send(alice, "hi all")
    bob.expect("[alice] hi all")
    carol.expect("[alice] hi all")
    scenario.send(carol, "done", _("(after alice's line: alice's transcript is complete once she has it)"))
    alice.expect("[carol] done")
    bob.expect("[carol] done")
    lines_must_be(alice, since(alice), ["* welcome alice", "[carol] done"])
    lines_must_be(bob, since(bob), ["* welcome bob", "[alice] hi all", "[carol] done"])
    lines_must_be(carol, since(carol)[:2], ["* welcome carol", "[alice] hi all"])
    for client in (alice, bob, carol):
        assert f"* {client.name} joined" not in client.texts(), _("{name} was told of its own joining").format(
            name=client.name)


@pytest.mark.points(2, hint="commands")
def test_users_lists_the_members_sorted_and_an_unknown_command_gets_an_error(scenario):
    host = scenario.server()
    carol, alice, bob = scenario.join(host, "carol", "alice", "bob")
    bob_mark = len(bob.received)
    scenario.send(carol, "/users")
    carol.expect("* users: alice, bob, carol")
    hang_up(scenario, alice)
    with scenario.setting_up("leaving"):
        bob.expect("* alice left")
    lines_must_be(bob, since(bob, bob_mark), ["* alice left"])
    scenario.send(bob, "/users")
    bob.expect("* users: bob, carol")
    scenario.send(bob, "/dance wildly")
    bob.expect("! unknown command: /dance (try /users, /msg NICK TEXT, /quit)")
    scenario.send(bob, "still here")
    carol.expect("[bob] still here")
    lines_must_be(carol, since(carol)[-3:], ["* users: alice, bob, carol", "* alice left", "[bob] still here"])


@pytest.mark.points(3, hint="commands")
def test_msg_reaches_only_its_recipient_and_mistakes_get_an_error(scenario):
    host = scenario.server()
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    alice_mark, carol_mark = len(alice.received), len(carol.received)
    scenario.send(alice, "/msg bob psst,  only for you")
    bob.expect("[alice -> bob] psst,  only for you")
    scenario.send(alice, "public", _("(a sentinel: carol gets it after anything alice's /msg sent her)"))
    carol.expect("[alice] public")
    lines_must_be(carol, since(carol, carol_mark), ["[alice] public"])
    for line, answer in (("/msg dave hi", "! no such user: dave"), ("/msg bob", USAGE), ("/msg", USAGE)):
        scenario.send(alice, line)
        alice.expect(answer)
    scenario.send(bob, "marker")
    alice.expect("[bob] marker")
    lines_must_be(alice, since(alice, alice_mark), ["! no such user: dave", USAGE, USAGE, "[bob] marker"])


@pytest.mark.points(2, hint="ghost")
def test_a_client_that_leaves_before_naming_itself_is_never_listed(scenario):
    host = scenario.server()
    leaves_before_naming_itself(scenario, host)
    alice, = scenario.join(host, "alice")
    scenario.send(alice, "/users")
    alice.expect("* users: alice", fail_on="* users:")


@pytest.mark.points(3, hint="dead-client")
def test_a_member_that_vanished_does_not_cut_a_broadcast_short(scenario):
    host = scenario.server(faults={"gates": True})
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    done_announcing(scenario, alice, carol)
    with vanished_but_listed(scenario, host, bob):
        scenario.send(alice, "after bob vanished", _("(the send to bob fails: carol, after bob, must still get it)"))
        carol.expect("[alice] after bob vanished")


@pytest.mark.points(3, hint="lock")
def test_a_member_leaving_during_a_broadcast_does_not_make_it_skip_anyone(scenario):
    host = scenario.server(faults={"gates": True})
    alice, bob, carol, dave = scenario.join(host, "alice", "bob", "carol", "dave")
    bob_port = port_of(bob)
    gate(host, "hold", bob_port)
    scenario.send(dave, "hello all", _("(the server's send to bob will be held mid-broadcast)"))
    wait_held(scenario, host, bob_port, _("the server's send of dave's line to bob"),
              _("does the server relay each line to every other member?"))
    hang_up(scenario, alice)
    scenario.step(_("(while dave's line is on its way: the grader waits until carol is told that alice left)"))
    with contextlib.suppress(ExpectationError):  # a server that holds its lock while it sends removes alice later
        carol.expect("* alice left")
    scenario.step(_("(the send to bob may go on)"))
    gate(host, "release", bob_port)
    for member in (carol, bob):
        expect_anywhere(member, "[dave] hello all")  # carol may have had it before "* alice left"


@pytest.mark.points(4, hint="load")
def test_fifty_clients_chatting_at_once_lose_duplicate_or_reorder_nothing(scenario):
    host = scenario.server()
    nicks = [f"c{number:02d}" for number in range(50)]
    clients = scenario.join(host, *nicks)
    lines = {nick: [f"{nick} line {k}: привет" + "!" * (k * 7 % 30) for k in range(4)] for nick in nicks}
    marks = {client.name: len(client.received) for client in clients}
    scenario.step(_("every client sends its 4 lines at once (one sendall each)"))
    for client in clients:
        client.send_bytes("".join(f"{line}\n" for line in lines[client.name]).encode())
    scenario.step(_("every client waits for every other client's last line"))
    for client in clients:
        awaited = {f"[{nick}] {lines[nick][-1]}" for nick in nicks if nick != client.name}
        while awaited:
            awaited.discard(client.expect(*awaited))
    for client in clients:
        got = since(client, marks[client.name])
        for nick in nicks:
            mine = [text for text in got if text.startswith(f"[{nick}] ")]
            wanted = [] if nick == client.name else [f"[{nick}] {line}" for line in lines[nick]]
            assert mine == wanted, _("{name} received from {nick}: {got}, expected {wanted}").format(
                name=client.name, nick=nick, got=mine, wanted=wanted)
        strays = [text for text in got if not text.startswith("[")]
        assert not strays, _("{name} also received {lines}").format(name=client.name, lines=strays)


class NonReader(ScriptedClient):
    """A client with a 4 KB receive buffer that sends its nickname and then never reads again."""

    BUFFER = 4096  # bytes: its receive buffer, which the server's lines soon fill

    def __init__(self, address, name: str):
        super().__init__(name)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.BUFFER)  # before connect: the window is set then
        self.sock.settimeout(WAIT)
        self.sock.connect(address)
        self.sock.sendall(f"{name}\n".encode())

    def close(self) -> None:
        self.sock.close()


def join_sleeper(scenario, host, members) -> NonReader:
    """A client that names itself "sleeper" and never reads again; each of `members` is told it joined."""
    scenario.step(_("sleeper connects with a {size} KB receive buffer, names itself, and never reads again").format(
        size=NonReader.BUFFER // 1024))
    sleeper = NonReader(host.address, "sleeper")
    host.clients.append(sleeper)  # closed with the other clients, after the report
    with scenario.setting_up("joining"):
        for member in members:
            member.expect("* sleeper joined")
    return sleeper


def wait_until_full(scenario, host, sleeper, timeout: float = WAIT) -> None:
    """Wait (bounded) until a send of the server's to `sleeper` is stuck: its buffers are full, and
    from then on whatever sends to it waits (the sandbox sees the send, on every OS)."""
    scenario.step(_("(the grader waits until the sleeper's buffers are full: a send to it now waits)"))
    if not host.wait_send_stuck(port_of(sleeper), timeout):
        scenario.step(_("(no send to the sleeper was stuck after {seconds} s: the server sends it less than that)")
                      .format(seconds=f"{timeout:g}"))


@pytest.mark.points(3, hint="send-under-lock")
def test_a_client_that_never_reads_does_not_stop_the_others_joining_listing_or_leaving(scenario):
    """PROTOCOL.md, lab 3: a client that stops reading never slows the others. Here its buffers are
    full, so a thread that sends to it waits; meanwhile the others must still be able to join, ask
    /users and leave. (That every line still reaches everyone else, and that such a client is
    dropped, is the bonus test's point.)"""
    host = scenario.server(faults={"sndbuf": 4096})
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    scenario.hint("commands")
    scenario.send(carol, "/users", _("(before the sleeper: /users works)"))
    carol.expect("* users: alice, bob, carol")
    erin, = scenario.join(host, "erin")
    hang_up(scenario, erin)
    with scenario.setting_up("leaving"):  # before the sleeper: leaving works
        alice.expect("* erin left")
    scenario.hint("send-under-lock")
    sleeper = join_sleeper(scenario, host, (alice, bob, carol))
    scenario.send(alice, "".join(f"{n:02d} " + "z" * 4000 + "\n" for n in range(16)).encode(),
                  _("(16 lines of 4 KB: far more than the sleeper's buffers hold)"))
    wait_until_full(scenario, host, sleeper)
    zoe = scenario.connect(host, "zoe")  # a name that sorts last: the order of /users is another test's point
    scenario.send(zoe, "zoe", _("(joining needs the list of members)"))
    zoe.expect("* welcome zoe")
    scenario.send(carol, "/users", _("(so does /users)"))
    carol.expect("* users: alice, bob, carol, sleeper, zoe", "* users: alice, bob, carol, zoe")
    hang_up(scenario, bob)
    scenario.step(_("(and so does leaving)"))
    carol.expect("* bob left")


@pytest.mark.points(3, bonus=True, hint="slow-reader")
def test_a_client_that_never_reads_neither_stalls_the_room_nor_stays_for_ever(scenario):
    """PROTOCOL.md, lab 3: lines for a client that stops reading wait in a queue of its own, and
    past 1 MiB it is disconnected and announced as left. Here alice speaks in windows of 64 KB,
    each paced by carol, who reads: every window must reach carol in time, and the non-reader
    must be gone before 6 MiB (a writer thread may hold up to 1 MiB it took from the queue
    before it blocked, so 2 MiB and a little are certain to pass the limit)."""
    host = scenario.server(faults={"sndbuf": 4096})
    alice, carol = scenario.join(host, "alice", "carol")
    join_sleeper(scenario, host, (alice, carol))
    window = [f"{n:03d} " + "z" * 4000 for n in range(16)]  # 16 lines of ~4 KB: 64 KB
    windows = 96                                             # 6 MiB at most: a margin for loaded machines
    scenario.step(_("alice sends windows of 16 lines of 4 KB (at most {windows}, until the sleeper is dropped); "
                    "carol must get each before the next").format(windows=windows))
    for number in range(windows):
        alice.send_bytes("".join(f"w{number:02d} {line}\n" for line in window).encode())
        carol.expect(f"[alice] w{number:02d} {window[-1]}")
        if "* sleeper left" in carol.texts():
            break
    scenario.step(ngettext("after {count} window for a client that reads nothing, the server must have dropped it",
                           "after {count} windows for a client that reads nothing, the server must have dropped it",
                           number + 1).format(count=number + 1))
    for reader in (carol, alice):
        expect_anywhere(reader, "* sleeper left")  # it may have come between two windows
    scenario.send(carol, "the room goes on")
    alice.expect("[carol] the room goes on")
