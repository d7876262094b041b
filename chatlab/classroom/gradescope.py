"""Gradescope's autograder for one lab: `chatlab gradescope --lab LAB [--rubric FILE] --out autograder.zip`.

The zip holds what Gradescope asks for at its top: `setup.sh`, run once when the autograder is
built (it installs the kit with pip), and `run_autograder`, run for every submission; beside them
the kit's tool and grader, without solutions/, and `gradescope.json` (the lab, its weight, the
language of the reports: `--lang`, else the builder's locale; a zip built before it knew: English).

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
import stat
import sys
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

from chatlab.catalog import Lab, find_lab
from chatlab.classroom.kit import tool_files
from chatlab.classroom.submissions import copy_into, upload_for
from chatlab.grading.plugin import GRADE_OUT_OF, write_not_started, write_results
from chatlab.grading.rubric import LabScore, RubricError, lab_percent, score_text
from chatlab.grading.rubric import load as load_rubric
from chatlab.i18n import LANGUAGES, _, choose, current, use

CONFIG = "gradescope.json"
ROOT_VARIABLE = "CHATLAB_AUTOGRADER_ROOT"

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
    """The lab's weight: 1 (the lab earns all 100 points) unless a rubric file (chatlab/grading/rubric.toml's
    format) gives it one: its [weights] entry, 0 if the lab is not listed there."""
    if rubric is None:
        return 1.0
    try:
        return load_rubric(rubric).weights.get(lab.stem, 0.0)
    except RubricError as error:
        raise SetupError(str(error)) from None


def build(lab: Lab, out: Path, rubric: Path | None = None, lang: str = "en") -> list[str]:
    """Write the autograder zip for `lab` to `out`, its reports in `lang`; return the names it holds."""
    config = {"lab": lab.stem, "weight": rubric_weight(lab, rubric), "lang": lang}
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


def gradescope_results(graded: dict, lab: Lab, weight: float) -> dict:
    """The grader's results for one lab, scored for a one-lab assignment: its percent times its weight."""
    tests = graded["tests"]
    score = LabScore.of(SimpleNamespace(points=t["extra_data"]["points"], bonus=t["extra_data"]["bonus"],
                                        passed=t["status"] == "passed") for t in tests)
    grade = lab_percent(score) * weight
    table = "\n".join(graded["extra_data"]["table"].splitlines()[:-1])  # without the whole assignment's grade line
    return {**graded, "score": round(grade, 2),
            "output": "**" + _("{title} (lab {number}): {grade} of {out_of} points").format(
                title=_(lab.title), number=lab.number, grade=f"{grade:.0f}", out_of=GRADE_OUT_OF) + "** ("
                      + score_text(score, current()) + ("" if weight == 1 else _(", weight {weight}").format(
                          weight=f"{weight:g}")) + f")\n\n```\n{table}\n```",
            "output_format": "md"}


def run(root: Path) -> dict:
    """Grade root/submission for the lab in root/source/gradescope.json; write and return root/results/results.json."""
    from chatlab.notebook.check import GradingFailed, grade_in_child

    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
        lab, weight = find_lab(config["lab"]), float(config["weight"])
        use(config.get("lang", "en"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        write_not_started(str(out), _("The autograder is not set up right ({problem}); rebuild it with {command}")
                          .format(problem=f"{CONFIG}: {error}", command="chatlab gradescope --lab LAB"))
        return json.loads(out.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="chatlab-submission-") as folder:
        target = copy_into(upload_for(root / "submission", lab), Path(folder))
        (target / lab.stem).mkdir(exist_ok=True)  # nothing handed in: the grader says which files are missing
        try:
            graded = grade_in_child(lab.stem, str(target), current())
        except GradingFailed as failure:
            write_not_started(str(out), _("Grading did not finish: {failure}").format(failure=failure))
        else:
            results = gradescope_results(graded, lab, weight) if graded["tests"] else graded
            write_results(str(out), results)
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """`chatlab gradescope --lab LAB [--rubric FILE] --out autograder.zip`: build the autograder."""
    parser = argparse.ArgumentParser(
        prog="chatlab gradescope",
        description=_("Build a Gradescope autograder (setup.sh, run_autograder and the kit without solutions/) "
                    "that grades one lab; set the assignment's points to 100."))
    parser.add_argument("--lab", required=True, help=_("the lab it grades: lab1 ... lab5 (or its number or full name)"))
    parser.add_argument("--rubric", type=Path, metavar="FILE",
                        help=_("a rubric file (the format of chatlab/grading/rubric.toml): the lab earns its weight's "
                             "share of the 100 points (default: all of them)"))
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="ZIP",
                        help=_("where to write it (default: autograder.zip)"))
    parser.add_argument("--lang", choices=LANGUAGES,
                        help=_("language of the reports (default: the locale's: Russian for ru_*, else English)"))
    args = parser.parse_args(argv)
    try:
        lab = find_lab(args.lab)
        names = build(lab, args.out, args.rubric, choose(args.lang))
    except (ValueError, OSError) as error:  # SetupError is a ValueError; find_lab raises one too
        print(f"chatlab gradescope: {error}", file=sys.stderr)
        return 1
    print(_("wrote {zip} ({count} files): grades {lab}; on Gradescope, upload it as the autograder and set the "
            "assignment's points to 100").format(zip=args.out, count=len(names), lab=lab.stem))
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
                          _("The autograder failed: {error}").format(error=f"{type(error).__name__}: {error}"))
    return 0


if __name__ == "__main__":
    sys.exit(autograde(sys.argv[1:]))
