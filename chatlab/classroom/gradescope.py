"""Gradescope's autograder for one lab: `chatlab gradescope --lab LAB [--rubric FILE] --out autograder.zip`.

The zip holds what Gradescope asks for at its top: `setup.sh`, run once when the autograder is
built (it installs the kit with pip), and `run_autograder`, run for every submission; beside them
the kit's tool and grader, without solutions/, and `gradescope.json` (the lab, its weight).

For each submission, `run_autograder` runs `python -m chatlab.classroom.gradescope ROOT` (ROOT is
/autograder unless CHATLAB_AUTOGRADER_ROOT says otherwise, as the kit's tests do), which:

1. places the upload into the lab's folder layout: a folder named after the lab anywhere in the
   upload, or else the folder holding server.py or client.py (a flat upload: the files at the top);
2. grades it as `chatlab grade LAB --target FOLDER --score-json` does, in a child process with a
   time limit;
3. writes ROOT/results/results.json: the lab's tests in Gradescope's format, and as the score the
   lab's percent (0-100, bonus never past 100) times its weight. The score overrides the tests' sum,
   so the assignment on Gradescope is worth 100 points. Whatever goes wrong, results.json is
   written, with a top-level output that says what.
"""
from __future__ import annotations

import argparse
import json
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

from chatlab.catalog import Lab, find_lab
from chatlab.classroom.kit import tool_files
from chatlab.grading.plugin import GRADE_OUT_OF, write_not_started, write_results
from chatlab.grading.rubric import LabScore, lab_percent, score_text

CONFIG = "gradescope.json"
ROOT_VARIABLE = "CHATLAB_AUTOGRADER_ROOT"
ROLES = ("server.py", "client.py")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder: install the kit (the grader and its tools).
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
fi
python3 -m pip install --quiet -e .
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade ROOT/submission, write ROOT/results/results.json.
# ROOT is /autograder; CHATLAB_AUTOGRADER_ROOT points it at another folder of the same shape.
ROOT="${CHATLAB_AUTOGRADER_ROOT:-/autograder}"
export PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}"  # the kit in source/, whatever else is installed
cd "$ROOT/source" && exec python3 -m chatlab.classroom.gradescope "$ROOT"
"""


class SetupError(ValueError):
    """The autograder cannot be built as asked (a bad --rubric): one line says why."""


def rubric_weight(lab: Lab, rubric: Path | None) -> float:
    """The lab's weight: 1 (the lab earns all 100 points) unless a rubric file, a JSON object of
    lab -> weight between 0 and 1 (e.g. {"lab4": 0.8}), names the lab."""
    if rubric is None:
        return 1.0
    try:
        weights = {find_lab(name).stem: weight for name, weight in json.loads(rubric.read_text("utf-8")).items()}
    except (OSError, ValueError, AttributeError) as error:
        raise SetupError(f"--rubric {rubric}: expected a JSON object of lab -> weight, e.g. "
                         f'{{"lab4": 0.8}} ({error})') from None
    weight = weights.get(lab.stem, 1.0)
    if not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise SetupError(f"--rubric {rubric}: the weight of {lab.stem} must be a number from 0 to 1, not {weight!r}")
    return float(weight)


def build(lab: Lab, out: Path, rubric: Path | None = None) -> list[str]:
    """Write the autograder zip for `lab` to `out`; return the names it holds."""
    config = {"lab": lab.stem, "weight": rubric_weight(lab, rubric)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text, mode in (("setup.sh", SETUP_SH, 0o755), ("run_autograder", RUN_AUTOGRADER, 0o755),
                                 (CONFIG, json.dumps(config, indent=2) + "\n", 0o644)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16  # the scripts executable once unzipped
            archive.writestr(info, text)
        for name, source in tool_files().items():
            archive.write(source, name)
        return archive.namelist()


def place_upload(upload: Path, lab: Lab, into: Path) -> Path:
    """`into` made a --target for `lab`: the upload's folder named after the lab, or else the shallowest
    folder holding server.py or client.py, copied to into/LAB. An upload with neither leaves the lab's
    folder empty, and the grader reports its files missing. (To fold into chatlab/classroom/submissions.py.)"""
    folders = sorted((path for path in upload.rglob(lab.stem) if path.is_dir()), key=lambda p: len(p.parts))
    if not folders:
        files = sorted((path for role in ROLES for path in upload.rglob(role)), key=lambda p: len(p.parts))
        folders = [files[0].parent] if files else []
    if folders:
        shutil.copytree(folders[0], into / lab.stem, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        (into / lab.stem).mkdir(parents=True)
    return into


def gradescope_results(graded: dict, lab: Lab, weight: float) -> dict:
    """The grader's results for one lab, scored for a one-lab assignment: its percent times its weight."""
    tests = graded["tests"]
    score = LabScore.of(SimpleNamespace(points=t["extra_data"]["points"], bonus=t["extra_data"]["bonus"],
                                        passed=t["status"] == "passed") for t in tests)
    grade = lab_percent(score) * weight
    table = "\n".join(graded["extra_data"]["table"].splitlines()[:-1])  # without the whole assignment's grade line
    return {**graded, "score": round(grade, 2),
            "output": f"**{lab.title} (lab {lab.number}): {grade:.0f} of {GRADE_OUT_OF} points** "
                      f"({score_text(score)}{'' if weight == 1 else f', weight {weight:g}'})\n\n```\n{table}\n```",
            "output_format": "md"}


