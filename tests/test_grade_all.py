"""`chatlab grade-all` (chatlab/classroom/): a class graded into a CSV gradebook, as each student alone.

A small class built by tests/classroom/make_class.py is graded through the command, and each
row is compared with grading that student's copy alone (tests/grading.py grade()). Hostile
submissions (tests/classroom/) take no shortcut and do no harm; a submission past its time
limit is stopped with every process it started; a re-run grades only what changed; Ctrl+C
leaves only finished students in the gradebook.
"""
from __future__ import annotations

import csv
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from classroom.make_class import make_class, mismatches

from chatlab.catalog import SOLUTIONS_DIR, find_lab
from chatlab.classroom import gradebook
from chatlab.classroom.submissions import copy_into, fingerprint, read_submission

CLASSROOM = Path(__file__).resolve().parent / "classroom"
SMALL_CLASS = ("lab1_reads_once", "load_syntax_error")   # broken ones, graded in a few seconds
RUN_LIMIT = 240   # seconds a grade-all run of these tests may take before the test fails


def grade_all(folder: Path, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatlab", "grade-all", str(folder), *options],
                          capture_output=True, text=True, timeout=RUN_LIMIT, env=dict(os.environ, **(env or {})))


def rows_of(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def leftovers(marker: str) -> list[str]:
    """Command lines of processes still running that mention `marker` (a test's own folder)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if marker in command:
            found.append(command)
    return found


# --- submissions as students hand them in -----------------------------------------------------

def test_a_submission_is_read_in_the_kits_layout_with_short_names_or_flat_for_the_lab_given(tmp_path):
    kit = tmp_path / "kit"
    (kit / "lab2").mkdir(parents=True)
    (kit / "lab2" / "server.py").write_text("pass\n", encoding="utf-8")
    (kit / "lab3_multi_user_chat").mkdir()   # a folder without a lab's file: not handed in
    assert list(read_submission(kit).labs) == ["lab2_two_user_chat"]
    assert read_submission(kit).not_handed_in == ["lab1_echo", "lab3_multi_user_chat", "lab4_udp_chat",
                                                  "lab5_reliable_udp_chat"]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "client.py").write_text("pass\n", encoding="utf-8")
    assert read_submission(flat, find_lab("4")).labs == {"lab4_udp_chat": flat}
    assert "--lab" in read_submission(flat).problem and not read_submission(flat).labs


@pytest.mark.skipif(os.name == "nt", reason="making a symbolic link needs a privilege on Windows")
def test_the_copy_holds_the_labs_handed_in_and_the_protocol_never_the_reference(tmp_path):
    student = tmp_path / "student"
    (student / "lab1_echo" / "__pycache__").mkdir(parents=True)
    (student / "lab1_echo" / "server.py").write_text("pass\n", encoding="utf-8")
    (student / "lab1_echo" / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"cached")
    (student / "lab1_echo" / "client.py").symlink_to(SOLUTIONS_DIR / "lab1_echo" / "client.py")
    copy = copy_into(read_submission(student), tmp_path / "copy")
    assert sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*")) == [
        "PROTOCOL.md", "lab1_echo", "lab1_echo/client.py", "lab1_echo/server.py"]
    assert (copy / "lab1_echo" / "client.py").is_symlink(), "a link to the reference stays a link (refused when read)"


def test_the_fingerprint_changes_with_what_is_graded_and_with_the_rubric_only(tmp_path):
    (tmp_path / "lab1_echo").mkdir()
    server = tmp_path / "lab1_echo" / "server.py"
    server.write_text("pass\n", encoding="utf-8")
    before = fingerprint(read_submission(tmp_path), "rubric")
    (tmp_path / "notes.txt").write_text("not graded\n", encoding="utf-8")
    assert fingerprint(read_submission(tmp_path), "rubric") == before
    assert fingerprint(read_submission(tmp_path), "another rubric") != before
    server.write_text("pass  # edited\n", encoding="utf-8")
    assert fingerprint(read_submission(tmp_path), "rubric") != before


def test_a_gradebook_that_is_not_one_is_one_clear_line(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("name,mark\nalice,5\n", encoding="utf-8")
    with pytest.raises(gradebook.GradebookError, match="line 2: not a row chatlab grade-all wrote"):
        gradebook.read(path)
    done = grade_all(tmp_path, "--csv", str(path))
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    missing = grade_all(tmp_path / "nowhere")
    assert missing.stderr.strip() == f"chatlab: '{tmp_path / 'nowhere'}' is not a folder (give the folder holding " \
                                     "one folder per student)"


# --- a class, graded as each student alone ---------------------------------------------------

def test_a_class_is_graded_as_each_student_alone_and_a_rerun_grades_only_what_changed(tmp_path):
    students = make_class(tmp_path / "class", broken=SMALL_CLASS, whole=False)  # the README's run grades it whole
    escape = tmp_path / "escaped.txt"
    book, reports = tmp_path / "grades.csv", tmp_path / "reports"
    done = grade_all(tmp_path / "class", "--lab", "lab1", "--jobs", "2", "--csv", str(book),
                     "--reports", str(reports), env={"CHATLAB_ESCAPE_FILE": str(escape)})
    assert done.returncode == 0, done.stderr
    rows = rows_of(book)
    assert sorted(rows) == students
    assert not escape.exists(), "the sandbox let a submission write outside its folder"
    for student in ("empty_folder", "notes_only"):
        assert rows[student]["status"] == "not handed in" and rows[student]["seconds"] == "0.0"
    assert rows["flat_upload"]["lab1_echo"] == "27" and rows["flat_upload"]["status"] == "graded"
    assert rows["flat_upload_syntax_error"]["status"] == "does not load"
    assert "lab1_echo/server.py" in rows["flat_upload_syntax_error"]["note"]
    assert "writing outside the submission's folder is not allowed" in (reports / "writes_outside.txt").read_text()
    assert "reading the reference solutions is not allowed" in (reports / "imports_the_reference.txt").read_text()
    assert "lab4_udp_chat: not handed in" in (reports / "flat_upload.txt").read_text()
    assert mismatches(tmp_path / "class", book) == []

    again = grade_all(tmp_path / "class", "--lab", "lab1", "--csv", str(book))
    assert f"grading 0 of {len(students)} students" in again.stderr and rows_of(book) == rows
    (tmp_path / "class" / "flat_upload" / "client.py").write_text("# handed in again, broken\n", encoding="utf-8")
    third = grade_all(tmp_path / "class", "--lab", "lab1", "--csv", str(book))
    assert f"grading 1 of {len(students)} students" in third.stderr
    assert rows_of(book)["flat_upload"]["lab1_echo"] != "27"


def test_a_submission_past_its_time_limit_is_stopped_with_every_process_it_started(tmp_path):
    shutil.copytree(CLASSROOM / "hangs_at_start", tmp_path / "class" / "hangs_at_start")
    work = tmp_path / "work"
    work.mkdir()
    done = grade_all(tmp_path / "class", "--time-limit", "6", "--csv", str(tmp_path / "grades.csv"),
                     env={"TMPDIR": str(work)})
    row = rows_of(tmp_path / "grades.csv")["hangs_at_start"]
    assert row["status"] == "timed out" and row["lab1_echo"] == "" and float(row["seconds"]) < 6 + 15
    assert done.returncode == 0
    assert leftovers(str(work)) == [], "a process of the stopped grading outlived it"


@pytest.mark.skipif(os.name == "nt", reason="sends SIGINT, as Ctrl+C does on Linux and macOS")
def test_ctrl_c_leaves_only_the_finished_students_in_the_gradebook(tmp_path):
    (tmp_path / "class" / "a_flat").mkdir(parents=True)
    for name in ("server.py", "client.py"):
        (tmp_path / "class" / "a_flat" / name).write_bytes((SOLUTIONS_DIR / "lab1_echo" / name).read_bytes())
    shutil.copytree(CLASSROOM / "hangs_at_start", tmp_path / "class" / "b_hangs")
    work, book = tmp_path / "work", tmp_path / "grades.csv"
    work.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "chatlab", "grade-all", str(tmp_path / "class"), "--lab", "1",
                                "--jobs", "1", "--csv", str(book)], stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, TMPDIR=str(work)))
    lines: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        while "1/2 done" not in (line := lines.get(timeout=60)):
            assert "2/2 done" not in line
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 130
    finally:
        process.kill()
    assert list(rows_of(book)) == ["a_flat"], "only the finished student has a row"
    assert leftovers(str(work)) == [], "a process of the interrupted grading outlived it"


# --- the guard on a submission's processes (chatlab/sandbox/guard.py) ---------------------------

GUARDED_TRIES = '''
import os, subprocess, sys, tempfile
from pathlib import Path
from chatlab.sandbox import guard
guard.install(sys.argv[1])
def attempt(name, action):
    try:
        action()
        print(name, "allowed")
    except PermissionError as error:
        print(name, "refused", error)
attempt("write inside", lambda: Path(sys.argv[3]).write_text("mine"))
attempt("write in the temporary folder", lambda: tempfile.TemporaryFile("w").close())
attempt("write outside", lambda: open(sys.argv[2], "w"))
attempt("rename outside", lambda: os.rename(sys.argv[3], sys.argv[2]))
attempt("read the reference", lambda: open(Path(guard.SOLUTIONS) / "lab1_echo" / "server.py").read())
attempt("list the reference", lambda: os.listdir(guard.SOLUTIONS))
attempt("start a program", lambda: subprocess.run([sys.executable, "-c", "pass"]))
attempt("load native code", lambda: __import__("ctypes"))
'''


def guarded(target, outside, temporary, inside) -> dict[str, str]:
    """What a process guarded for `target` may do: {attempt: "<attempt> allowed" or "<attempt> refused <why>"}.

    It writes `inside` (a file it may write) and tries to write `outside`.
    """
    temporary.mkdir()
    done = subprocess.run([sys.executable, "-c", GUARDED_TRIES, str(target), str(outside), str(inside)],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMPDIR=str(temporary), TEMP=str(temporary)))
    assert done.returncode == 0, done.stderr
    return {line.split(" allowed")[0].split(" refused")[0]: line for line in done.stdout.splitlines()}


def test_the_guard_refuses_writes_outside_the_reference_other_programs_and_native_code(tmp_path):
    (tmp_path / "submission").mkdir()
    tries = guarded(tmp_path / "submission", tmp_path / "outside.txt", tmp_path / "tmp",
                    inside=tmp_path / "submission" / "notes.txt")
    assert tries["write inside"].endswith("allowed") and tries["write in the temporary folder"].endswith("allowed")
    for name in ("write outside", "rename outside"):
        assert "refused chatlab's sandbox: writing outside the submission's folder is not allowed" in tries[name]
    for name in ("read the reference", "list the reference"):
        assert "refused chatlab's sandbox: reading the reference solutions is not allowed" in tries[name]
    assert "refused chatlab's sandbox: starting another program is not allowed" in tries["start a program"]
    assert "refused" in tries["load native code"]
    assert not (tmp_path / "outside.txt").exists()


def test_the_guard_lets_the_reference_itself_be_graded(tmp_path):
    tries = guarded(SOLUTIONS_DIR, tmp_path / "outside.txt", tmp_path / "tmp", inside=tmp_path / "tmp" / "notes.txt")
    assert tries["read the reference"].endswith("allowed") and tries["list the reference"].endswith("allowed")
    assert "refused" in tries["write outside"]


def test_the_rubric_of_a_class_is_a_file_and_a_new_rubric_grades_again(tmp_path):
    (tmp_path / "class" / "flat").mkdir(parents=True)
    for name in ("server.py", "client.py"):
        (tmp_path / "class" / "flat" / name).write_bytes((SOLUTIONS_DIR / "lab1_echo" / name).read_bytes())
    book, echo_counts = tmp_path / "grades.csv", tmp_path / "echo_counts.toml"
    echo_counts.write_text('[weights]\nlab1_echo = 0.5\n', encoding="utf-8")
    first = grade_all(tmp_path / "class", "--lab", "1", "--csv", str(book))
    assert first.returncode == 0 and rows_of(book)["flat"]["grade"] == "0.00", "the default rubric: echo earns 0"
    second = grade_all(tmp_path / "class", "--lab", "1", "--csv", str(book), "--rubric", str(echo_counts))
    assert "grading 1 of 1 student" in second.stderr and rows_of(book)["flat"]["grade"] == "50.00"
