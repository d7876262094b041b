"""The diagnosis that leads a failure report, and the waits that end once the server fell silent.

First the reading of evidence on its own (chatlab/grading/diagnosis.py, with stand-in hosts
and clients), then against real servers in the sandbox: a server that never answers fails a
wait within a second as "silent", a thread that dies is named with the client it served,
a spinning server is named with its line, and wait_read() knows what the server has read
without /proc.
"""
from __future__ import annotations

import re
import textwrap
import time

import pytest

from chatlab.catalog import find_lab
from chatlab.grading.diagnosis import diagnose
from chatlab.grading.hints import DIAGNOSES
from chatlab.harness.waiting import WAIT, ExpectationError
from chatlab.sandbox.server_process import ServerProcess

LAB1, LAB2 = find_lab("lab1"), find_lab("lab2")
LATIN_WORD = re.compile(r"\b[a-z]{4,}\b")


class StandInClient:
    def __init__(self, name: str, port: int, texts=(), sent=()):
        self.name, self.port, self._texts, self._sent = name, port, list(texts), list(sent)

    def texts(self):
        return list(self._texts)

    def sent_texts(self):
        return list(self._sent)


class StandInHost:
    def __init__(self, clients, thread_errors=(), failure="", spinning="", printed=""):
        self.clients, self.thread_errors, self._failure = list(clients), list(thread_errors), failure
        self.spinning, self._printed = spinning, printed

    def failure(self):
        return self._failure

    def output_tail(self):
        return self._printed, len(self._printed)

    def where(self, traceback_text):
        return "lab2_two_user_chat/server.py:42" if traceback_text else ""


class StandInScenario:
    def __init__(self, host):
        self.hosts = [host]


def findings(host, error=None, lang="en"):
    return diagnose(StandInScenario(host), error, lang)


def waited(client, wanted: str, seen: list[str], kind: str = "silent") -> ExpectationError:
    return ExpectationError("a wait failed", client=client, wanted=[wanted.encode()],
                            seen=[line.encode() for line in seen], kind=kind)


def test_a_line_relayed_back_to_its_sender_is_named():
    alice, bob = StandInClient("alice", 1, ["[alice] hi"], sent=["hi"]), StandInClient("bob", 2, ["[alice] hi"])
    found = findings(StandInHost([alice, bob]))
    assert [f.key for f in found] == ["echoed-to-sender"]
    assert "alice" in found[0].text and found[0].hint_key == "echo-to-sender"


def test_a_line_in_someones_name_that_they_never_sent_is_no_echo():
    alice = StandInClient("alice", 1, ["[bob] x", "[alice] fake"], sent=["hi"])  # bob's spoof, relayed merged
    assert findings(StandInHost([alice])) == []


def test_two_lines_relayed_as_one_message_are_called_merged_and_lead_before_the_silence():
    alice, bob = StandInClient("alice", 1), StandInClient("bob", 2, ["[alice] one", "two"])
    found = findings(StandInHost([alice, bob]), waited(bob, "[alice] two", ["[alice] one", "two"]))
    assert [f.key for f in found] == ["merged", "silent"]
    assert found[0].hint_key == "framing-merge"


def test_a_line_that_landed_inside_another_is_called_interleaved_and_its_hint_is_the_send_lock():
    alice, bob = StandInClient("alice", 1), StandInClient("bob", 2, ["[alice] a long li* bye", "ne"])
    found = findings(StandInHost([alice, bob]), waited(bob, "[alice] a long line", ["[alice] a long li* bye", "ne"]))
    assert found[0].key == "interleaved" and found[0].hint_key == "send-lock"
    assert "after 17 characters and '* bye' came inside it" in found[0].text


def test_a_line_relayed_in_two_pieces_is_called_split():
    line = "".join(f"{n:04d} " for n in range(300))
    bob = StandInClient("bob", 2)
    seen = [f"[alice] {line[:1000]}", f"[alice] {line[1000:]}"]
    found = findings(StandInHost([bob]), waited(bob, f"[alice] {line}", seen))
    assert found[0].key == "split" and found[0].hint_key == "framing-split"


