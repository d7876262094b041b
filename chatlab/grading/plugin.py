"""The grading plugin for pytest: options, points, failure stories, the score table, the grade.

`pytest grader/` loads it through grader/conftest.py. Every graded test carries
`@pytest.mark.points(N)` (or `points(N, bonus=True)`: never lost, and earned when it passes in
a lab whose required tests all pass) and
may name the hint for its failure with `hint="key"` (see chatlab/grading/hints.py). At the end of
the run a table per lab shows what was earned and what failed, then the grade under the
assignment's rubric (chatlab/grading/rubric.py). `--score-json FILE` writes Gradescope's
results.json (its specification: score, execution_time, output, tests with score, max_score, name,
status, tags and output), also when grading cannot start (a wrong --target, -k matching nothing):
then with a score of 0 and a top-level output that says why.

A graded test ends in one of four ways: passed; failed; not run, because its lab's file does
not load (chatlab/grading/loading.py: the first test of that lab and file reports why, the
others point to it); or not checkable here, when it is skipped (`pytest.skip(reason)` or a
`skipif` marker: the check cannot be made on this system). Only a passed test earns its
points; all the others lose them, and none leaves the maximum. Tests in
grader/test_LAB_client.py drive the lab's client.py, the other modules its server.py.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chatlab.catalog import find_lab, target_dir
from chatlab.grading.hints import LABELS, label
from chatlab.grading.loading import DoesNotLoad, Loading, NotRun, check
from chatlab.grading.rubric import WEIGHTS, LabScore, active, assignment_grade, score_text
from chatlab.grading.scenario import Scenario
from chatlab.harness.process import let_ctrl_c_through
from chatlab.harness.waiting import timed_out
from chatlab.i18n import LANGUAGES, _, choose, ngettext, translation, use

PASSED, FAILED, NOT_RUN, NOT_CHECKABLE = "passed", "failed", "not-run", "not-checkable"


@dataclass
class Result:
    nodeid: str
    lab: str
    name: str
    points: float
    bonus: bool
    role: str                 # "server" or "client": the lab's file the test drives
    outcome: str = FAILED     # until the test reports: a run stopped early (-x) earns nothing
    output: str = ""          # the failure's story
    note: str = ""            # one line for the score table: a load finding, why not run, why not checkable
    diagnoses: list[str] = field(default_factory=list)   # what the failure's diagnosis found (keys), most telling first

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED


@dataclass
class Scores:
    results: dict[str, Result] = field(default_factory=dict)

    def by_lab(self) -> dict[str, list[Result]]:
        labs: dict[str, list[Result]] = {}
        for result in self.results.values():
            labs.setdefault(result.lab, []).append(result)
        return labs

    def lab_scores(self) -> dict[str, LabScore]:
        return {lab: LabScore.of(results) for lab, results in self.by_lab().items()}


class LoadCheck:
    """Before a graded test runs, the lab's file it drives must load: checked once per lab and file.

    Registered as a plugin of its own (pytest_configure), so that the hook below runs for
    the tests of grader/ too. A file that does not load fails its first test with the finding
    (DoesNotLoad) and every later test of that lab and file at once (NotRun): in place of the
    test, before it starts anything.
    """

    def __init__(self, scores: Scores, target: str):
        self.scores, self.target = scores, target
        self.loadings: dict[tuple[str, str], Loading] = {}
        self.reported_by: dict[tuple[str, str], str] = {}   # the test that carries each finding

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        result = self.scores.results.get(item.nodeid)
        if result is None:
            return
        key = (result.lab, result.role)
        if key not in self.loadings:
            self.loadings[key] = check(find_lab(result.lab), result.role, self.target)
        loading = self.loadings[key]
        if loading.ok:
            return
        first = self.reported_by.setdefault(key, result.name)
        raise DoesNotLoad(loading) if first == result.name else NotRun(loading, first)


def pytest_addoption(parser):
    group = parser.getgroup("chatlab grader")
    group.addoption("--target", default="labs",
                    help="what to grade: labs (default, your starter code), solutions, or a folder with the same layout")
    group.addoption("--lang", default=None, choices=LANGUAGES,
                    help="language of the reports (default: the locale's, Russian for ru_*, else English)")
    group.addoption("--score-json", metavar="FILE", help="write the results in Gradescope's results.json format")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n, bonus=False, hint=None): points a graded test is worth")
    config._chatlab_scores = Scores()
    config._chatlab_started = time.monotonic()
    config.option.lang = choose(config.getoption("--lang"))  # --lang wins, else the locale
    use(config.option.lang)
    try:
        target_dir(config.getoption("--target"))  # fail early and clearly on a wrong --target
    except ValueError as error:
        if config.getoption("--score-json"):
            write_not_started(config.getoption("--score-json"), _("Grading could not start: {why}").format(why=error))
        raise pytest.UsageError(str(error)) from None
    let_ctrl_c_through()  # a grader started in the background must still be able to Ctrl+C a server
    if not config.pluginmanager.has_plugin("chatlab-load-check"):
        config.pluginmanager.register(LoadCheck(config._chatlab_scores, config.getoption("--target")),
                                      "chatlab-load-check")


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected: a deselected test is not graded
def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("points")
        if marker is None or not hasattr(item.module, "LAB"):
            continue
        item.config._chatlab_scores.results[item.nodeid] = Result(
            nodeid=item.nodeid, lab=item.module.LAB.stem, name=item.name,
            points=marker.args[0], bonus=marker.kwargs.get("bonus", False),
            role="client" if item.path.stem.endswith("_client") else "server")


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
    lang = item.config.getoption("--lang")
    error = call.excinfo.value if call.excinfo else None
    if report.skipped:  # the check cannot be made here: its points are lost, never dropped from the maximum
        result.outcome, result.note = NOT_CHECKABLE, skip_reason(report, lang)
        result.output = f"{label('not-checkable', lang)}: {result.note}"
    elif report.failed:
        if isinstance(error, DoesNotLoad):
            report.longrepr = error.loading.story(lang, rerun_command(item))
            result.note = error.loading.what(lang)  # the table names the lab above it
        elif isinstance(error, NotRun):
            result.note = error.loading.not_run(error.first_test, lang)
            report.longrepr = f"{label('not-run', lang)}: {result.note}"
        elif report.when == "call" and "scenario" in getattr(item, "funcargs", {}):
            problem = str(error) if error else "the test failed"
            scenario = item.funcargs["scenario"]
            report.longrepr = scenario.story(problem.strip(), timed_out(problem), rerun_command(item), error)
            result.diagnoses = scenario.diagnoses
        result.outcome = NOT_RUN if isinstance(error, NotRun) else FAILED
        result.output = str(report.longrepr)
    elif report.when == "call":
        result.outcome = PASSED


def skip_reason(report, lang: str) -> str:
    """Why a skipped test could not make its check, in `lang` when the reason is a key of LABELS."""
    longrepr = report.longrepr
    reason = longrepr[2].removeprefix("Skipped: ") if isinstance(longrepr, tuple) else str(longrepr)
    return label(reason, lang) if reason in LABELS else reason


# --- the score table and the results --------------------------------------------------

def points_text(points: float, lang: str) -> str:
    """"1 point", "3 points" ("1 балл", "3 балла"): what a test is worth, in `lang`."""
    return ngettext("{n} point", "{n} points", points, lang).format(n=f"{points:g}")


def lost_rows(results: list[Result], lang: str) -> list[str]:
    """The score table's lines under a lab: each test that did not pass, the tests not run in one line."""
    rows, not_run = [], {}
    for result in results:
        if result.outcome == NOT_RUN:
            not_run.setdefault(result.note, []).append(result)
            continue
        if result.outcome == FAILED:
            kind = "row-bonus-not-earned" if result.bonus else "row-failed"
        elif result.outcome == NOT_CHECKABLE:
            kind = "row-not-checkable"
        else:
            continue
        rows.append(f"    {label(kind, lang)}: {result.name} ({points_text(result.points, lang)})"
                    + (f": {result.note}" if result.note else ""))
    for note, skipped in not_run.items():
        count = ngettext("{count} test not run ({points})", "{count} tests not run ({points})", len(skipped),
                         lang).format(count=len(skipped), points=points_text(sum(r.points for r in skipped), lang))
        rows.append(f"    {count}: {note}")
    return rows


