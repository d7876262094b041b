"""The student kit (`chatlab release --student-kit`, chatlab/classroom/kit.py), built once and used as a student has it.

To keep this short the kit is built with two of its notebooks, start_here and lab 1 (building
all five takes about a minute; tests/test_notebooks.py executes every notebook). Everything in
the kit runs with PYTHONPATH pointing at it, so its own chatlab is the one imported, never this one.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from chatlab.catalog import LABS, SOLUTIONS_DIR, find_lab
from chatlab.classroom import kit
from chatlab.notebook import runner
from chatlab.release import generate

LAB1 = find_lab("lab1")
LIMIT = 240  # seconds any one command in the kit may take: a broken kit fails instead of hanging


@pytest.fixture(scope="module")
def student_kit(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("student-kit")
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "all_notebooks", lambda lang="en": [runner.notebook_path(name, lang)
                                                                   for name in (("start_here", "lab1") if lang == "en"
                                                                                else ("lab1",))])
        kit.build_student_kit(folder, say=lambda line: None)
    print(f"\nthe student kit with 3 notebooks (2 English, 1 Russian) was built in {time.monotonic() - started:.1f} s")
    return folder


def in_kit(folder: Path, *command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `command` in the kit's folder with the kit's own chatlab (PYTHONPATH), this Python first on PATH."""
    environment = dict(os.environ, PYTHONPATH=str(folder), PYTHONDONTWRITEBYTECODE="1", **(env or {}),
                       PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=LIMIT,
                          stdin=subprocess.DEVNULL)


def windows(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Every run of `size` consecutive non-blank lines, stripped: what "the same code" means here."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {tuple(lines[i:i + size]) for i in range(len(lines) - size + 1)}


def solution_code() -> set[tuple[str, ...]]:
    """The runs of lines inside the solutions' BEGIN/END SOLUTION regions that the starter code does not hold."""
    found = set()
    for path in SOLUTIONS_DIR.rglob("*.py"):
        region = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("# BEGIN SOLUTION"):
                region = []
            elif line.strip() == "# END SOLUTION":
                found |= windows("\n".join(region))
                region = None
            elif region is not None:
                region.append(line)
    given = set().union(*(windows(text) for name, text in generate().items() if name.endswith(".py")))
    return found - given


def test_the_kit_holds_no_solution_code(student_kit):
    secret = solution_code()
    assert secret & windows((SOLUTIONS_DIR / LAB1.stem / "server.py").read_text(encoding="utf-8")), \
        "the check finds nothing even in the solution itself"
    leaks = {}
    for path in student_kit.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".yml", ".json", ".toml"):
            found = secret & windows(path.read_text(encoding="utf-8"))
            if found:
                leaks[path.relative_to(student_kit).as_posix()] = sorted(found)[:2]
    assert not leaks, f"solution code in the kit: {leaks}"
    names = {path.relative_to(student_kit).as_posix() for path in student_kit.rglob("*")}
    assert not [name for name in names if name.startswith(("solutions", "tests/broken", "tests/own_way",
                                                           "chatlab/bench/peers"))]
    assert {"labs/lab1_echo/server.py", ".github/workflows/classroom.yml", "notebooks/lab1_echo.ipynb",
            "notebooks/ru/lab1_echo.ipynb", "README.ru.md"} <= names


def test_the_notebooks_carry_the_outputs_recorded_when_the_kit_was_built(student_kit):
    notebook = nbformat.read(student_kit / "notebooks" / "lab1_echo.ipynb", as_version=4)
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert "the same bytes came back: True" in printed, "the reference's outputs were not recorded"
    assert str(Path.home()) not in json.dumps(notebook), "a path of the machine that built it"


