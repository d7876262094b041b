"""The grading plugin for pytest: options, points, failure stories, the score table, the grade.

`pytest grader/` loads it through grader/conftest.py. Every graded test carries
`@pytest.mark.points(N)` (or `points(N, bonus=True)`: earned when passed, never lost) and
may name the hint for its failure with `hint="key"` (see chatlab/grading/hints.py). At the end of
the run a table per lab shows what was earned and what failed, then the grade under the
assignment's rubric (chatlab/grading/rubric.py). `--score-json FILE` writes Gradescope's format.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chatlab.catalog import target_dir
from chatlab.grading.rubric import WEIGHTS, assignment_grade, lab_percent
from chatlab.grading.scenario import Scenario, timed_out
from chatlab.harness.process import let_ctrl_c_through


@dataclass
class Result:
    nodeid: str
    lab: str
    name: str
    points: float
    bonus: bool
    passed: bool = False
    output: str = ""
    diagnoses: list[str] = field(default_factory=list)   # what the failure's diagnosis found (keys)


@dataclass
class Scores:
    results: dict[str, Result] = field(default_factory=dict)

    def by_lab(self) -> dict[str, list[Result]]:
        labs: dict[str, list[Result]] = {}
        for result in self.results.values():
            labs.setdefault(result.lab, []).append(result)
        return labs

    def totals(self) -> dict[str, tuple[float, float]]:
        """{lab: (earned, possible)}: bonus points count when earned and are never possible."""
        return {lab: (sum(r.points for r in results if r.passed),
                      sum(r.points for r in results if not r.bonus))
                for lab, results in self.by_lab().items()}


def pytest_addoption(parser):
    group = parser.getgroup("chatlab grader")
    group.addoption("--target", default="labs",
                    help="what to grade: labs (default, your starter code), solutions, or a folder with the same layout")
    group.addoption("--lang", default="en", choices=("en", "ru"), help="language of the hints")
    group.addoption("--score-json", metavar="FILE", help="write the results in Gradescope's results.json format")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n, bonus=False, hint=None): points a graded test is worth")
    config._chatlab_scores = Scores()
    target_dir(config.getoption("--target"))  # fail early and clearly on a wrong --target
    let_ctrl_c_through()  # a grader started in the background must still be able to Ctrl+C a server


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected: a deselected test is not graded
def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("points")
        if marker is None or not hasattr(item.module, "LAB"):
            continue
        item.config._chatlab_scores.results[item.nodeid] = Result(
            nodeid=item.nodeid, lab=item.module.LAB.stem, name=item.name,
            points=marker.args[0], bonus=marker.kwargs.get("bonus", False))


@pytest.fixture
def scenario(request):
    """The graded test's Scenario, for the lab of its module, against --target."""
    marker = request.node.get_closest_marker("points")
    story = Scenario(request.module.LAB, request.config.getoption("--target"),
                     request.config.getoption("--lang"), marker.kwargs.get("hint") if marker else None,
                     getattr(request.module, "FEATURE_TESTS", None))
    story.current_test = request.node.originalname
    yield story
    story.close()


def rerun_command(item) -> str:
    """The command that re-runs just this test, from the current folder (the kit's, or any other)."""
    config = item.config
    test = item.nodeid if Path.cwd() == config.rootpath else f"{item.path}::{item.nodeid.split('::', 1)[1]}"
    command = f'pytest "{test}" --target {config.getoption("--target")}'
    return command + (" --lang ru" if config.getoption("--lang") == "ru" else "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    result = item.config._chatlab_scores.results.get(item.nodeid)
    if result is None:
        return
    if report.when == "call" and report.failed and "scenario" in getattr(item, "funcargs", {}):
        problem = str(call.excinfo.value) if call.excinfo else "the test failed"
        scenario = item.funcargs["scenario"]
        report.longrepr = scenario.story(problem.strip(), timed_out(problem), rerun_command(item),
                                         call.excinfo.value if call.excinfo else None)
    if report.skipped:  # e.g. a probe this OS cannot run: neither earned nor lost
        del item.config._chatlab_scores.results[item.nodeid]
        return
    if report.when == "call":
        result.passed = report.passed
    if report.failed:
        result.passed = False
        result.output = str(report.longrepr)
        scenario = getattr(item, "funcargs", {}).get("scenario")
        result.diagnoses = list(scenario.diagnoses) if scenario else []


def pytest_terminal_summary(terminalreporter, config):
    scores: Scores = config._chatlab_scores
    if not scores.results:
        return
    write = terminalreporter.write_line
    terminalreporter.section("chatlab score")
    totals = scores.totals()
    for lab, results in scores.by_lab().items():
        earned, possible = totals[lab]
        write(f"{lab:<24} {earned:g}/{possible:g} points ({lab_percent(earned, possible):.0f} %)")
        for result in results:
            if not result.passed:
                kind = "bonus not earned" if result.bonus else "failed"
                write(f"    {kind}: {result.name} ({result.points:g} points)")
    grade, source = assignment_grade(totals)
    weights = ", ".join(f"{stem} {weight:.0%}" for stem, weight in WEIGHTS.items())
    if source:
        write(f"Assignment grade: {grade:.0f} % (best lab: {source}; rubric weights: {weights})")
    else:
        write(f"Assignment grade: 0 % (rubric weights: {weights})")
    path = config.getoption("--score-json")
    if path:
        write_score_json(path, scores, grade)


def write_score_json(path: str, scores: Scores, grade: float) -> None:
    """Gradescope's results.json: the rubric grade as the score, and one entry per test.

    "status" says passed or failed outright, which the points cannot for a bonus test (max_score 0).
    """
    tests = [{"name": f"{r.lab}: {r.name}", "score": r.points if r.passed else 0,
              "max_score": 0 if r.bonus else r.points, "status": "passed" if r.passed else "failed",
              "output": r.output, **({"tags": [f"diagnosis:{key}" for key in r.diagnoses]} if r.diagnoses else {})}
             for r in scores.results.values()]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"score": round(grade, 2), "max_score": 100, "tests": tests}, handle, indent=2, ensure_ascii=False)
