"""The rubric (chatlab/grading/rubric.py): bonus points never make up for a failed required test,
and a lab's score is written one way, in English and in Russian."""
import subprocess
import sys
from dataclasses import dataclass

import pytest

from chatlab.grading import rubric
from chatlab.grading.rubric import LabScore, assignment_grade, lab_percent, score_text


@dataclass
class Outcome:
    points: float
    bonus: bool
    passed: bool


def test_a_lab_score_keeps_the_bonus_apart_from_the_required_points():
    score = LabScore.of([Outcome(3, False, True), Outcome(2, False, False), Outcome(4, True, True), Outcome(1, True, False)])
    assert score == (3, 5, 4) and not score.complete and score.counted_bonus == 0


def test_a_bonus_never_makes_up_for_a_failed_required_test():
    assert lab_percent(LabScore(earned=80, possible=84, bonus=3)) == 100 * 80 / 84  # not 83/84, not 100
    assert lab_percent(LabScore(earned=84, possible=84, bonus=3)) == 100, "never past 100 %"
    assert lab_percent(LabScore(earned=0, possible=0, bonus=3)) == 0


def test_the_assignment_grade_follows_the_rule_and_takes_plain_pairs_too():
    grade, source = assignment_grade({"lab3_multi_user_chat": LabScore(42, 84, 3), "lab2_two_user_chat": (73, 73)})
    assert (grade, source) == (60, "lab2_two_user_chat"), "lab 3's bonus filled its gap"


def test_a_score_is_written_one_way_in_either_language():
    full, short, plain = LabScore(84, 84, 3), LabScore(80, 84, 3), LabScore(80, 84)
    assert score_text(full) == "84/84 points + 3 bonus (100 %)"
    assert score_text(short) == "80/84 points (95 %); bonus 3 not counted: a required test failed"
    assert score_text(plain) == "80/84 points (95 %)"
    assert score_text(full, "ru") == "84 из 84 баллов + бонус 3 (100 %)"
    assert score_text(short, "ru") == "80 из 84 баллов (95 %); бонус 3 не засчитан: не пройден обязательный тест"
    assert score_text(plain, "ru") == "80 из 84 баллов (95 %)"


# --- the rubric is data: a TOML file, the default shipped with the kit ---------------------------

def test_the_default_rubric_file_is_todays_rubric():
    default = rubric.load(rubric.DEFAULT_RUBRIC)
    assert default.weights == {"lab1_echo": 0.0, "lab2_two_user_chat": 0.6, "lab3_multi_user_chat": 1.0,
                               "lab4_udp_chat": 0.8, "lab5_reliable_udp_chat": 0.0}
    assert (default.counts, default.bonus) == ("best", "when-complete")


def test_python_3_10_reads_the_default_rubric_as_tomllib_does():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; 3.10 reads rubrics with rubric.read_toml_subset
    text = rubric.DEFAULT_RUBRIC.read_text(encoding="utf-8")
    assert rubric.read_toml_subset(text, "default") == tomllib.loads(text)


def test_a_rubric_file_of_the_instructors_sets_the_weights_the_sum_and_the_bonus(tmp_path, monkeypatch):
    path = tmp_path / "rubric.toml"
    path.write_text('counts = "sum"  # add the labs up\nbonus = "always"\n[weights]\n'
                    'lab2_two_user_chat = 0.5\nlab3_multi_user_chat = 0.5\n', encoding="utf-8")
    monkeypatch.setattr(rubric, "_active", rubric.load(path))
    assert rubric.active().weights["lab4_udp_chat"] == 0.0, "a lab not listed weighs nothing"
    grade, source = assignment_grade({"lab2_two_user_chat": (73, 73), "lab3_multi_user_chat": LabScore(80, 100, 10),
                                      "lab4_udp_chat": (53, 53)})
    assert (grade, source) == (50 + 45, "lab2_two_user_chat + lab3_multi_user_chat"), "the bonus filled lab 3's gap"
    assert score_text(LabScore(80, 100, 10)) == "80/100 points + 10 bonus (90 %)"


def test_a_rubric_that_never_counts_a_bonus_does_not_mention_it(tmp_path, monkeypatch):
    path = tmp_path / "rubric.toml"
    path.write_text('bonus = "never"\n[weights]\nlab3_multi_user_chat = 1\n', encoding="utf-8")
    monkeypatch.setattr(rubric, "_active", rubric.load(path))
    assert score_text(LabScore(84, 84, 3)) == "84/84 points (100 %)"
    assert assignment_grade({"lab3_multi_user_chat": LabScore(42, 84, 3)}) == (50, "lab3_multi_user_chat")


@pytest.mark.parametrize("text, says", [
    ('counts = "mean"\n', "counts = 'mean'; it must be one of best, sum"),
    ('[weights]\nlab5_video = 1\n', "no lab called 'lab5_video'"),
    ('[weights]\nlab3_multi_user_chat = 2\n', "weight of lab3_multi_user_chat is 2; it must be a number from 0 to 1"),
    ('weight = 1\n', "unknown key 'weight'"),
    ('counts = best\n', "not valid TOML"),
])
def test_a_wrong_rubric_is_one_clear_line(tmp_path, text, says):
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rubric.RubricError) as raised:
        rubric.load(path)
    assert says in str(raised.value) and str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_chatlab_grade_refuses_a_wrong_rubric_in_one_line(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text('bonus = "sometimes"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "chatlab", "grade", "lab1", "--target", "solutions",
                           "--rubric", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"chatlab: rubric {path}: bonus = 'sometimes'; it must be one of "
                                                "when-complete, always, never"]
