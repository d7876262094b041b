"""How long the grader takes: `python -m chatlab.grading.timing` (maintainers; the README quotes it).

Grades the solutions and then the stubs (labs/), each in a process of its own as a student
would, and prints the wall time of each run, then per lab the number of scenarios, the
points, and the time its scenarios took on each, and the slowest scenarios on the solutions.
The solutions should pass everything and the stubs fail everything, fast: the last lines
say so if not.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import KIT_ROOT, LABS

SLOWEST = 10


@dataclass
class Timed:
    target: str
    seconds: float                                          # wall time of the whole run
    durations: dict[str, float] = field(default_factory=dict)  # test id -> seconds (setup + call + teardown)
    results: list[dict] = field(default_factory=list)       # the --score-json entries


def lab_of(test_id: str) -> str:
    return next((lab.stem for lab in LABS if f"test_{lab.stem}" in test_id), "?")


def run_grader(target: str) -> Timed:
    """Grade `target` with pytest in a subprocess; its wall time, per-test durations and results."""
    with tempfile.TemporaryDirectory(prefix="chatlab-timing-") as scratch:
        junit, scores = Path(scratch) / "junit.xml", Path(scratch) / "results.json"
        command = [sys.executable, "-m", "pytest", str(KIT_ROOT / "grader"), "--target", target, "-q",
                   "-p", "no:cacheprovider", f"--junitxml={junit}", f"--score-json={scores}"]
        started = time.monotonic()
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")  # as `chatlab grade`
        subprocess.run(command, cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        timed = Timed(target, time.monotonic() - started)
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            timed.durations[f"{case.get('classname')}::{case.get('name')}"] = float(case.get("time", 0))
        timed.results = json.loads(scores.read_text(encoding="utf-8"))["tests"]
    return timed


def report(solutions: Timed, stubs: Timed) -> list[str]:
    lines = []
    for timed in (solutions, stubs):
        passed = sum(result["status"] == "passed" for result in timed.results)
        what = "stubs (labs/)" if timed.target == "labs" else timed.target
        lines.append(f"The whole grader on the {what + ':':<14} {timed.seconds:5.1f} s wall "
                     f"({len(timed.results)} scenarios, {passed} passed)")
    lines += ["", f"{'lab':<22} {'scenarios':>9} {'points':>6} {'bonus':>5} {'solutions':>10} {'stubs':>7}"]
    for lab in LABS:
        results = [result for result in solutions.results if result["name"].startswith(f"{lab.stem}: ")]
        points = sum(result["max_score"] for result in results)
        bonus = sum(result["score"] for result in results if result["max_score"] == 0)
        spent = [sum(seconds for test, seconds in timed.durations.items() if lab_of(test) == lab.stem)
                 for timed in (solutions, stubs)]
        lines.append(f"{lab.stem:<22} {len(results):>9} {points:>6g} {bonus:>5g} {spent[0]:>9.1f}s {spent[1]:>6.1f}s")
    lines += ["", f"The {SLOWEST} slowest scenarios on the solutions (setup + call + teardown):"]
    slowest = sorted(solutions.durations.items(), key=lambda item: -item[1])[:SLOWEST]
    lines += [f"  {seconds:5.2f} s  {test.removeprefix('grader.')}" for test, seconds in slowest]
    failed = [result["name"] for result in solutions.results if result["status"] != "passed"]
    passed = [result["name"] for result in stubs.results if result["status"] == "passed"]
    if failed:
        lines += ["", "FAILED on the solutions: " + ", ".join(failed)]
    if passed:
        lines += ["", "PASSED on the stubs: " + ", ".join(passed)]
    return lines


def main() -> int:
    solutions, stubs = run_grader("solutions"), run_grader("labs")
    print("\n".join(report(solutions, stubs)))
    return 0 if solutions.results and all(r["status"] == "passed" for r in solutions.results) else 1


if __name__ == "__main__":
    sys.exit(main())
