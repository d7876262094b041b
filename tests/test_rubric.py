"""The rubric (chatlab/grading/rubric.py): bonus points never make up for a failed required test,
and a lab's score is written one way, in English and in Russian."""
from dataclasses import dataclass

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
    assert score_text(full, "ru") == "баллы: 84 из 84 + бонус 3 (100 %)"
    assert score_text(short, "ru") == "баллы: 80 из 84 (95 %); бонус 3 не засчитан: не пройден обязательный тест"
    assert score_text(plain, "ru") == "баллы: 80 из 84 (95 %)"
