"""The tools the notebooks stand on: wiretap, lossy relay, pictures, TODO list and grade report."""
import shutil
import socket

import pytest

from chatlab.catalog import LABS, find_lab
from chatlab.harness.clients import DatagramClient
from chatlab.harness.lossy_relay import LossyRelay
from chatlab.harness.session import lab_session
from chatlab.harness.wiretap import Wiretap
from chatlab.notebook.check import GradeReport, _outcome
from chatlab.notebook.pictures import png, sequence_diagram, thread_timeline
from chatlab.notebook.show import names_of, protocol_section, todos

LAB3 = find_lab("lab3")


def chat(session, *names):
    """Clients that have joined a lab 3 session, in order: a join probe each."""
    clients = []
    for name in names:
        client = session.client(name)
        client.send_line(name)
        client.expect(f"* welcome {name}")
        clients.append(client)
    for earlier in clients[:-1]:
        earlier.expect(f"* {names[-1]} joined")
    return clients


def test_the_wiretap_records_each_server_call_with_its_thread_peer_and_exact_bytes():
    with lab_session(LAB3) as session, Wiretap(session.address) as tap:
        alice, bob = chat(session, "alice", "bob")
        alice.send_bytes("При".encode()[:3])
        assert tap.wait_received(b"\xd0\x9f\xd1"), "the server never read the first piece"
        alice.send_bytes("При".encode()[3:] + b"\n")
        bob.expect("[alice] При")
        events, names = tap.snapshot(), names_of(alice, bob)
    alice_at, bob_at = list(names)
    pieces = [e.data for e in events if e.inbound and e.peer == alice_at]
    assert pieces[-2:] == [b"\xd0\x9f\xd1", b"\x80\xd0\xb8\n"]
    relayed = [e for e in events if not e.inbound and e.data == "[alice] При\n".encode()]
    assert [e.peer for e in relayed] == [bob_at]
    readers = {e.thread for e in events if e.inbound and e.peer == alice_at}
    assert len(readers) == 1 and readers.pop().endswith("(handle_client)")
    assert relayed[0].thread.endswith("(_write)"), "the reference does the bonus: bob's Outbox writer sends to him"


def test_the_wiretap_records_only_the_tapped_address_and_restores_the_socket_class():
    with lab_session(LAB3) as session:
        with Wiretap(session.address) as tap:
            with pytest.raises(RuntimeError):
                Wiretap(session.address).__enter__()
            chat(session, "alice")
            assert socket.socket.recv is not socket.socket.__mro__[1].recv
        assert all(tuple(e.peer) != session.address for e in tap.snapshot())  # the clients' side is not recorded
    assert "recv" not in socket.socket.__dict__ and "sendall" not in socket.socket.__dict__


def test_a_session_with_a_tap_sees_even_the_first_datagram_of_a_udp_server():
    with lab_session(find_lab("lab4"), tap=True) as session:
        alice = session.client("alice")
        alice.send_line("/join alice")
        alice.expect("* welcome alice")
        seen = [(e.op, e.data) for e in session.tap.snapshot()]
    assert seen == [("recvfrom", b"/join alice"), ("sendto", b"* welcome alice\n")]
    assert "recvfrom" not in socket.socket.__dict__, "closing the session ends its tap"


def relay_twenty(seed, **odds):
    """Through a relay, alice sends #1..#20 to the lab 4 server; what bob got, and the relay's fates."""
    with lab_session(find_lab("lab4")) as session, LossyRelay(session.address, seed=seed, **odds) as relay:
        relay.faulty = False
        alice = DatagramClient(relay.address, "alice")
        alice.send_line("/join alice")
        alice.expect("* welcome alice")
        bob = session.client("bob")
        bob.send_line("/join bob")
        bob.expect("* welcome bob")
        relay.faulty = True
        for number in range(1, 21):
            alice.send_line(f"#{number}")
        assert relay.wait_relayed(21)
        relay.faulty = False
        alice.send_line("#end")
        bob.expect("[alice] #end")
        alice.close()
        return [text.removeprefix("[alice] ") for text in bob.texts() if "#" in text], relay.snapshot()


def test_the_lossy_relay_loses_duplicates_and_reorders_the_same_way_for_the_same_seed():
    odds = {"loss": 0.15, "duplicate": 0.15, "reorder": 0.15}
    first, fates = relay_twenty(3, **odds)
    again, _ = relay_twenty(3, **odds)
    assert first == again
    told = [f.fate for f in fates if f.to_server and f.data.startswith(b"#")]
    assert told.count("lost") == 20 + 1 - len(set(first))  # the sentinel passes; each loss is one number fewer
    assert len(first) - len(set(first)) == told.count("duplicated")
    assert {"lost", "duplicated", "reordered"} <= set(told), "seed 3 was chosen to show all three"


def test_the_lossy_relay_passes_everything_in_order_when_its_odds_are_zero():
    received, fates = relay_twenty(1)
    assert received == [f"#{n}" for n in range(1, 21)] + ["#end"]
    assert {f.fate for f in fates} == {"passed"}


def test_the_pictures_render_a_captured_exchange_as_png():
    with lab_session(LAB3) as session, Wiretap(session.address) as tap:
        alice, bob = chat(session, "alice", "bob")
        alice.send_line("hi")
        bob.expect("[alice] hi")
        events, names = tap.snapshot(), names_of(alice, bob)
    for figure in (sequence_diagram(events, names), thread_timeline(events, names)):
        assert png(figure).startswith(b"\x89PNG")
    arrows = [child for child in sequence_diagram(events, names).axes[0].texts if "hi\\n" in child.get_text()]
    assert len(arrows) == 2  # alice -> server and server -> bob


def test_the_protocol_section_is_the_labs_own():
    for lab in LABS:
        section = protocol_section(lab.stem)
        assert section.startswith(f"## Lab {lab.number}:") and f"## Lab {lab.number + 1}:" not in section


def test_the_todo_list_names_each_stub_and_notices_when_one_is_written(tmp_path, stubs):
    for lab in LABS:
        listed = todos(lab.stem, stubs)
        assert listed and not any(todo.done for todo in listed), f"{lab.stem}: the stubs are all still to do"
    shutil.copytree(stubs / "lab1_echo", tmp_path / "lab1_echo")
    server = tmp_path / "lab1_echo" / "server.py"
    source = server.read_text(encoding="utf-8")
    first = todos("lab1", tmp_path)[0]
    stub = f'raise NotImplementedError("not implemented yet: {first.function}")'
    server.write_text(source.replace(stub, "pass  # the student's attempt", 1), encoding="utf-8")
    after = {todo.function: todo.done for todo in todos("lab1", tmp_path)}
    assert after[first.function] is True and list(after.values()).count(True) == 1


def test_a_grade_report_reads_problem_and_hint_from_the_graders_story():
    failed = _outcome({"name": "lab2_two_user_chat: two users hear each other", "score": 0, "max_score": 4,
                       "status": "failed", "output": "Problem: bob expected x\nHint: buffer the bytes\nSteps:\n  1."})
    passed = _outcome({"name": "lab2_two_user_chat: the bonus", "score": 3, "max_score": 0,
                       "status": "passed", "output": ""})
    assert (failed.name, failed.points, failed.problem, failed.hint) == (
        "two users hear each other", 4, "bob expected x", "buffer the bytes")
    report = GradeReport("lab2_two_user_chat", "labs", [failed, passed])
    assert report.score == (0, 4, 3), "a bonus is kept apart from the required points"
    assert "0/4 points (0 %); bonus 3 not counted: a required test failed" in report.headline()
    assert "buffer the bytes" in report._repr_html_()
