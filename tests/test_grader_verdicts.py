"""The grader's verdicts on submissions whose verdict is known, and how long it takes to give them.

The solutions score full marks, and get the same verdict with every core busy and three
times in a row; the stubs (generated from solutions/ as labs/ is) score zero, fast, and every failure says "not implemented
yet"; every broken submission (tests/broken/NAME.json) loses exactly the tests it names, each
with the diagnosis it names ("fails": {test: diagnosis, or null where the test's own hint is
the right one}), both times it is graded, several at a time on every core. Every run has a
time bound, hanging submissions included.

The grader runs as a subprocess, as a student runs it, and its --score-json is read
(tests/grading.py). The broken submissions are graded in the background, several at a time,
from the stubs' test on (their runs mostly wait on the grader's timeouts), so the runs on
the stubs and the later runs on the solutions are also graded under that load. The times
are printed: `pytest tests/test_grader_verdicts.py -s` shows them.
"""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from grading import GradeRun, broken_names, broken_role, broken_spec, build_broken, grade

from chatlab.harness.waiting import WAIT

SOLUTIONS_BOUND = 120.0  # seconds for the whole grader on the solutions: a guard against a hang, not a speed
                         # target (measured: about 30 alone, lab 5 10 of them; 64 while the broken ones are graded)
STUBS_BOUND = 120.0     # seconds for the whole grader on the stubs, where every test fails at once: a hang guard
                        # (132 tests timing out would take 10 min); measured on 2 CPUs: 19 alone, 74-96 beside the broken ones
# Broken submissions graded at a time, and how often each; the environment can change both.
WORKERS = int(os.environ.get("CHATLAB_BROKEN_WORKERS", "8"))
ATTEMPTS = int(os.environ.get("CHATLAB_BROKEN_ATTEMPTS", "2"))
PITFALL_ROWS = range(1, 32)  # the rows of the catalogue in pitfalls.md


def broken_bound(spec: dict) -> float:
    """Seconds one run of a broken submission may take: a failing test may wait out a timeout or two."""
    return 30.0 + 2 * WAIT * len(spec["fails"])


def failures(run: GradeRun, names) -> str:
    """The failure stories of `names`, for an assertion message."""
    return "\n\n".join(f"--- {name}:\n{run.output(name)[:1500]}" for name in sorted(names))


def same_verdict(run: GradeRun, first: GradeRun, what: str) -> None:
    assert run.outcomes == first.outcomes, f"{what} differs: failed {sorted(run.failed)}\n{failures(run, run.failed)}"
    assert run.score == first.score


@pytest.fixture(scope="module")
def solutions_run() -> GradeRun:
    run = grade("solutions")
    print(f"\nthe whole grader on the solutions: {run.seconds:.1f} s, {len(run.tests)} tests")
    return run


@pytest.fixture(scope="module")
def broken_runs(request, tmp_path_factory):
    """{(name, attempt): Future of its GradeRun}: every broken submission graded ATTEMPTS times.

    The runs start when a test first asks for this fixture and go on in WORKERS threads,
    the likely slowest first; only the submissions whose test was selected (pytest -k) are
    graded. Each run grades only the modules of the file the submission changes (see
    grading.grade), and is killed past twice its bound.
    """
    def build_and_grade(name, folder):
        spec = broken_spec(name)
        return grade(build_broken(name, folder), spec["lab"], limit=2 * broken_bound(spec), role=broken_role(spec))

    selected = {item.callspec.params["name"] for item in request.session.items
                if item.originalname == test_a_broken_submission_loses_exactly_its_tests_every_time.__name__}
    # Slowest first: whole-file submissions (the most unlike a solution), then the most failures.
    slowest_first = sorted(selected, key=lambda name: ("files" not in broken_spec(name),
                                                       -len(broken_spec(name)["fails"]), name))
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="broken")
    runs = {(name, attempt): pool.submit(build_and_grade, name, tmp_path_factory.mktemp(f"{name}-{attempt}"))
            for name in slowest_first for attempt in range(1, ATTEMPTS + 1)}
    yield runs
    pool.shutdown(cancel_futures=True)


