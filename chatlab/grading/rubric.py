"""The assignment's rubric: how much each lab is worth, and how a lab's score is counted and written.

The rubric is data, in a small TOML file (chatlab/grading/rubric.toml is the default, with
its rules explained): each lab's weight, whether the best weighted lab or their sum makes
the grade, and how bonus points count. The course assignment grades ONE chat, the best a
student built: a multi-user TCP chat earns 100 % of the points, a UDP chat 80 %, a two-user
chat less (we take 60 %); lab 1 (echo) is the warm-up and earns nothing by itself.
Instructors: `chatlab grade --rubric FILE` (and `grade-all`) grade under a file of their own;
the grader's processes find it in the environment variable CHATLAB_RUBRIC.

A lab's grade is its share of its required points times its weight. By default bonus points
never make up for a failed required test: they count only when every required point is
earned, and a lab never passes 100 %, so a bonus shows next to a full score as a
distinction. `score_text` writes a lab's score the one way every report (the terminal table,
the notebook's report, Gradescope's output) writes it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Protocol

from chatlab.catalog import LABS
from chatlab.i18n import N_, ngettext, translation

DEFAULT_RUBRIC = Path(__file__).with_name("rubric.toml")
RUBRIC_VARIABLE = "CHATLAB_RUBRIC"   # a rubric file's path, for the grader's processes
COUNTS = ("best", "sum")
BONUS_RULES = ("when-complete", "always", "never")


class RubricError(ValueError):
    """A rubric file that cannot be used; its message is one line that says where and why."""


@dataclass(frozen=True)
class Rubric:
    weights: dict[str, float]    # lab stem -> 0..1; a lab not listed weighs 0
    counts: str = "best"         # one of COUNTS
    bonus: str = "when-complete"  # one of BONUS_RULES
    source: str = str(DEFAULT_RUBRIC)


def load(path: str | Path) -> Rubric:
    """The rubric in the TOML file at `path`; RubricError (one line) if it cannot be read or is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RubricError(f"rubric {path}: cannot be read ({error.strerror or error})") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<rubric>") -> Rubric:
    """A rubric from TOML text: `counts`, `bonus` and a [weights] table (see rubric.toml)."""
    data = _read_toml(text, source)
    unknown = set(data) - {"counts", "bonus", "weights"}
    if unknown:
        raise RubricError(f"rubric {source}: unknown key {sorted(unknown)[0]!r} (known: counts, bonus, weights)")
    counts, bonus = data.get("counts", "best"), data.get("bonus", "when-complete")
    if counts not in COUNTS:
        raise RubricError(f"rubric {source}: counts = {counts!r}; it must be one of {', '.join(COUNTS)}")
    if bonus not in BONUS_RULES:
        raise RubricError(f"rubric {source}: bonus = {bonus!r}; it must be one of {', '.join(BONUS_RULES)}")
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise RubricError(f"rubric {source}: weights must be a table, [weights]")
    stems = [lab.stem for lab in LABS]
    for stem, weight in weights.items():
        if stem not in stems:
            raise RubricError(f"rubric {source}: no lab called {stem!r} in [weights] (labs: {', '.join(stems)})")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise RubricError(f"rubric {source}: weight of {stem} is {weight!r}; it must be a number from 0 to 1")
    return Rubric({stem: float(weights.get(stem, 0.0)) for stem in stems}, counts, bonus, source)


