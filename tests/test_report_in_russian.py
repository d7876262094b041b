"""A broken submission graded with --lang ru: its failure reports and score table hold no English.

The reports are read where a student and Gradescope read them: each failed test's output in
the --score-json (the failure report without its re-run line), and the score table the run
prints. tests/english_words.py says what counts as English there.
"""
import pytest
from english_words import english_words
from grading import build_broken, grade


def test_the_checker_finds_english_prose_and_leaves_code_alone():
    assert english_words("Проблема: bob ждал b'[alice] hi', но прошло 5 с; recv() в server.py:30") == []
    assert english_words("Шаги:\n  1. alice sends b'x' (a sentinel)") == ["sends", "sentinel"]
    assert english_words("поток 'Thread-1 (handle_client)' находится в lab2/server.py:30, в run(): "
                         "x = sock.recv(1024)  # one recv() = one message") == []


@pytest.fixture(scope="module")
def russian_run(tmp_path_factory):
    target = build_broken("lab2_recv_is_a_message", tmp_path_factory.mktemp("broken"))
    return grade(target, "lab2", role="server", lang="ru")


def test_a_broken_submission_graded_in_russian_gets_reports_without_english(russian_run):
    failed = [test for test in russian_run.tests if test["status"] != "passed"]
    assert len(failed) >= 5, russian_run.stdout[-3000:]
    left = {test["extra_data"]["test"]: english_words(test["output"]) for test in failed}
    assert not any(left.values()), "English in the Russian reports:\n" + "\n".join(
        f"  {name}: {words}" for name, words in left.items() if words)


def test_the_score_table_and_the_grade_line_are_russian(russian_run):
    table = russian_run.stdout.split("chatlab score", 1)[1].split("short test summary", 1)[0]
    table = "\n".join(line for line in table.splitlines() if not line.startswith("="))
    assert "Оценка" in table, table
    assert english_words(table) == [], table