def score_table(scores: Scores, lang: str) -> tuple[list[str], float]:
    """The lines of the score table (each lab's score, what it lost, the grade) and the grade itself."""
    lines = []
    lab_scores = scores.lab_scores()
    for lab, results in scores.by_lab().items():
        lines.append(f"{lab:<24} {score_text(lab_scores[lab], lang)}")
        lines += lost_rows(results, lang)
    grade, source = assignment_grade(lab_scores)
    weights = ", ".join(f"{stem} {weight:.0%}" for stem, weight in WEIGHTS.items())
    kind = "grade-sum" if active().counts == "sum" else "grade"
    lines.append(label(kind, lang).format(grade=f"{grade:.0f}", lab=source, weights=weights) if source
                 else label("grade-none", lang).format(weights=weights))
    return lines, grade


def pytest_terminal_summary(terminalreporter, config):
    scores: Scores = config._chatlab_scores
    path = config.getoption("--score-json")
    if not scores.results:
        if path:
            write_not_started(path, _("Grading could not start: {why}").format(
                why=_("no graded test was selected (does -k match a test's name?)")))
        return
    lang = config.getoption("--lang")
    terminalreporter.section("chatlab score")
    lines, grade = score_table(scores, lang)
    for line in lines:
        terminalreporter.write_line(line)
    if path:
        seconds = time.monotonic() - config._chatlab_started
        write_score_json(path, scores, grade, "\n".join(lines), lang, seconds)


