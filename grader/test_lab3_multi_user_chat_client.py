"""Lab 3, the chat CLIENT (PROTOCOL.md, "Rules for every lab" and "Lab 3"), run as a person runs it.

A lab 3 client speaks exactly as a lab 2 client does (the nickname line, then typed lines;
it prints every line the server sends; /quit at the end of input): the lab 2 client's
scenarios run again here, against lab 3's client.py (see test_lab2_two_user_chat_client.py).
"""
from chatlab.catalog import find_lab
from grader.test_lab2_two_user_chat_client import (  # noqa: F401  (pytest collects them here, for lab 3)
    test_a_cyrillic_line_cut_inside_a_letter_at_byte_1024_is_printed_whole_and_so_is_the_next,
    test_a_line_that_arrives_in_two_pieces_is_printed_whole,
    test_at_the_end_of_input_the_client_sends_quit_and_exits_when_the_server_closes,
    test_bytes_that_are_not_utf8_are_shown_and_do_not_stop_the_client,
    test_lines_from_the_server_are_printed_while_nothing_is_typed,
    test_the_client_sends_its_nickname_first_then_each_typed_line_in_utf8_ending_in_a_newline,
    test_two_lines_that_arrive_together_are_both_printed,
    test_when_the_server_closes_the_connection_the_client_stops_printing_and_exits,
)

LAB = find_lab("lab3")