def test_among_several_wrong_lines_the_one_the_test_is_about_leads():
    line = "".join(f"{n:04d} " for n in range(300))
    bob = StandInClient("bob", 2)
    error = ExpectationError("bob received the wrong lines", client=bob, kind="unexpected",
                             wanted=[f"[alice] {line}".encode(), b"[alice] end"],
                             seen=[f"[alice] {line[:1000]}".encode(), f"[alice] {line[1000:]}".encode(), b"end"])
    assert [f.key for f in diagnose(StandInScenario(StandInHost([bob])), error)] == ["merged", "split"]
    on_split = diagnose(StandInScenario(StandInHost([bob])), error, topic="framing-split")
    assert [f.key for f in on_split] == ["split", "merged"]


def test_letters_decoded_before_they_were_whole_are_called_replaced():
    bob = StandInClient("bob", 2)
    found = findings(StandInHost([bob]), waited(bob, "[alice] Привет", ["[alice] П\ufffd", "[alice] \ufffdивет"]))
    assert found[0].key == "replaced" and found[0].hint_key == "utf8-split"


def test_the_same_words_in_another_format_are_a_near_miss_and_a_kept_cr_is_named():
    bob = StandInClient("bob", 2)
    assert findings(StandInHost([bob]), waited(bob, "[alice] hi", ["alice: hi"]))[0].key == "near-miss"
    assert findings(StandInHost([bob]), waited(bob, "[alice] hi", ["[alice] hi\r"]))[0].key == "crlf-kept"


def test_a_cr_or_a_newline_shown_as_u_fffd_is_still_a_kept_cr_or_a_merge():
    bob = StandInClient("bob", 2)
    assert findings(StandInHost([bob]), waited(bob, "[alice] hi", ["[alice] hi\ufffd"]))[0].key == "crlf-kept"
    merged = waited(bob, "[alice] one", ["[alice] one\ufffdtwo"])
    assert findings(StandInHost([bob]), merged)[0].key == "merged"


def test_a_wrong_list_of_lines_is_compared_line_by_line():
    bob = StandInClient("bob", 2)
    error = ExpectationError("bob received the wrong lines", client=bob, kind="unexpected",
                             wanted=[b"[alice] one", b"[alice] two"], seen=[b"[alice] one", b"two"])
    assert [f.key for f in findings(StandInHost([bob]), error)] == ["merged"]


def test_a_dead_thread_leads_and_names_the_client_it_served_and_its_line():
    alice, bob = StandInClient("alice", 1111), StandInClient("bob", 2222)
    died = {"thread": "Thread-2", "type": "UnicodeDecodeError", "message": "invalid start byte",
            "traceback": "Traceback ...", "port": 2222}
    found = findings(StandInHost([alice, bob], [died], printed="error: something"), waited(alice, "[bob] x", []))
    assert [f.key for f in found] == ["thread-died", "printed-error", "silent"]
    assert "bob" in found[0].text and "server.py:42" in found[0].text and "UnicodeDecodeError" in found[0].text


def test_a_correct_transcript_gives_no_finding_and_the_topic_hint_stays():
    alice, bob = StandInClient("alice", 1, ["[bob] hi"]), StandInClient("bob", 2, ["[alice] hi"])
    assert findings(StandInHost([alice, bob]), AssertionError("some other check failed")) == []


@pytest.mark.parametrize("key", sorted(DIAGNOSES))
def test_every_diagnosis_reads_in_russian_without_english_words(key):
    facts = dict(thread="T", client="B", error="E", where="f:1", why="w", author="A", line="'x'", wanted="'y'",
                 fate="f", cut=3, intruder="'z'")
    text = DIAGNOSES[key]["ru"].format(**facts)
    english = [word for word in LATIN_WORD.findall(text) if word not in ("recv", "nick", "left", "welcome")]
    assert not english, f"{key}: {english}"



# --- against real servers in the sandbox ---------------------------------------------------

@pytest.fixture
def submission(write_lab_file):
    """submission(lab, code) -> a --target folder whose LAB/server.py is `code`."""
    return lambda lab, code: write_lab_file(lab, "server", code)


SERVER = """
    import socket, threading, time
    class {cls}:
        def __init__(self, host, port):
            self.listener = socket.create_server((host, port))
            self.address = self.listener.getsockname()
        def serve_forever(self):
            while True:
                conn, _ = self.listener.accept()
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        def handle(self, conn):
{body}
        def shutdown(self):
            self.listener.close()
"""