def test_the_solutions_score_full_marks(solutions_run):
    assert solutions_run.tests, "the grader graded nothing"
    assert not solutions_run.failed, failures(solutions_run, solutions_run.failed)
    assert solutions_run.exit_code == 0
    assert solutions_run.score == 100 and solutions_run.max_score == 100
    assert solutions_run.seconds < SOLUTIONS_BOUND, f"the solutions took {solutions_run.seconds:.1f} s"


def test_the_solutions_get_the_same_verdict_with_every_core_busy(solutions_run):
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        run = grade("solutions")
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    print(f"\nthe solutions with both cores busy: {run.seconds:.1f} s")
    same_verdict(run, solutions_run, "with every core busy, the verdict")
    assert run.seconds < SOLUTIONS_BOUND


def test_the_stubs_score_zero_at_once_and_every_failure_says_not_implemented_yet(broken_runs, stubs):
    run = grade(stubs)  # while the broken submissions are graded (broken_runs)
    print(f"\nthe whole grader on the stubs: {run.seconds:.1f} s, {len(run.tests)} tests")
    passed = {test["name"] for test in run.tests if test["status"] == "passed"}
    assert not passed, f"the stubs passed {sorted(passed)}"
    assert run.exit_code == 1 and run.score == 0
    assert run.points() == (0, sum(test["max_score"] for test in run.tests))
    silent = [test["name"] for test in run.tests if "not implemented yet" not in test["output"]]
    assert not silent, "these failures do not say 'not implemented yet':\n" + "\n\n".join(
        f"--- {test['name']}:\n{test['output'][:1500]}" for test in run.tests if test["name"] in silent)
    assert run.seconds < STUBS_BOUND, f"the stubs took {run.seconds:.1f} s: a stub must fail at once, not time out"


def test_the_solutions_get_the_same_verdict_three_times_in_a_row(solutions_run, broken_runs):
    runs = [grade("solutions"), grade("solutions")]  # while the broken submissions are graded (broken_runs)
    print("\nthe solutions, graded again: " + ", ".join(f"{run.seconds:.1f} s" for run in runs))
    for number, run in enumerate(runs, 2):
        same_verdict(run, solutions_run, f"run {number}")
        assert run.seconds < SOLUTIONS_BOUND


@pytest.mark.parametrize("name", broken_names())
def test_a_broken_submission_loses_exactly_its_tests_every_time(name, broken_runs):
    spec = broken_spec(name)
    missing = {"lab", "pitfall", "why", "fails"} - spec.keys()
    assert not missing, f"{name}.json lacks {sorted(missing)}"
    assert spec["pitfall"] is None or spec["pitfall"] in PITFALL_ROWS, f"{name}.json: no pitfall row {spec['pitfall']}"
    assert ("replace" in spec) != ("files" in spec), f"{name}.json needs \"replace\" or \"files\", not both"
    runs = [broken_runs[name, attempt].result() for attempt in range(1, ATTEMPTS + 1)]
    print(f"\n{name}: " + ", then ".join(f"{run.seconds:.1f} s" for run in runs))
    assert isinstance(spec["fails"], dict), f"{name}.json: \"fails\" maps each test to its diagnosis (or null)"
    expected = set(spec["fails"])
    first = runs[0]
    for attempt, run in enumerate(runs, 1):
        assert run.failed == expected, (
            f"graded (attempt {attempt}), {name} should fail {sorted(expected)}\nbut failed {sorted(run.failed)}\n"
            f"unexpected failures:\n{failures(run, run.failed - expected)}")
        diagnosed = {test: run.diagnosis(test) for test in expected}
        wrong = {test: found for test, found in diagnosed.items() if found != spec["fails"][test]}
        assert not wrong, (f"graded (attempt {attempt}), {name} got the diagnoses {wrong}, not "
                           f"{ {test: spec['fails'][test] for test in wrong} }\n{failures(run, set(wrong))}")
    lost = sum(max(0, test["max_score"] - test["score"]) for test in first.tests)
    assert lost == sum(first.max_points(test) for test in expected)
    assert first.exit_code == (1 if expected else 0)
    slowest = max(run.seconds for run in runs)
    assert slowest < broken_bound(spec), f"grading {name} took {slowest:.1f} s (bound {broken_bound(spec):g} s)"
