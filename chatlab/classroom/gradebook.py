"""The class's gradebook: a CSV file, a row per student, rewritten whole after each student.

Columns: student; the required points earned in each lab (empty: not handed in, or no score);
bonus (the bonus points that count under the rubric); grade (percent, under the rubric);
status; seconds (the grading's wall time); note (which labs were not handed in, which file
does not load, what went wrong); fingerprint (a hash of what was graded and how: a re-run
grades again only the students whose fingerprint changed, and those whose grading failed
with an error). The file is written to a temporary name and then renamed over the old one,
so it holds, at every moment, only students whose grading finished.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import LABS

GRADED, NOT_HANDED_IN, DOES_NOT_LOAD = "graded", "not handed in", "does not load"
TIMED_OUT, ERROR = "timed out", "error"
STATUSES = (GRADED, NOT_HANDED_IN, DOES_NOT_LOAD, TIMED_OUT, ERROR)
COLUMNS = ["student", *(lab.stem for lab in LABS), "bonus", "grade", "status", "seconds", "note", "fingerprint"]


class GradebookError(ValueError):
    """A gradebook file that is not one this command wrote; one line."""


@dataclass
class Row:
    student: str
    status: str
    points: dict[str, float] = field(default_factory=dict)   # lab stem -> required points earned
    bonus: float = 0.0
    grade: float = 0.0
    seconds: float = 0.0
    note: str = ""
    fingerprint: str = ""

    def cells(self) -> dict[str, str]:
        return {"student": self.student, **{stem: f"{points:g}" for stem, points in self.points.items()},
                "bonus": f"{self.bonus:g}", "grade": f"{self.grade:.2f}", "status": self.status,
                "seconds": f"{self.seconds:.1f}", "note": self.note, "fingerprint": self.fingerprint}


def read(path: Path) -> dict[str, Row]:
    """The rows of the gradebook at `path`, by student; none if it does not exist yet."""
    if not path.exists():
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            table = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise GradebookError(f"gradebook {path} cannot be read: {error}") from None
    rows = {}
    for line, cells in enumerate(table, 2):
        if set(COLUMNS) - set(cells) or cells["status"] not in STATUSES:
            raise GradebookError(f"gradebook {path}, line {line}: not a row chatlab grade-all wrote "
                                 f"(columns: {', '.join(COLUMNS)}); give another --csv")
        try:
            rows[cells["student"]] = Row(
                cells["student"], cells["status"],
                {lab.stem: float(cells[lab.stem]) for lab in LABS if cells[lab.stem]},
                float(cells["bonus"]), float(cells["grade"]), float(cells["seconds"]),
                cells["note"], cells["fingerprint"])
        except ValueError:
            raise GradebookError(f"gradebook {path}, line {line}: a number that is not one; "
                                 f"give another --csv") from None
    return rows


def write(path: Path, rows: dict[str, Row]) -> None:
    """Replace the gradebook at `path` with `rows`, by student name, in one rename."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for student in sorted(rows):
            writer.writerow(rows[student].cells())
    os.replace(partial, path)