def server(lab, body: str) -> str:
    return SERVER.format(cls=lab.server_class, body=textwrap.indent(textwrap.dedent(body), " " * 12))


def test_a_server_that_reads_and_never_answers_fails_the_wait_within_a_second_as_silent(submission, hosts):
    host = ServerProcess(LAB2, submission(LAB2, server(LAB2, """
        while conn.recv(1024):
            pass
    """)))
    hosts.append(host)
    alice = host.client("alice")
    alice.send_line("alice")
    started = time.monotonic()
    with pytest.raises(ExpectationError) as failed:
        alice.expect("* welcome alice")
    assert failed.value.kind == "silent"
    assert time.monotonic() - started < 1.5, "the wait did not end once the server fell silent"


def test_a_patient_wait_is_not_cut_short_by_a_silence(submission, hosts):
    host = ServerProcess(LAB2, submission(LAB2, server(LAB2, """
        conn.recv(1024)
        time.sleep(0.8)  # a timer of the server's: silent, then it answers
        conn.sendall(b"* welcome alice\\n")
        conn.recv(1024)
    """)))
    hosts.append(host)
    alice = host.client("alice")
    alice.send_line("alice")
    assert alice.expect("* welcome alice", patient=True) == "* welcome alice"


def test_a_thread_that_dies_is_named_with_the_client_it_served(submission, hosts):
    host = ServerProcess(LAB2, submission(LAB2, server(LAB2, """
        data = conn.recv(1024)
        raise ValueError(f"cannot handle {data!r}")
    """)))
    hosts.append(host)
    alice = host.client("alice")
    alice.send_line("alice")
    with pytest.raises(ExpectationError) as failed:
        alice.expect("* welcome alice")
    scenario = StandInScenario(host)
    found = diagnose(scenario, failed.value)
    assert found[0].key == "thread-died"
    assert "alice" in found[0].text and "ValueError" in found[0].text and "server.py:" in found[0].text


def test_a_spinning_server_ends_the_wait_and_is_named_with_its_line(submission, hosts):
    host = ServerProcess(LAB1, submission(LAB1, server(LAB1, """
        while True:
            conn.recv(1024)   # b"" forever once the client closed: the classic spin
    """)))
    hosts.append(host)
    client = host.client("client")
    client.half_close()
    started = time.monotonic()
    with pytest.raises(ExpectationError) as failed:
        client.expect_closed()
    assert failed.value.kind == "spinning" and time.monotonic() - started < WAIT - 1
    assert "server.py:" in host.spinning


def test_wait_read_counts_what_the_server_read_and_gives_up_early_on_a_server_that_stopped_reading(
        submission, hosts):
    host = ServerProcess(LAB1, submission(LAB1, server(LAB1, """
        conn.recv(5)          # reads five bytes, then never again
        threading.Event().wait()
    """)))
    hosts.append(host)
    client = host.client("client")
    client.send_bytes(b"12345")
    assert host.wait_read(client.port, 5) == 5
    client.send_bytes(b"67890")
    started = time.monotonic()
    assert host.wait_read(client.port, 10, timeout=3.0) == 5
    assert time.monotonic() - started < 1.5, "wait_read waited out its bound for a server that stopped reading"


def test_a_client_that_died_of_an_exception_gets_the_client_hint_not_the_servers():
    """A student's client whose receiving thread raised: the finding names the thread and the line, and the
    hint that follows is about a client (it used to be the hint for a thread of a server)."""
    class DeadClient:
        name = "Иван"
        stderr = ('Exception in thread Thread-1 (receive_lines):\nTraceback (most recent call last):\n'
                  '  File "/tmp/x/lab2_two_user_chat/client.py", line 37, in receive_lines\n'
                  '    show(line.decode("utf-8"))\n'
                  "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 6: invalid start byte\n")

        def not_implemented(self):
            return False

        def texts(self):
            return []

    class Scenario:
        hosts = ()
        student_clients = [DeadClient()]

    found = diagnose(Scenario(), None)
    assert [(f.key, f.hint_key) for f in found] == [("client-crashed", "client-crash")]
    assert "client.py:37" in found[0].text and "Thread-1 (receive_lines)" in found[0].text
