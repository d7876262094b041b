"""A broken submission graded with --lang ru: its failure reports and score table hold no English.

The reports are read where a student and Gradescope read them: each failed test's output in
the --score-json (the failure report without its re-run line), and the score table the run
prints. tests/english_words.py says what counts as English there.
"""
import pytest
from english_words import english_words
from grading import broken_role, broken_spec, build_broken, grade


def test_the_checker_finds_english_prose_and_leaves_code_alone():
    assert english_words("Проблема: bob ждал b'[alice] hi', но прошло 5 с; recv() в server.py:30") == []
    assert english_words("Шаги:\n  1. alice sends b'x' (a sentinel)") == ["sends", "sentinel"]
    assert english_words("(ожидание — в select()). sleep here") == ["sleep", "here"]
    assert english_words("поток 'Thread-1 (handle_client)' находится в lab2/server.py:30, в run(): "
                         "x = sock.recv(1024)  # one recv() = one message") == []


# Scenarios left out of a run here: they fail as the ones kept do, with the same words, after a long wait.
LEFT_OUT = {"lab5_no_retransmission": [  # through the lossy relay, patient waits: 31 s of the run's 61
    f"grader/test_lab5_reliable_udp_chat.py::test_every_line_is_delivered_exactly_once_and_in_order_through_a_"
    f"lossy_network[{loss}]" for loss in ("10%", "30%")]}


def graded_in_russian(name: str, folder) -> object:
    """tests/broken/NAME graded with --lang ru (only its server's or its client's tests)."""
    spec = broken_spec(name)
    extra = [option for test in LEFT_OUT.get(name, ()) for option in ("--deselect", test)]
    return grade(build_broken(name, folder), spec["lab"], role=broken_role(spec), lang="ru", extra=extra)


@pytest.fixture(scope="module")
def russian_run(tmp_path_factory):
    return graded_in_russian("lab2_recv_is_a_message", tmp_path_factory.mktemp("broken"))


# A server of lab 2 (the shared TCP scenarios), one of lab 4 (UDP), a client of lab 3 (the grader's server), and
# two of lab 5 (reliable UDP): one that never sends a line again (the lossy relay's, the timers' and the give-up
# scenarios fail), one that delivers a copy twice.
@pytest.mark.parametrize("name", ["lab2_recv_is_a_message", "lab4_naive_student", "lab3_client_one_line_per_recv",
                                  "lab5_no_retransmission", "lab5_duplicate_delivered_twice"])
def test_a_broken_submission_graded_in_russian_gets_reports_without_english(name, russian_run, tmp_path):
    run = russian_run if name == "lab2_recv_is_a_message" else graded_in_russian(name, tmp_path)
    failed = [test for test in run.tests if test["status"] != "passed"]
    assert len(failed) >= 2, run.stdout[-3000:]
    left = {test["extra_data"]["test"]: english_words(test["output"]) for test in failed}
    assert not any(left.values()), "English in the Russian reports:\n" + "\n".join(
        f"  {name}: {words}" for name, words in left.items() if words)


def test_the_score_table_and_the_grade_line_are_russian(russian_run):
    table = russian_run.stdout.split("chatlab score", 1)[1].split("short test summary", 1)[0]
    table = "\n".join(line for line in table.splitlines() if not line.startswith("="))
    assert "Оценка" in table, table
    assert english_words(table) == [], table
