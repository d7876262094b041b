"""The student kit, `chatlab release --student-kit DIR`, and what its GitHub Classroom workflow runs.

A student kit is this kit without the reference: no solutions/, nothing written from them
(tests/broken/, tests/own_way/, the benchmark's servers), and only the kit's own tests that
can run without them (KIT_TESTS). labs/ is a fresh release. The notebooks are executed here,
against the reference, when the kit is built, so they carry the outputs it produced; in the
kit, a cell that runs the reference says so in one line (chatlab.harness.session.stand_in),
and `chatlab notebooks` keeps its recorded outputs (chatlab.notebook.runner).

The kit carries .github/workflows/classroom.yml (from classroom.yml beside this file): on every
push it grades each lab with `python -m chatlab.classroom.kit result LAB`, which prints the
lab's result for GitHub Classroom's grading reporter: partial credit, a test's points for
each test passed.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from chatlab.catalog import KIT_ROOT, LABS, find_lab

WORKFLOW = Path(__file__).with_name("classroom.yml")
WORKFLOW_IN_KIT = ".github/workflows/classroom.yml"
# The kit's own tests that never need the reference: the rest grade or run solutions/.
KIT_TESTS = ("conftest.py", "grading.py", "test_hints.py", "test_rubric.py", "test_terminal.py")
NOT_IN_KIT = ("chatlab/bench/",)  # the benchmark runs the reference and an asyncio chat server
BENCH_STAND_IN = '''"""`chatlab bench` measures the reference server against an asyncio peer: neither is in a student kit."""
from chatlab.harness.session import ReferenceMissing

raise ReferenceMissing("chatlab bench measures the reference server, which is not in this kit")
'''


class KitError(ValueError):
    """The student kit cannot be built: one line says why."""


def tool_files() -> dict[str, Path]:
    """{relative posix path: file} of the tool and its grader, and what installs them: what the student
    kit and the Gradescope autograder ship (never solutions/, labs/, notebooks/ or tests/)."""
    found = {name: KIT_ROOT / name for name in ("pyproject.toml", "README.md")}
    for folder in ("chatlab", "grader"):
        for path in sorted((KIT_ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".yml", ".toml", ".po",
                                                                                      ".mo"):  # .po/.mo: chatlab/i18n.py
                found[path.relative_to(KIT_ROOT).as_posix()] = path
    return found


def build_student_kit(folder: Path, say=print) -> list[str]:
    """Write the student kit into `folder` (new or empty); return the relative paths written."""
    from chatlab.notebook.language import LANGUAGES
    from chatlab.notebook.runner import all_notebooks, execute, without_paths
    from chatlab.release import check, generate

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise KitError(f"{folder} is not an empty folder: give a new or empty one")
    if check():
        raise KitError("labs/ is out of date with solutions/ (the notebooks run against it): run `chatlab release`")
    files: dict[str, bytes] = {name: path.read_bytes() for name, path in tool_files().items()
                               if not name.startswith(NOT_IN_KIT)}
    files["chatlab/bench/__init__.py"] = BENCH_STAND_IN.encode("utf-8")
    files.update({f"labs/{name}": text.encode("utf-8") for name, text in generate().items()})
    files.update({f"tests/{name}": (KIT_ROOT / "tests" / name).read_bytes() for name in KIT_TESTS})
    files[".gitignore"] = (KIT_ROOT / ".gitignore").read_bytes()
    files["README.md"] = kit_readme().encode("utf-8")
    files[WORKFLOW_IN_KIT] = WORKFLOW.read_bytes()
    files["README.ru.md"] = (KIT_ROOT / "README.ru.md").read_bytes()
    for path in [notebook for lang in LANGUAGES for notebook in all_notebooks(lang)]:  # notebooks/ and notebooks/ru/
        name = path.relative_to(KIT_ROOT).as_posix()
        say(f"{name}: running it against the reference, to record its outputs ...")
        executed = execute(path, "labs")  # the check cells grade the starter code, as a student's first run does
        if executed.errors:
            raise KitError(f"{name} failed when run against the reference: {'; '.join(executed.errors)}")
        files[name] = notebook_bytes(without_paths(executed.notebook))
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return sorted(files)


KIT_NOTE = """
> **This is the student kit.** The reference solutions are not in it: where this README says
> `--target solutions`, or `chatlab bench`, those need the full kit, and say so in one line.
> The notebooks show what the reference did when the kit was built. Your code goes in `labs/`;
> `chatlab grade` grades it, and so does GitHub Classroom on every push
> (`.github/workflows/classroom.yml`).
"""


def kit_readme() -> str:
    """The kit's README with a note under its title: what this kit leaves out, and where the student works."""
    title, _, rest = (KIT_ROOT / "README.md").read_text(encoding="utf-8").partition("\n")
    return f"{title}\n{KIT_NOTE}{rest}"


def notebook_bytes(notebook) -> bytes:
    import nbformat
    return (nbformat.writes(notebook) + "\n").encode("utf-8")


# --- the GitHub Classroom workflow's step: a lab's result for the grading reporter ----------------

def classroom_result(lab_stem: str, graded: dict) -> dict:
    """A lab's result as GitHub Classroom's grading reporter reads it: max_score the lab's required points,
    and each test its points if it passed (a bonus test shows passed or failed, worth 0: a lab never
    passes its maximum)."""
    tests = [{"name": test["name"], "status": "pass" if test["status"] == "passed" else "fail",
              "score": test["score"] if not test["extra_data"]["bonus"] else 0,
              "message": test["output"][:2000], "line_no": 0, "filename": "", "test_code": ""}
             for test in graded["tests"]]
    possible = sum(test["max_score"] for test in graded["tests"])
    status = "pass" if tests and all(test["status"] == "pass" for test in tests) else "fail"
    return {"version": 1, "status": status, "max_score": possible, "tests": tests}


def lab_result(lab_stem: str) -> dict:
    """Grade labs/LAB in a child process: its result for the reporter, or an error result that says why not."""
    from chatlab.notebook.check import GradingFailed, grade_in_child

    try:
        return classroom_result(lab_stem, grade_in_child(lab_stem, "labs"))
    except GradingFailed as failure:
        return {"version": 1, "status": "error", "max_score": 0,
                "tests": [{"name": lab_stem, "status": "error", "score": 0, "message": str(failure)[:2000]}]}


def main(argv: list[str] | None = None) -> int:
    """`python -m chatlab.classroom.kit result LAB`: grade labs/LAB; print `result=...` for $GITHUB_OUTPUT."""
    parser = argparse.ArgumentParser(prog="python -m chatlab.classroom.kit",
                                     description="The GitHub Classroom workflow's step: grade one lab of labs/ "
                                                 "and print its result for the grading reporter.")
    parser.add_argument("command", choices=["result"])
    parser.add_argument("lab", help=", ".join(f"lab{lab.number}" for lab in LABS))
    args = parser.parse_args(argv)
    try:
        lab = find_lab(args.lab)
    except ValueError as error:
        parser.error(str(error))
    result = lab_result(lab.stem)
    print("result=" + base64.b64encode(json.dumps(result).encode("utf-8")).decode("ascii"))
    earned = sum(test["score"] for test in result["tests"])
    print(f"{lab.stem}: {earned:g} of {result['max_score']:g} points ({result['status']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