def _read_toml(text: str, source: str) -> dict:
    """TOML text as a dict: tomllib (Python 3.11+), else the subset a rubric needs (Python 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        tomllib = None
    if tomllib is None:
        return read_toml_subset(text, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"rubric {source}: not valid TOML: {error}") from None


def read_toml_subset(text: str, source: str) -> dict:
    """The subset of TOML a rubric needs, read without tomllib: comments, [table] headers, and
    `key = value` with a "string", a number, true or false."""
    data: dict = {}
    table = data
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r'^((?:[^"#]|"[^"]*")*)#.*$', r"\1", line).strip()  # a comment, outside quotes
        header = re.fullmatch(r"\[\s*([\w-]+)\s*\]", line)
        pair = re.fullmatch(r'([\w-]+)\s*=\s*("[^"]*"|true|false|[-+]?\d+(?:\.\d*)?)', line)
        if not line:
            continue
        if header:
            table = data.setdefault(header[1], {})
        elif pair:
            value = pair[2]
            table[pair[1]] = (value[1:-1] if value.startswith('"') else value == "true" if value in ("true", "false")
                              else float(value) if "." in value else int(value))
        else:
            raise RubricError(f"rubric {source}: line {number} is not a key = value line this Python can read "
                              f"(Python 3.10 reads a subset of TOML: strings, numbers, true, false, [tables])")
    return data


def _from_environment() -> Rubric:
    path = os.environ.get(RUBRIC_VARIABLE)
    return load(path) if path else load(DEFAULT_RUBRIC)


_active = _from_environment()
WEIGHTS = dict(_active.weights)   # the weights in force (kept up to date in place by `use`)


def active() -> Rubric:
    """The rubric in force in this process: CHATLAB_RUBRIC's file, the default, or the last `use`d."""
    return _active


def use(path: str | Path) -> Rubric:
    """Put the rubric at `path` in force, here and in the grader processes started from here on."""
    global _active
    _active = load(path)
    os.environ[RUBRIC_VARIABLE] = str(Path(path).expanduser().resolve())
    WEIGHTS.clear()
    WEIGHTS.update(_active.weights)
    return _active


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
        """Every required point is earned (so every required test passed)."""
        return self.earned >= self.possible

    @property
    def counted_bonus(self) -> float:
        """The bonus points that count under the rubric in force (by default: only in a complete lab)."""
        rule = _active.bonus
        return self.bonus if rule == "always" or (rule == "when-complete" and self.complete) else 0.0


def lab_percent(score: LabScore) -> float:
    """A lab's share of its required points, in percent, never over 100.

    Bonus points are added as the rubric says; by default only to a lab whose required points
    are all earned: one that failed a required test keeps its share, however many bonus
    points it earned.
    """
    if score.possible <= 0:
        return 0.0
    return min(100.0, 100.0 * (score.earned + score.counted_bonus) / score.possible)


def score_text(score: LabScore, lang: str = "en") -> str:
    """A lab's score as every report writes it, e.g. "84/84 points + 3 bonus (100 %)" or
    "80/84 points (95 %); bonus 3 not counted: a required test failed" (in Russian "80 из 84 баллов ...")."""
    points = ngettext("{earned}/{possible} point", "{earned}/{possible} points", score.possible, lang).format(
        earned=f"{score.earned:g}", possible=f"{score.possible:g}")
    if not score.bonus or _active.bonus == "never":
        text = N_("{points} ({percent} %)")
    elif score.counted_bonus:
        text = N_("{points} + {bonus} bonus ({percent} %)")
    else:
        text = N_("{points} ({percent} %); bonus {bonus} not counted: a required test failed")
    return translation(lang).gettext(text).format(points=points, bonus=f"{score.bonus:g}",
                                                  percent=f"{lab_percent(score):.0f}")


def assignment_grade(scores: dict[str, LabScore | tuple[float, float]]) -> tuple[float, str]:
    """(grade in percent, the lab or labs it comes from) from {stem: LabScore}, under the rubric in force.

    "best": the best weighted lab, and its stem. "sum": the weighted labs added up, at most
    100, and the stems that added something, joined by " + ". A plain pair (earned,
    possible) stands for a lab without bonus points.
    """
    weighted = {stem: lab_percent(LabScore(*score)) * _active.weights.get(stem, 0.0) for stem, score in scores.items()}
    if _active.counts == "sum":
        return min(100.0, sum(weighted.values())), " + ".join(stem for stem, part in weighted.items() if part > 0)
    best, source = 0.0, ""
    for stem, graded in weighted.items():
        if graded > best:
            best, source = graded, stem
    return best, source
