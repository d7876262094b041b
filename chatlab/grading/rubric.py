"""The assignment's rubric: how much each lab is worth, and how a lab's score is counted and written.

The course assignment grades ONE chat, the best a student built: a multi-user TCP chat
earns 100 % of the points, a UDP chat 80 %, a two-user chat less (we take 60 %). Lab 1
(echo) is the warm-up and earns nothing by itself. Instructors: change the weights here.

A lab's grade is its share of its required points times its weight; the assignment's grade
is the best of them. Bonus points never make up for a failed required test: they count only
when every required point is earned, and a lab never passes 100 %, so a bonus shows next to
a full score as a distinction. `score_text` writes a lab's score the one way every report
(the terminal table, the notebook's report, Gradescope's output) writes it.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple, Protocol

from chatlab.grading.hints import label

WEIGHTS = {
    "lab1_echo": 0.0,
    "lab2_two_user_chat": 0.6,
    "lab3_multi_user_chat": 1.0,
    "lab4_udp_chat": 0.8,
}


class Graded(Protocol):
    """What the rubric needs to know of one test: the plugin's results and the notebook's outcomes have it."""
    points: float
    bonus: bool
    passed: bool


class LabScore(NamedTuple):
    """One lab's points: required points earned of those possible, and the points of passed bonus tests."""
    earned: float
    possible: float
    bonus: float = 0.0

    @classmethod
    def of(cls, tests: Iterable[Graded]) -> LabScore:
        tests = list(tests)
        return cls(earned=sum(t.points for t in tests if t.passed and not t.bonus),
                   possible=sum(t.points for t in tests if not t.bonus),
                   bonus=sum(t.points for t in tests if t.passed and t.bonus))

    @property
    def complete(self) -> bool:
        """Every required point is earned (so every required test passed): only then does a bonus count."""
        return self.earned >= self.possible

    @property
    def counted_bonus(self) -> float:
        return self.bonus if self.complete else 0.0


def lab_percent(score: LabScore) -> float:
    """A lab's share of its required points, in percent, never over 100.

    Bonus points are added only to a lab whose required points are all earned: one that
    failed a required test keeps its share, however many bonus points it earned.
    """
    if score.possible <= 0:
        return 0.0
    return min(100.0, 100.0 * (score.earned + score.counted_bonus) / score.possible)


def score_text(score: LabScore, lang: str = "en") -> str:
    """A lab's score as every report writes it, e.g. "84/84 points + 3 bonus (100 %)" or
    "80/84 points (95 %); bonus 3 not counted: a required test failed"."""
    key = "score" if not score.bonus else "score-bonus" if score.complete else "score-bonus-not-counted"
    return label(key, lang).format(earned=f"{score.earned:g}", possible=f"{score.possible:g}",
                                   bonus=f"{score.bonus:g}", percent=f"{lab_percent(score):.0f}")


def assignment_grade(scores: dict[str, LabScore | tuple[float, float]]) -> tuple[float, str]:
    """(grade in percent, the lab it comes from) from {stem: LabScore}: the best weighted lab.

    A plain pair (earned, possible) stands for a lab without bonus points.
    """
    best, source = 0.0, ""
    for stem, score in scores.items():
        graded = lab_percent(LabScore(*score)) * WEIGHTS.get(stem, 0.0)
        if graded > best:
            best, source = graded, stem
    return best, source
