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
from chatlab.grading.hints import label
from chatlab.grading.rubric import WEIGHTS, LabScore, lab_percent, score_text
from chatlab.notebook.language import notebook_lang, words

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
    diagnosis: str = ""   # what the grader observed, when it could tell (it leads the report)


@dataclass
class GradeReport:
    """One lab graded in a child process: per-test outcomes, or why grading itself failed."""
    lab: str
    target: str
    tests: list[TestOutcome] = field(default_factory=list)
    error: str = ""   # the grader could not report (timeout, crash): its last output
    lang: str = "en"

    @property
    def score(self) -> LabScore:
        """The lab's points as the rubric counts them: a bonus only when every required test passed."""
        return LabScore.of(self.tests)

    @property
    def percent(self) -> float:
        return lab_percent(self.score)

    def headline(self) -> str:
        if self.error:
            return f"{self.lab} ({self.target}): {words('not-graded', self.lang)}. {self.error.splitlines()[0]}"
        lang, weight = self.lang, WEIGHTS.get(self.lab, 0.0)
        worth = (label("report-worth", lang).format(grade=f"{self.percent * weight:.0f}", weight=f"{weight:.0%}")
                 if weight else label("report-warm-up", lang))
        passed = label("report-tests-passed", lang).format(passed=sum(t.passed for t in self.tests),
                                                           total=len(self.tests))
        return f"{self.lab} ({self.target}): {score_text(self.score, lang)}; {passed}; {worth}"

    def __str__(self) -> str:
        lines = [self.headline()]
        for t in self.tests:
            lines.append(f"  {'PASS' if t.passed else 'FAIL'} {t.name} ({t.points:g})")
            lines += [] if t.passed else [f"       {text}" for text in (t.diagnosis, t.problem, t.hint) if text]
        return "\n".join(lines + ([self.error] if self.error else []))

    def _repr_html_(self) -> str:
        escape, lang = html.escape, self.lang
        if self.error:
            return f"<b>{escape(self.headline())}</b><pre>{escape(self.error)}</pre>"
        rows = []
        for t in sorted(self.tests, key=lambda t: t.passed):  # what to fix first, on top
            detail = "" if t.passed else (
                (f"<br><b>{label('diagnosis', lang)}:</b> {escape(t.diagnosis)}" if t.diagnosis else "")
                + f"<br><b>{label('problem', lang)}:</b> {escape(t.problem)}"
                + (f"<br><b>{label('hint', lang)}:</b> {escape(t.hint)}" if t.hint else "")
                + f"<details><summary>{label('report-details', lang)}</summary><pre>{escape(t.story)}</pre></details>")
            mark = "✅" if t.passed else ("➖" if t.bonus else "❌")
            rows.append(f"<tr><td>{mark}</td><td style='text-align:left'>{escape(t.name)}{detail}</td>"
                        f"<td>{t.points:g}{' ' + label('report-bonus', lang) if t.bonus else ''}</td></tr>")
        return (f"<p><b>{escape(self.headline())}</b></p><table><tr><th></th><th>{label('report-test', lang)}</th>"
                f"<th>{label('report-points', lang)}</th></tr>" + "".join(rows) + "</table>")


def _outcome(test: dict, lang: str = "en") -> TestOutcome:
    """A test of the grader's --score-json: its points and kind from "extra_data", problem and hint from its story."""
    story = test.get("output") or ""
    picked = {label(key, lang): "" for key in ("diagnosis", "problem", "hint")}
    for line in story.splitlines():
        key, _, rest = line.partition(": ")
        if key in picked and not picked[key]:
            picked[key] = rest
    name = test["name"].partition(": ")[2]  # in words: "two users hear each other"
    extra = test.get("extra_data", {})
    bonus = extra.get("bonus", test["max_score"] == 0)
    problem = picked[label("problem", lang)] or (story.strip().splitlines()[0] if story.strip() else "")
    return TestOutcome(name, extra.get("points", test["max_score"] or test["score"]), test["status"] == "passed",
                       bonus, problem, picked[label("hint", lang)], story, picked[label("diagnosis", lang)])


class GradingFailed(Exception):
    """The grader wrote no results: it took too long, or stopped first. The message says which, with its output."""


def grade_in_child(lab_stem: str, target: str, lang: str = "en") -> dict:
    """Grade one lab of `target` with `chatlab grade LAB --score-json` in a child process with a time limit,
    and return the results.json it wrote; GradingFailed if it wrote none. Also what the Gradescope
    autograder and the GitHub Classroom workflow run (chatlab/classroom/)."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.json"
        command = [sys.executable, "-m", "chatlab.cli", "grade", lab_stem, "--target", target,
                   "--lang", lang, "--score-json", str(results), "-q", "-p", "no:warnings"]
        environment = dict(os.environ, PYTHONIOENCODING="utf-8")
        try:
            finished = subprocess.run(command, cwd=KIT_ROOT, env=environment, capture_output=True,
                                      text=True, encoding="utf-8", errors="replace", timeout=GRADE_TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or "")[-3000:] if isinstance(expired.stdout, str) else ""
            raise GradingFailed(f"the grader took over {GRADE_TIMEOUT} s\n{output}") from None
        if not results.is_file():
            raise GradingFailed(f"the grader stopped without results (exit code {finished.returncode})\n"
                                f"{(finished.stdout + finished.stderr)[-3000:]}")
        return json.loads(results.read_text(encoding="utf-8"))


def check_your_work(name: str, target: str | None = None, lang: str | None = None) -> GradeReport:
    """Grade one lab (your files in labs/ unless told otherwise) in a separate process.

    Runs `chatlab grade LAB --score-json` as a child process with a time limit and reads its
    results: a hung or crashing submission becomes a report, never a frozen notebook. The report
    speaks the notebook's language (`chatlab.notebook.language.notebook_lang`: Russian in
    notebooks/ru/) unless `lang` says otherwise.
    """
    lab = find_lab(name)
    target = target or os.environ.get(TARGET_VARIABLE, "labs")
    lang = notebook_lang(lang)
    try:
        tests = grade_in_child(lab.stem, target, lang)["tests"]
    except GradingFailed as failure:
        return GradeReport(lab.stem, target, error=str(failure), lang=lang)
    return GradeReport(lab.stem, target, [_outcome(test, lang) for test in tests], lang=lang)
