"""Build a class of submissions as students hand them in, for `chatlab grade-all`, and check its gradebook.

    python tests/classroom/make_class.py FOLDER     # then: chatlab grade-all FOLDER --lab lab1 --jobs 2
    python tests/classroom/make_class.py FOLDER --check gradebook.csv   # each row = grading that student alone

One folder per student: the reference (all four labs, and lab 3 alone), the starter code, lab
folders named short (`lab2`), flat uploads of lab 1 (which `--lab lab1` names), broken
submissions from tests/broken/ (a SyntaxError, an import that hangs, a shutdown ignored,
lost points of every kind), an empty folder, notes without code, and the hostile ones in
tests/classroom/ (one imports the reference, one writes outside its folder).
"""
from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))  # run as a script too: tests/grading.py builds the broken ones

from grading import build_broken, grade, release_stubs  # noqa: E402

from chatlab.catalog import LABS, SOLUTIONS_DIR, find_lab  # noqa: E402
from chatlab.classroom.submissions import copy_into, read_submission  # noqa: E402

HOSTILE = ("imports_the_reference", "writes_outside")
BROKEN = ("load_syntax_error", "load_missing_import", "load_client_crashes_at_import", "lab1_import_blocks",
          "lab1_init_raises", "lab1_reads_once", "lab1_shutdown_ignored", "lab1_spins_on_eof",
          "lab1_sys_exit_in_handler", "lab2_echo_to_sender", "lab2_send_not_sendall", "lab2_crlf_kept",
          "lab2_no_leave_notice", "lab2_recv_is_a_message", "lab3_duplicate_nicknames", "lab3_unsorted_users",
          "lab3_strict_decode", "lab4_echo_to_sender", "lab4_recv_1024", "lab4_client_no_keepalive",
          "lab4_keyed_by_ip")
FLAT_LAB = "lab1_echo"   # the lab of the flat uploads: grade the class with --lab lab1


def make_class(folder: Path, broken=BROKEN, whole: bool = True) -> list[str]:
    """Write the class into `folder` (which must not exist yet); the students' names.

    Without `whole`, the students whose grading takes longest (the reference of labs 2 to 4,
    the starter code) are left out.
    """
    folder.mkdir(parents=True)
    pristine = shutil.ignore_patterns("__pycache__")
    if whole:
        reference = folder / "reference_all_labs"
        for lab in LABS:
            shutil.copytree(SOLUTIONS_DIR / lab.stem, reference / lab.stem, ignore=pristine)
        shutil.copytree(SOLUTIONS_DIR / "lab3_multi_user_chat", folder / "reference_lab3_only" / "lab3_multi_user_chat",
                        ignore=pristine)
        shutil.copytree(SOLUTIONS_DIR / "lab2_two_user_chat", folder / "short_folder_names" / "lab2", ignore=pristine)
        release_stubs(folder / "starter_code")
        (folder / "starter_code" / "PROTOCOL.md").unlink()  # as a student hands it in: the labs only
    for name in ("server.py", "client.py"):
        (folder / "flat_upload").mkdir(exist_ok=True)
        shutil.copy(SOLUTIONS_DIR / FLAT_LAB / name, folder / "flat_upload" / name)
    flat_syntax = folder / "flat_upload_syntax_error"
    shutil.copytree(folder / "flat_upload", flat_syntax)
    (flat_syntax / "server.py").write_text("class EchoServer:\n    def __init__(self, host, port)\n", encoding="utf-8")
    (folder / "empty_folder").mkdir()
    (folder / "notes_only").mkdir()
    (folder / "notes_only" / "README.txt").write_text("I will hand in my chat next week.\n", encoding="utf-8")
    for name in HOSTILE:
        shutil.copytree(Path(__file__).resolve().parent / name, folder / name)
    for name in broken:
        build_broken(name, folder / f"broken_{name}")
        (folder / f"broken_{name}" / "PROTOCOL.md").unlink()
    return sorted(path.name for path in folder.iterdir())


def mismatches(folder: Path, gradebook: Path, lab: str = FLAT_LAB) -> list[str]:
    """How the gradebook's rows differ from grading each student's copy alone (tests/grading.py grade()).

    A lab's points are its required points earned; the grade is the rubric's. Students with
    nothing to grade must have no points at all.
    """
    with open(gradebook, newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    found = []
    with tempfile.TemporaryDirectory(prefix="chatlab-alone-") as scratch:
        for student, row in sorted(rows.items()):
            submission = read_submission(folder / student, find_lab(lab))
            if not submission.labs:
                if any(row[stem] for stem in (lab.stem for lab in LABS)):
                    found.append(f"{student}: points in the gradebook, nothing handed in")
                continue
            alone = grade(copy_into(submission, Path(scratch) / student))
            for stem in submission.labs:
                required = sum(test["score"] for test in alone.tests
                               if test["extra_data"]["lab"] == stem and test["max_score"] > 0)
                if float(row[stem]) != required:
                    found.append(f"{student}, {stem}: {row[stem]} in the gradebook, {required:g} alone")
            if abs(float(row["grade"]) - alone.score) > 0.01:
                found.append(f"{student}: grade {row['grade']} in the gradebook, {alone.score} alone")
    return found


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        differences = mismatches(Path(sys.argv[1]), Path(sys.argv[3]))
        print("\n".join(differences) or "every row is what grading that student alone gives")
        sys.exit(1 if differences else 0)
    if len(sys.argv) != 2 or Path(sys.argv[1]).exists():
        sys.exit("usage: python tests/classroom/make_class.py FOLDER (a folder that does not exist yet)\n"
                 "       python tests/classroom/make_class.py FOLDER --check GRADEBOOK")
    print(f"{len(make_class(Path(sys.argv[1])))} students in {sys.argv[1]}")
