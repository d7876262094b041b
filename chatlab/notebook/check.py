"""A notebook's "Check your work" cell: grade one lab in a child process and show the report.

`check_your_work` runs `chatlab grade LAB --score-json` as a child process with a time limit,
so a submission that hangs or crashes becomes a report instead of a frozen kernel.
"""
from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import KIT_ROOT, find_lab
from chatlab.grading.rubric import WEIGHTS, lab_percent

GRADE_TIMEOUT = 300  # seconds: the grader bounds every wait itself; this only guards against the unforeseen
TARGET_VARIABLE = "CHATLAB_TARGET"  # `chatlab notebooks --target solutions` sets it for instructors' copies


@dataclass
class TestOutcome:
    name: str
    points: float
    passed: bool
    bonus: bool
    problem: str = ""
    hint: str = ""
    story: str = ""


@dataclass
class GradeReport:
    """One lab graded in a child process: per-test outcomes, or why grading itself failed."""
    lab: str
    target: str
    tests: list[TestOutcome] = field(default_factory=list)
    error: str = ""   # the grader could not report (timeout, crash): its last output

    @property
    def earned(self) -> float:
        """Points of the passed tests, bonus included: a bonus fills a gap, never passes 100 %."""
        return sum(t.points for t in self.tests if t.passed)

    @property
    def bonus(self) -> float:
        return sum(t.points for t in self.tests if t.passed and t.bonus)

    @property
    def possible(self) -> float:
        return sum(t.points for t in self.tests if not t.bonus)

    @property
    def percent(self) -> float:
        return lab_percent(self.earned, self.possible)

    def headline(self) -> str:
        if self.error:
            return f"{self.lab} ({self.target}): not graded. {self.error.splitlines()[0]}"
        weight = WEIGHTS.get(self.lab, 0.0)
        worth = (f"as the assignment's chat: {self.percent * weight:.0f} % (this lab counts {weight:.0%})"
                 if weight else "a warm-up: it counts for nothing by itself")
        passed = sum(t.passed for t in self.tests)
        bonus = f" + {self.bonus:g} bonus" if self.bonus else ""
        return (f"{self.lab} ({self.target}): {self.earned - self.bonus:g}/{self.possible:g} points{bonus}, "
                f"{self.percent:.0f} %; "
                f"{passed} of {len(self.tests)} tests passed; {worth}")

    def __str__(self) -> str:
        lines = [self.headline()]
        lines += [f"  {'PASS' if t.passed else 'FAIL'} {t.name} ({t.points:g})"
                  + ("" if t.passed else f"\n       {t.problem}\n       {t.hint}") for t in self.tests]
        return "\n".join(lines + ([self.error] if self.error else []))

    def _repr_html_(self) -> str:
        escape = html.escape
        if self.error:
            return f"<b>{escape(self.headline())}</b><pre>{escape(self.error)}</pre>"
        rows = []
        for t in sorted(self.tests, key=lambda t: t.passed):  # what to fix first, on top
            detail = "" if t.passed else (
                f"<br><b>Problem:</b> {escape(t.problem)}<br><b>Hint:</b> {escape(t.hint)}"
                f"<details><summary>steps and output</summary><pre>{escape(t.story)}</pre></details>")
            mark = "✅" if t.passed else ("➖" if t.bonus else "❌")
            rows.append(f"<tr><td>{mark}</td><td style='text-align:left'>{escape(t.name)}{detail}</td>"
                        f"<td>{t.points:g}{' bonus' if t.bonus else ''}</td></tr>")
        return (f"<p><b>{escape(self.headline())}</b></p><table><tr><th></th><th>test</th><th>points</th></tr>"
                + "".join(rows) + "</table>")


def _outcome(test: dict) -> TestOutcome:
    story = test.get("output") or ""
    picked = {key: "" for key in ("Problem", "Hint")}
    for line in story.splitlines():
        key, _, rest = line.partition(": ")
        if key in picked and not picked[key]:
            picked[key] = rest
    name = test["name"].partition(": ")[2].replace("test_", "", 1).replace("_", " ")
    bonus = test["max_score"] == 0
    return TestOutcome(name, test["score"] if bonus else test["max_score"], test["status"] == "passed", bonus,
                       picked["Problem"] or story.strip().splitlines()[0] if story.strip() else "",
                       picked["Hint"], story)


def check_your_work(name: str, target: str | None = None, lang: str = "en") -> GradeReport:
    """Grade one lab (your files in labs/ unless told otherwise) in a separate process.

    Runs `chatlab grade LAB --score-json` as a child process with a time limit and reads its
    results: a hung or crashing submission becomes a report, never a frozen notebook.
    """
    lab = find_lab(name)
    target = target or os.environ.get(TARGET_VARIABLE, "labs")
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.json"
        command = [sys.executable, "-m", "chatlab.cli", "grade", lab.stem, "--target", target,
                   "--lang", lang, "--score-json", str(results), "-q", "-p", "no:warnings"]
        environment = dict(os.environ, PYTHONIOENCODING="utf-8")
        try:
            finished = subprocess.run(command, cwd=KIT_ROOT, env=environment, capture_output=True,
                                      text=True, encoding="utf-8", errors="replace", timeout=GRADE_TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or "")[-3000:] if isinstance(expired.stdout, str) else ""
            return GradeReport(lab.stem, target, error=f"the grader took over {GRADE_TIMEOUT} s\n{output}")
        if not results.is_file():
            return GradeReport(lab.stem, target, error=f"the grader stopped without results "
                               f"(exit code {finished.returncode})\n{(finished.stdout + finished.stderr)[-3000:]}")
        tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
    return GradeReport(lab.stem, target, [_outcome(test) for test in tests])
