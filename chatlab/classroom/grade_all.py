"""`chatlab grade-all SUBMISSIONS`: grade a class, one folder per student, into a CSV gradebook.

Each student's labs are copied into a temporary folder of their own (chatlab.classroom.submissions)
and graded there by `pytest grader/` in a process of its own, `--jobs` at a time, each at most
`--time-limit` seconds (chatlab.classroom.grader_run). Only the labs handed in are graded. The
gradebook (chatlab.classroom.gradebook) is rewritten after each student; a re-run grades only
the students whose submission (or rubric, or --lab) changed. `--reports DIR` writes a report
per student, to hand back as is: the score table and every failure's story, hint included.
Ctrl+C kills the runs in progress and leaves the gradebook holding the students who finished.
Progress goes to stderr: a line that updates itself on a terminal, a line per student elsewhere.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from chatlab.catalog import find_lab
from chatlab.classroom import gradebook
from chatlab.classroom.gradebook import DOES_NOT_LOAD, ERROR, GRADED, NOT_HANDED_IN, TIMED_OUT, Row
from chatlab.classroom.grader_run import GraderProcess, grader_command
from chatlab.classroom.submissions import Submission, class_submissions, copy_into, fingerprint
from chatlab.grading import rubric
from chatlab.i18n import LANGUAGES, N_, _, choose, ngettext, use
from chatlab.sandbox.guard import LIMITS

INTERRUPTED = 2      # pytest's exit code after a Ctrl+C: its results are partial, never a score
TIME_LIMIT = 300.0   # seconds one student's grading may take (all four labs of a correct one: about 20 s)
ANSWER_MARGIN = 60.0  # seconds past the time limit (a run is killed there) before a missing answer is a bug
FAILURES = (DOES_NOT_LOAD, TIMED_OUT, ERROR)
GRADE_ALL_HELP = N_("grade a class: one folder per student, into a CSV gradebook (and a report per student)")


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(prog="chatlab grade-all", description=_(GRADE_ALL_HELP))
    parsed.add_argument("submissions", metavar="SUBMISSIONS", help=_("a folder holding one folder per student"))
    parsed.add_argument("--lab", help=_("the lab that flat submissions (server.py, client.py at the top) hand in"))
    parsed.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help=_("students graded at once (default: the number of CPU cores, %(default)s here)"))
    parsed.add_argument("--csv", default="gradebook.csv", metavar="FILE", help=_("the gradebook (default: %(default)s)"))
    parsed.add_argument("--reports", metavar="DIR", help=_("also write a report per student, DIR/STUDENT.txt"))
    parsed.add_argument("--rubric", metavar="FILE",
                        help=_("the rubric, a TOML file (default: chatlab/grading/rubric.toml)"))
    parsed.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                        help=_("one student's grading is stopped past this (default: %(default)g)"))
    parsed.add_argument("--lang", choices=LANGUAGES,
                        help=_("language of the reports (default: the locale's: Russian for ru_*, else English)"))
    return parsed


@dataclass
class Settings:
    lab: str | None
    reports: Path | None
    time_limit: float
    lang: str
    rubric_text: str   # the rubric in force, as part of every fingerprint


def main(argv) -> int:
    args = parser().parse_args(argv)
    root = Path(args.submissions).expanduser()
    try:
        if not root.is_dir():
            raise ValueError(_("{folder} is not a folder (give the folder holding one folder per student)").format(
                folder=repr(args.submissions)))
        if args.jobs < 1 or args.time_limit <= 0:
            raise ValueError(_("--jobs and --time-limit must be more than 0"))
        lab = find_lab(args.lab) if args.lab else None
        chosen = rubric.use(Path(args.rubric).expanduser()) if args.rubric else rubric.active()
        settings = Settings(lab and lab.stem, args.reports and Path(args.reports).expanduser(), args.time_limit,
                            choose(args.lang), rubric_text=f"{chosen.weights} {chosen.counts} {chosen.bonus}")
        use(settings.lang)  # the reports' own words; the grader runs print theirs with --lang
        csv_path = Path(args.csv).expanduser()
        kept = gradebook.read(csv_path)
        submissions = class_submissions(root, lab)
        # What is graded and how: a student whose fingerprint is the gradebook's is not graded again.
        prints = {sub.student: fingerprint(sub, settings.lab or "", settings.rubric_text) for sub in submissions}
        if settings.reports:
            settings.reports.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as error:  # RubricError and GradebookError are ValueErrors
        sys.exit(f"chatlab: {error}")
    rows = {student: row for student, row in kept.items()
            if prints.get(student) == row.fingerprint and row.status != ERROR}
    todo = [sub for sub in submissions if sub.student not in rows]
    say("chatlab: " + ngettext("grading {todo} of {count} student in {root} ({unchanged} unchanged since the last "
                               "run), {jobs} at a time, at most {seconds} s each",
                               "grading {todo} of {count} students in {root} ({unchanged} unchanged since the last "
                               "run), {jobs} at a time, at most {seconds} s each", len(submissions)).format(
        todo=len(todo), count=len(submissions), root=root, unchanged=len(rows), jobs=args.jobs,
        seconds=f"{args.time_limit:g}"))
    say("chatlab: " + _("not enforced by the operating system: {limits}").format(
        limits=_(LIMITS)))  # LIMITS is not marked (guard.py imports nothing of the kit): tests/test_i18n.py checks it
    gradebook.write(csv_path, rows)
    try:
        return ClassRun(todo, prints, rows, settings, csv_path, args.jobs).run()
    except queue.Empty:  # a worker that never answered: each run is killed at its limit, so a bug of ours
        sys.exit("chatlab: " + _("a student's grading gave no answer within {seconds} s; the gradebook {csv} holds "
                                 "the students who finished").format(seconds=f"{args.time_limit + ANSWER_MARGIN:g}",
                                                                     csv=csv_path))


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ClassRun:
    """The pool: `jobs` worker threads, each running one student's grader at a time; the main thread
    collects, writes the gradebook and the progress line, and on Ctrl+C kills the runs in progress."""

    def __init__(self, todo, prints, rows, settings, csv_path, jobs):
        self.todo, self.prints, self.rows, self.settings = todo, prints, rows, settings
        self.csv_path, self.jobs = csv_path, min(jobs, max(1, len(todo)))
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.running: set[GraderProcess] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self) -> int:
        for submission in self.todo:
            self.waiting.put(submission)
        workers = [threading.Thread(target=self.work, name=f"grade-all-{n}", daemon=True) for n in range(self.jobs)]
        for worker in workers:
            worker.start()
        started, failures = time.monotonic(), 0
        try:
            for count in range(1, len(self.todo) + 1):
                row = self.done.get(timeout=self.settings.time_limit + ANSWER_MARGIN)
                self.rows[row.student] = row
                gradebook.write(self.csv_path, self.rows)
                failures += row.status in FAILURES
                self.progress(count, failures, time.monotonic() - started, row)
        except KeyboardInterrupt:
            self.stopping.set()
            with self.lock:
                for process in list(self.running):
                    process.kill()
            for worker in workers:
                worker.join(30)
            say("\nchatlab: " + _("stopped; the gradebook {csv} holds only the students who finished ({done} of "
                                  "{count}), and a re-run grades the others").format(
                csv=self.csv_path, done=len(self.rows), count=len(self.prints)))
            return 130
        if sys.stderr.isatty():
            say("")
        say("chatlab: " + _("{count} graded in {seconds} s; gradebook: {csv}").format(
            count=len(self.todo), seconds=f"{time.monotonic() - started:.0f}", csv=self.csv_path)
            + (_("; reports: {folder}").format(folder=self.settings.reports) if self.settings.reports else ""))
        return 0

    def progress(self, count: int, failures: int, elapsed: float, row: Row) -> None:
        left = elapsed / count * (len(self.todo) - count)
        line = "chatlab: " + _("{count}/{total} done, {failures} failed to grade or load, about {seconds} s left"
                               ).format(count=count, total=len(self.todo), failures=failures, seconds=f"{left:.0f}")
        if sys.stderr.isatty():
            print(f"\r{line}   ", end="", file=sys.stderr, flush=True)
        else:
            say(line + " (" + _("last: {student}, {status}, {grade} %, {seconds} s").format(
                student=row.student, status=row.status, grade=f"{row.grade:.0f}", seconds=f"{row.seconds:.1f}") + ")")

    def work(self) -> None:
        while not self.stopping.is_set():
            try:
                submission = self.waiting.get_nowait()
            except queue.Empty:
                return
            try:
                row = self.grade(submission)
            except Exception as error:  # a file that cannot be copied, a score that cannot be read: the row says so
                row = Row(submission.student, ERROR, seconds=0.0, fingerprint=self.prints[submission.student],
                          note=f"{type(error).__name__}: {error}")
            if not self.stopping.is_set():
                self.done.put(row)

    def grade(self, submission: Submission) -> Row:
        """One student's row (and report): graded in a temporary copy, or why not."""
        settings = self.settings
        row = Row(submission.student, NOT_HANDED_IN, fingerprint=self.prints[submission.student])
        if submission.problem:
            row.status, row.note = ERROR, submission.problem
        if submission.problem or not submission.labs:
            write_report(settings, submission, row, None, "")
            return row
        with tempfile.TemporaryDirectory(prefix="chatlab-class-") as scratch:
            work = Path(scratch)
            target = copy_into(submission, work / "submission")
            command = grader_command(target, work / "results.json", keyword=" or ".join(sorted(submission.labs)),
                                     lang=settings.lang)
            process = GraderProcess(command, work)
            with self.lock:
                self.running.add(process)
            if self.stopping.is_set():
                process.kill()
            finished = process.wait(settings.time_limit)
            with self.lock:
                self.running.discard(process)
            row.seconds = finished.seconds
            results = None
            if finished.timed_out:
                row.status, row.note = TIMED_OUT, f"grading took over {settings.time_limit:g} s and was stopped"
            elif finished.exit_code == INTERRUPTED:
                row.status, row.note = ERROR, "the grader was interrupted (Ctrl+C)"
            elif (work / "results.json").is_file():
                results = json.loads((work / "results.json").read_text(encoding="utf-8"))
                fill_row(row, submission, results)
            else:
                last = (finished.output.strip().splitlines() or ["(nothing)"])[-1]
                row.status, row.note = ERROR, f"the grader wrote no score (exit code {finished.exit_code}): {last}"
            write_report(settings, submission, row, results, str(target))
        return row


