"""Run the grader as a student's grade is run, and build the kit's broken submissions.

`grade()` runs `pytest grader/` in a process of its own, with a hard time limit, and reads
its --score-json (never its terminal text). `release_stubs()` writes the starter code a
release generates into a folder of its own. `build_broken()` turns tests/broken/NAME.json
into a folder the grader can take as --target: a copy of the lab's solution with the
described edits applied, or with whole files of its own.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import KIT_ROOT, SOLUTIONS_DIR, find_lab
from chatlab.classroom.grader_run import GraderProcess, grader_command
from chatlab.release import check, release

BROKEN_DIR = Path(__file__).resolve().parent / "broken"
HARD_LIMIT = 300.0  # seconds: past this a grader run is killed, and that is a failure of the kit


@dataclass
class GradeRun:
    """What one run of the grader reported."""

    target: str
    lab: str | None
    exit_code: int
    seconds: float               # wall time of the whole run, process start to exit
    stdout: str
    score: float = 0.0           # the rubric grade, 0..100
    max_score: float = 0.0
    tests: list[dict] = field(default_factory=list)   # Gradescope's entries: name, score, max_score, status, output

    @property
    def failed(self) -> set[str]:
        """Names of the tests that failed, without their lab ("test_..."), bonus tests included."""
        return {short_name(test) for test in self.tests if test["status"] != "passed"}

    @property
    def outcomes(self) -> dict[str, str]:
        """{"lab: test": "passed" or "failed"}: the whole verdict, for comparing two runs."""
        return {test["name"]: test["status"] for test in self.tests}

    def points(self, lab: str | None = None) -> tuple[float, float]:
        """(earned, possible) over the tests of `lab` (all labs if None); bonus points are earned, never possible."""
        chosen = [test for test in self.tests if lab is None or test["name"].startswith(f"{lab}: ")]
        return sum(test["score"] for test in chosen), sum(test["max_score"] for test in chosen)

    def max_points(self, name: str) -> float:
        """What the test called `name` ("test_...") is worth."""
        return next(test["max_score"] for test in self.tests if short_name(test) == name)

    def output(self, name: str) -> str:
        return next(test["output"] for test in self.tests if short_name(test) == name)

    def diagnosis(self, name: str) -> str | None:
        """The diagnosis that leads the failure report of the test called `name`, or None if it has none."""
        found = next(test for test in self.tests if short_name(test) == name).get("extra_data", {}).get("diagnoses")
        return found[0] if found else None


def short_name(test: dict) -> str:
    """The test's identifier, "test_x" (its name on Gradescope is in words)."""
    return test["extra_data"]["test"]


def grade(target, lab: str | None = None, extra=(), limit: float = HARD_LIMIT,
          role: str | None = None, lang: str = "en") -> GradeRun:
    """Grade `target` (solutions, labs or a folder), one lab (a stem) or all, in a subprocess.

    With `role` ("server" or "client") only that file's modules of the lab are run:
    grader/test_LAB_client.py grades client.py with a server of the grader's, the other
    grader/test_LAB*.py modules grade server.py with clients of the grader's. `lang`: the reports' language.
    The process is killed if it runs past `limit` seconds; then an AssertionError says so,
    with what it printed.
    """
    with tempfile.TemporaryDirectory(prefix="chatlab-grade-") as scratch:
        score_json = Path(scratch) / "results.json"
        paths = None
        if lab and role:
            paths = [str(path) for path in sorted((KIT_ROOT / "grader").glob(f"test_{find_lab(lab).stem}*.py"))
                     if path.stem.endswith("_client") == (role == "client")]
        command = grader_command(target, score_json, keyword=find_lab(lab).stem if lab else None,
                                 lang=lang, paths=paths, extra=extra)
        finished = GraderProcess(command, Path(scratch)).wait(limit)
        if finished.timed_out:
            raise AssertionError(f"grading {target} took over {limit:g} s and was killed; "
                                 f"it printed:\n{finished.output[-3000:]}")
        code, seconds, stdout = finished.exit_code, finished.seconds, finished.output
        run = GradeRun(str(target), lab, code, seconds, stdout)
        if not score_json.exists():
            raise AssertionError(f"grading {target} wrote no score JSON (exit code {code}); "
                                 f"it printed:\n{stdout[-3000:]}")
        results = json.loads(score_json.read_text(encoding="utf-8"))
        run.score, run.max_score, run.tests = results["score"], results["extra_data"]["max_score"], results["tests"]
        return run


def release_stubs(folder: Path) -> Path:
    """`folder` made a --target holding the starter code solutions/ generates, as `chatlab release` writes labs/.

    The kit's tests grade and load this copy, never labs/ itself: labs/ is where a student
    works, and the tests must pass whether it is untouched, half done or finished.
    """
    release(SOLUTIONS_DIR, Path(folder))
    return Path(folder)


EDITED = " (edited by hand since the last release)"  # how `chatlab release --check` marks a student's edit
STUDENT_WORK = ("labs/ differs from what solutions/ generates: a student's work in progress, or a maintainer's "
                "missing `chatlab release`")


def labs_release_problems() -> tuple[list[str], list[str]]:
    """(what makes labs/ out of date with solutions/, the files in it edited since the last release).

    A file of labs/ whose hash is that of the last release (the manifest) but not that of a
    fresh one is stale: a maintainer forgot `chatlab release`. A file whose hash is neither is
    a student's edit: it says nothing about the release, and the kit's tests must pass with it.
    """
    problems = check()
    edited = [problem for problem in problems if problem.endswith(EDITED)]
    return [problem for problem in problems if problem not in edited], edited


def broken_names() -> list[str]:
    """The names of the broken submissions, tests/broken/NAME.json."""
    return sorted(path.stem for path in BROKEN_DIR.glob("*.json"))


def broken_spec(name: str) -> dict:
    return json.loads((BROKEN_DIR / f"{name}.json").read_text(encoding="utf-8"))


def broken_role(spec: dict) -> str | None:
    """"server" or "client" if the broken submission changes only that file, else None."""
    changed = set(spec.get("replace", {})) | set(spec.get("files", []))
    return {frozenset({"server.py"}): "server", frozenset({"client.py"}): "client"}.get(frozenset(changed))


def build_broken(name: str, tmp_path: Path) -> Path:
    """tmp_path made a --target holding broken submission `name` (and PROTOCOL.md); returns tmp_path.

    The lab folder starts as a copy of the solution; then each "replace" edit [old, new] is
    applied (old must occur exactly once) or the "files" are copied from tests/broken/NAME/.
    """
    spec = broken_spec(name)
    lab = find_lab(spec["lab"])
    folder = Path(tmp_path) / lab.stem
    shutil.copytree(SOLUTIONS_DIR / lab.stem, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SOLUTIONS_DIR / "PROTOCOL.md", Path(tmp_path) / "PROTOCOL.md")
    for filename, edits in spec.get("replace", {}).items():
        path = folder / filename
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            count = text.count(old)
            if count != 1:
                raise AssertionError(f"tests/broken/{name}.json: {old!r} occurs {count} times in "
                                     f"solutions/{lab.stem}/{filename}, not exactly once")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    for filename in spec.get("files", []):
        source = BROKEN_DIR / name / filename
        if not source.is_file():
            raise AssertionError(f"tests/broken/{name}.json lists {filename}, but {source} does not exist")
        shutil.copy(source, folder / filename)
    if not spec.get("replace") and not spec.get("files"):
        raise AssertionError(f"tests/broken/{name}.json has neither \"replace\" nor \"files\": it breaks nothing")
    return Path(tmp_path)
