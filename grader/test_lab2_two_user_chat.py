"""Lab 2, two-user chat over TCP (PROTOCOL.md, "Lab 2", and "Rules for every lab").

Two members name themselves and relay lines to each other; a third connection is told the
chat is full. The scenarios every TCP chat shares (framing, UTF-8, CRLF, the line limit,
nicknames, leaving, CPU and sockets after a client vanishes, a thread per client) live in
grader/chat_scenarios.py and run here against lab 2; this module adds what only lab 2 does.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.harness.waiting import lines_must_be
from chatlab.i18n import _
from grader.chat_scenarios import (  # noqa: F401  (pytest collects the imported scenarios here)
    hang_up,
    leaves_before_naming_itself,
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
)

LAB = find_lab("lab2")
# The test that checks each feature other scenarios need before they get to their point
# (Scenario.setting_up): when one of those steps fails, the report points here.
FEATURE_TESTS = {
    "joining": "test_two_users_are_welcomed_announced_and_hear_each_other",
    "leaving": "test_a_client_that_closes_resets_or_dies_mid_line_is_announced_as_left",
    "quitting": "test_quit_says_bye_closes_the_connection_and_tells_the_other",
    "relaying": "test_two_users_are_welcomed_announced_and_hear_each_other",
}

FULL = "! chat is full (2 users)"


@pytest.mark.points(3, hint="protocol")
def test_two_users_are_welcomed_announced_and_hear_each_other(scenario):
    host = scenario.server()
    alice = scenario.connect(host, "alice")
    scenario.send(alice, "alice")
    alice.expect("* welcome alice")
    bob = scenario.connect(host, "bob")
    scenario.send(bob, "bob")
    bob.expect("* welcome bob")
    alice.expect("* bob joined")
    scenario.send(alice, "hi bob")
    bob.expect("[alice] hi bob")
    scenario.send(bob, "/users", _("(lab 2 knows only /quit: any other line is chat)"))
    alice.expect("[bob] /users")
    scenario.send(bob, "hi alice")
    alice.expect("[bob] hi alice")
    lines_must_be(alice, since(alice), ["* welcome alice", "[bob] /users", "[bob] hi alice"])
    lines_must_be(bob, since(bob), ["* welcome bob", "[alice] hi bob"])


@pytest.mark.points(3, hint="two-seats")
def test_a_third_client_is_told_the_chat_is_full_and_a_seat_frees_when_someone_leaves(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    carol = scenario.connect(host, "carol")
    scenario.send(carol, "carol", _("(at once: the server has unread data from carol when it closes)"))
    carol.expect(FULL)
    carol.expect_closed()
    lines_must_be(carol, carol.texts(), [FULL])
    scenario.send(alice, "still two of us")
    bob.expect("[alice] still two of us")
    hang_up(scenario, bob)
    with scenario.setting_up("leaving"):
        alice.expect("* bob left")
    carol, = scenario.join(host, "carol")
    alice.expect("* carol joined")
    scenario.send(carol, "a seat was free")
    alice.expect("[carol] a seat was free")


@pytest.mark.points(1, hint="protocol")
def test_a_line_sent_while_alone_gets_nobody_else_is_here_yet(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    scenario.send(alice, "anyone?")
    alice.expect("! nobody else is here yet")
    bob, = scenario.join(host, "bob")
    alice.expect("* bob joined")
    scenario.send(alice, "there you are")
    bob.expect("[alice] there you are")
    lines_must_be(bob, since(bob), ["* welcome bob", "[alice] there you are"])


@pytest.mark.points(2, hint="ghost")
def test_a_client_that_leaves_before_naming_itself_frees_its_seat(scenario):
    host = scenario.server()
    leaves_before_naming_itself(scenario, host)
    alice, = scenario.join(host, "alice")
    bob = scenario.connect(host, "bob")
    scenario.send(bob, "bob", _("(the second seat: the ghost's, if it was ever freed)"))
    bob.expect("* welcome bob", fail_on="! ")
