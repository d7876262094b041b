"""The assignment's rubric: how much each lab is worth. Instructors: change the weights here.

The course assignment grades ONE chat, the best a student built: a multi-user TCP chat
earns 100 % of the points, a UDP chat 80 %, a two-user chat less (we take 60 %). Lab 1
(echo) is the warm-up and earns nothing by itself. A lab's grade is its share of the
grader's points (bonus points can fill a gap, never pass 100 %) times its weight; the
assignment's grade is the best of them.
"""
from __future__ import annotations

WEIGHTS = {
    "lab1_echo": 0.0,
    "lab2_two_user_chat": 0.6,
    "lab3_multi_user_chat": 1.0,
    "lab4_udp_chat": 0.8,
}


def lab_percent(earned: float, possible: float) -> float:
    """A lab's share of its points, in percent, capped at 100 (bonus points cannot pass it)."""
    return 0.0 if possible <= 0 else min(100.0, 100.0 * earned / possible)


def assignment_grade(scores: dict[str, tuple[float, float]]) -> tuple[float, str]:
    """(grade in percent, the lab it comes from) from {stem: (earned, possible)}: the best weighted lab."""
    best, source = 0.0, ""
    for stem, (earned, possible) in scores.items():
        graded = lab_percent(earned, possible) * WEIGHTS.get(stem, 0.0)
        if graded > best:
            best, source = graded, stem
    return best, source