def test_its_notebook_executes_headless_keeping_the_recorded_outputs(student_kit, tmp_path):
    done = in_kit(student_kit, sys.executable, "-m", "chatlab.cli", "notebooks", "lab1", "--html", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "lab1_echo.ipynb: ok" in done.stdout and "recorded outputs kept" in done.stdout
    page = (tmp_path / "lab1_echo.html").read_text(encoding="utf-8")
    assert runner.RECORDED.strip() in page and "the same bytes came back: True" in page
    assert "<title>Lab 1: TCP echo server</title>" in page
    images = re.findall(r"<img\b[^>]*>", page)
    assert images and all(re.search(r'alt="[^"]+"', image) for image in images), "a picture without alt text"
    assert 'alt="Two echo clients at once: each arrow is one recv or sendall of the server"' in page
    assert str(student_kit) not in page and str(Path.home()) not in page


def test_without_the_reference_a_session_says_so_in_one_line_then_runs_the_students_server(student_kit, tmp_path):
    script = ("import json\n"
              "from chatlab.catalog import find_lab\n"
              "from chatlab.harness.session import ReferenceMissing, lab_session\n"
              "try:\n"
              "    with lab_session(find_lab('lab1')) as session:\n"
              "        client = session.client('alice'); client.send_line('hi'); print(client.expect('hi'))\n"
              "except ReferenceMissing as missing:\n"
              "    print(json.dumps(missing._render_traceback_()))\n")
    before = in_kit(student_kit, sys.executable, "-c", script)
    (line,) = json.loads(before.stdout)
    assert line.startswith("the reference is not in this kit: ") and "labs/lab1_echo/server.py" in line
    shutil.copy(student_kit / "labs" / LAB1.stem / "server.py", tmp_path / "stub.py")
    shutil.copy(SOLUTIONS_DIR / LAB1.stem / "server.py", student_kit / "labs" / LAB1.stem / "server.py")
    try:  # a student whose server is written
        after = in_kit(student_kit, sys.executable, "-c", script)
    finally:
        shutil.copy(tmp_path / "stub.py", student_kit / "labs" / LAB1.stem / "server.py")
    assert after.stdout.splitlines() == [
        "the reference is not in this kit: running your labs/lab1_echo/server.py instead", "hi"], after.stderr


def test_the_kits_own_tests_pass_in_it(student_kit):
    done = in_kit(student_kit, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-3000:]
    counts = done.stdout.strip().splitlines()[-1]
    assert "passed" in counts and "skipped" not in counts and "failed" not in counts, counts


def test_the_classroom_workflow_grades_each_lab_with_partial_credit(student_kit, tmp_path):
    """Runs the workflow's grading steps as they are written (the install step aside: PYTHONPATH stands for it)."""
    workflow = yaml.safe_load((student_kit / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    steps = {step["id"]: step["run"] for step in job["steps"] if "id" in step}
    reporter = next(step for step in job["steps"] if "autograding-grading-reporter" in step.get("uses", ""))
    every_lab = [f"lab{lab.number}" for lab in LABS]
    assert sorted(steps) == every_lab == reporter["with"]["runners"].split(",")
    assert set(reporter["env"]) == {f"LAB{lab.number}_RESULTS" for lab in LABS}
    lab1_folder = student_kit / "labs" / LAB1.stem
    stubs = {name: (lab1_folder / name).read_bytes() for name in ("server.py", "client.py")}
    (lab1_folder / "server.py").write_bytes((SOLUTIONS_DIR / LAB1.stem / "server.py").read_bytes())
    try:  # lab 1's server written, its client not, and the other labs untouched
        results = {}
        for step, command in steps.items():
            output = tmp_path / f"{step}.txt"
            done = in_kit(student_kit, "bash", "-c", command, env={"GITHUB_OUTPUT": str(output)})
            assert done.returncode == 0, done.stderr[-3000:]
            key, _, value = output.read_text(encoding="utf-8").strip().partition("=")
            assert key == "result"
            results[step] = json.loads(base64.b64decode(value))
    finally:
        for name, data in stubs.items():
            (lab1_folder / name).write_bytes(data)
    lab1 = results["lab1"]
    earned = sum(test["score"] for test in lab1["tests"])
    assert 0 < earned < lab1["max_score"] and lab1["status"] == "fail", "no partial credit"
    for step in every_lab[1:]:
        assert results[step]["max_score"] > 0 and sum(test["score"] for test in results[step]["tests"]) == 0


@pytest.mark.parametrize("command, says", [
    (["bench"], "chatlab: chatlab bench measures the reference server, which is not in this kit"),
    (["release"], "does not exist (a student kit has no solutions/): nothing to release"),
    (["release", "--student-kit", "another-kit"], "does not exist (a student kit has no solutions/)"),
])
def test_what_needs_the_reference_says_so_in_one_line(student_kit, command, says):
    done = in_kit(student_kit, sys.executable, "-m", "chatlab.cli", *command)
    assert done.returncode == 1 and says in done.stderr, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    assert not (student_kit / "another-kit").exists()