def fill_row(row: Row, submission: Submission, results: dict) -> None:
    """Points per lab, counted bonus, grade, status and note from the grader's score JSON."""
    by_lab: dict[str, list] = {}
    for test in results["tests"]:
        extra = test["extra_data"]
        by_lab.setdefault(extra["lab"], []).append(SimpleNamespace(**extra, passed=test["status"] == "passed",
                                                                   output=test["output"]))
    scores = {lab: rubric.LabScore.of(tests) for lab, tests in by_lab.items()}
    row.points = {lab: score.earned for lab, score in scores.items()}
    row.bonus = sum(score.counted_bonus for score in scores.values())
    row.grade, row.status = results["score"], GRADED
    not_loading = sorted({f"{lab}/{name}" for lab, tests in by_lab.items() for test in tests
                          if test.outcome == "not-run"
                          for name in re.findall(r"\b(?:server|client)\.py\b", test.output)})
    notes = []
    if not_loading:
        row.status = DOES_NOT_LOAD
        notes.append("does not load: " + ", ".join(not_loading))
    if submission.not_handed_in:
        notes.append("not handed in: " + ", ".join(submission.not_handed_in))
    row.note = "; ".join(notes)


def write_report(settings: Settings, submission: Submission, row: Row, results: dict | None, copy: str) -> None:
    """DIR/STUDENT.txt: who, the status, the score table, the labs not handed in, every failure's story."""
    if not settings.reports:
        return
    lines = [f"chatlab grade-all: {submission.student} ({submission.folder})", _("status: {status}").format(
        status=row.status) + (f" ({row.note})" if row.note else ""), ""]
    if results:
        lines += [results["extra_data"]["table"], ""]
        lines += [_("{lab}: not handed in").format(lab=lab) for lab in submission.not_handed_in]
        failed = [test for test in results["tests"]
                  if test["status"] != "passed" and test["extra_data"]["outcome"] != "not-run"]
        for test in failed:
            lines += ["", f"--- {test['name']} ---", test["output"]]
    report = "\n".join(lines).replace(copy, str(submission.folder)) if copy else "\n".join(lines)
    (settings.reports / f"{submission.student}.txt").write_text(report + "\n", encoding="utf-8")