def run(root: Path) -> dict:
    """Grade root/submission for the lab in root/source/gradescope.json; write and return root/results/results.json."""
    from chatlab.notebook.check import GradingFailed, grade_in_child

    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
        lab, weight = find_lab(config["lab"]), float(config["weight"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        write_not_started(str(out), f"The autograder is not set up right ({CONFIG}: {error}); "
                                    "rebuild it with chatlab gradescope --lab LAB")
        return json.loads(out.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="chatlab-submission-") as folder:
        target = place_upload(root / "submission", lab, Path(folder))
        try:
            graded = grade_in_child(lab.stem, str(target))
        except GradingFailed as failure:
            write_not_started(str(out), f"Grading did not finish: {failure}")
        else:
            results = gradescope_results(graded, lab, weight) if graded["tests"] else graded
            write_results(str(out), results)
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """`chatlab gradescope --lab LAB [--rubric FILE] --out autograder.zip`: build the autograder."""
    parser = argparse.ArgumentParser(
        prog="chatlab gradescope",
        description="Build a Gradescope autograder (setup.sh, run_autograder and the kit without solutions/) "
                    "that grades one lab; set the assignment's points to 100.")
    parser.add_argument("--lab", required=True, help="the lab it grades: lab1 ... lab4 (or its number or full name)")
    parser.add_argument("--rubric", type=Path, metavar="FILE",
                        help='a JSON object of lab -> weight from 0 to 1, e.g. {"lab4": 0.8}: the lab earns '
                             "that share of the 100 points (default 1)")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="ZIP",
                        help="where to write it (default: autograder.zip)")
    args = parser.parse_args(argv)
    try:
        lab = find_lab(args.lab)
        names = build(lab, args.out, args.rubric)
    except (ValueError, OSError) as error:  # SetupError is a ValueError; find_lab raises one too
        print(f"chatlab gradescope: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({len(names)} files): grades {lab.stem}; on Gradescope, upload it as the "
          "autograder and set the assignment's points to 100")
    return 0


def autograde(argv: list[str]) -> int:
    """What run_autograder runs: `python -m chatlab.classroom.gradescope ROOT`. Always writes results.json."""
    if len(argv) != 1:
        print("usage: python -m chatlab.classroom.gradescope ROOT (what run_autograder runs)", file=sys.stderr)
        return 2
    root = Path(argv[0])
    try:
        run(root)
    except Exception as error:  # whatever it is, Gradescope must get results that say it
        (root / "results").mkdir(parents=True, exist_ok=True)
        write_not_started(str(root / "results" / "results.json"),
                          f"The autograder failed: {type(error).__name__}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(autograde(sys.argv[1:]))