def test_words(name: str) -> str:
    """A test's name as a reader says it: "test_two_clients_chat[tcp]" -> "two clients chat [tcp]"."""
    base, bracket, rest = name.partition("[")
    return base.removeprefix("test_").replace("_", " ") + (f" [{rest}" if bracket else "")


def test_title(name: str, lang: str) -> str:
    """A test's title as Gradescope shows it, in `lang`: its words (test_words), the Russian title being the
    catalog's translation of them ("two clients chat" -> "два клиента переписываются"), its parameters as they
    are. tests/test_gradescope.py checks that every test of grader/ has one."""
    base, bracket, rest = name.partition("[")
    return translation(lang).gettext(test_words(base)) + (f" [{rest}" if bracket else "")


def without_rerun(output: str, lang: str) -> str:
    """A failure's story without its local "re-run only this test" command, which means nothing on Gradescope."""
    prefix = f"{label('rerun', lang)}: "
    return "".join(line for line in output.splitlines(keepends=True) if not line.startswith(prefix))


def gradescope_test(result: Result, lab_score: LabScore, lang: str) -> dict:
    """One test in Gradescope's format, named in words and tagged with its lab. A bonus test earns its
    points as the rubric says (by default only in a lab whose required tests all passed: LabScore's
    counted_bonus); "status" says passed or failed outright, which
    the points cannot for a bonus test (max_score 0); "extra_data" keeps what the points cannot say (the
    test's identifier, its points, its outcome, the diagnoses), for the notebook's report and the kit's tests."""
    counted = result.passed and (not result.bonus or lab_score.counted_bonus > 0)
    return {"name": f"{result.lab}: {test_title(result.name, lang)}", "tags": [result.lab],
            "score": result.points if counted else 0, "max_score": 0 if result.bonus else result.points,
            "status": "passed" if result.passed else "failed",
            "output": label("bonus-not-counted", lang) if result.passed and not counted
            else without_rerun(result.output, lang),
            "output_format": "text",
            "extra_data": {"lab": result.lab, "test": result.name, "points": result.points, "bonus": result.bonus,
                           "outcome": result.outcome, "diagnoses": result.diagnoses}}


GRADE_OUT_OF = 100  # the score is the rubric's grade in percent: the Gradescope assignment is worth 100 points


def score_markdown(table: str, grade: float) -> str:
    """The top-level output: the grade, then the score table as the terminal shows it (preformatted)."""
    return "**" + _("Grade: {grade} of {out_of}").format(grade=f"{grade:.0f}", out_of=GRADE_OUT_OF) + \
        f"**\n\n```\n{table}\n```"


def write_results(path: str, results: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)


def write_not_started(path: str, why: str) -> None:
    """A results.json for a run that graded nothing: a score of 0, and the one line that says why."""
    write_results(path, {"score": 0, "output": why, "output_format": "text", "tests": [],
                         "extra_data": {"max_score": GRADE_OUT_OF, "not_started": True}})


def write_score_json(path: str, scores: Scores, grade: float, table: str, lang: str, seconds: float) -> None:
    """Gradescope's results.json: the rubric grade as the score (it overrides the tests' sum, so the
    assignment's points must be 100), the grade and score table as Markdown, a test per test."""
    lab_scores = scores.lab_scores()
    tests = [gradescope_test(r, lab_scores[r.lab], lang) for r in scores.results.values()]
    write_results(path, {"score": round(grade, 2), "execution_time": round(seconds),
                         "output": score_markdown(table, grade), "output_format": "md",
                         "stdout_visibility": "hidden", "tests": tests,
                         "extra_data": {"max_score": GRADE_OUT_OF, "table": table}})
