"""What the notebooks call: a lab's protocol and TODOs, a separate-process grade, a picture.

The notebooks explain; the files implement. So a notebook never holds lab code: it shows the
student's own files in labs/ (`show_todos`), runs the reference in solutions/ as a black box
(`grader.harness.lab_session`), and grades in a child process (`check_your_work`) so that a
submission that hangs or crashes cannot take the notebook's kernel with it.
"""
from __future__ import annotations

import ast
import html
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.catalog import KIT_ROOT, SOLUTIONS_DIR, find_lab, lab_file
from grader.release import enclosing_function, functions
from grader.rubric import WEIGHTS, lab_percent

GRADE_TIMEOUT = 300  # seconds: the grader bounds every wait itself; this only guards against the unforeseen
TARGET_VARIABLE = "CHATLAB_TARGET"  # `chatlab notebooks --target solutions` sets it for instructors' copies


def _display(kind: str, data):
    from IPython.display import HTML, Image, Markdown  # only in a notebook's kernel
    return {"html": HTML, "markdown": Markdown, "png": Image}[kind](data=data)


def protocol_section(name: str) -> str:
    """The "## Lab N: ..." section of solutions/PROTOCOL.md, as Markdown."""
    lab = find_lab(name)
    text = (SOLUTIONS_DIR / "PROTOCOL.md").read_text(encoding="utf-8")
    start = text.index(f"## Lab {lab.number}:")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def show_protocol(name: str):
    """Display this lab's section of PROTOCOL.md (the rules the grader checks)."""
    return _display("markdown", protocol_section(name))


@dataclass(frozen=True)
class Todo:
    path: Path        # the student's file in labs/
    line: int
    function: str     # e.g. "Room.join"
    text: str         # what the TODO comment asks
    done: bool        # False while the function still raises "not implemented yet"


def todos(name: str, target: str = "labs") -> list[Todo]:
    """Every TODO left in a lab's server.py and client.py, in file order."""
    lab = find_lab(name)
    found = []
    for role in ("server", "client"):
        path = lab_file(lab, role, target)
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        spans = functions(ast.parse(source))
        for number, line in enumerate(lines, start=1):
            if line.strip().startswith("# TODO:"):
                start, end, function = enclosing_function(spans, number) or (number, number, "(module)")
                body = "\n".join(lines[start - 1:end])
                found.append(Todo(path, number, function, line.strip().removeprefix("# TODO:").strip(),
                                  done="not implemented yet" not in body))
    return found


def show_todos(name: str, target: str = "labs"):
    """Display the TODO list of your files in labs/: where each one is, and whether it still raises."""
    rows = ["| | file:line | function | what to write |", "|---|---|---|---|"]
    for todo in todos(name, target):
        link = os.path.relpath(todo.path, KIT_ROOT / "notebooks").replace(os.sep, "/")
        mark = "✅ written" if todo.done else "⬜ to do"
        rows.append(f"| {mark} | [`{todo.path.parent.name}/{todo.path.name}:{todo.line}`]({link}) "
                    f"| `{todo.function}` | {todo.text} |")
    return _display("markdown", "\n".join(rows))


def show(figure):
    """Display a matplotlib Figure (from grader.pictures) as a PNG in the notebook."""
    from grader.pictures import png
    return _display("png", png(figure))


def names_of(*clients) -> dict[tuple, str]:
    """{client's address: its name}, as the server sees them: what the pictures label arrows with."""
    return {tuple(client.sock.getsockname()[:2]): client.name for client in clients}


def print_calls(events, names: dict[tuple, str]) -> None:
    """One line per recv/send the server made (from a Wiretap): who to or from, and the exact bytes."""
    for event in events:
        name = names.get(event.peer, str(event.peer))
        arrow = f"{name:>5} -> server" if event.inbound else f"server -> {name:<5}"
        print(f"  {event.op:<8} {arrow}  {event.data!r}")


@dataclass
class TestOutcome:
    name: str
    points: float
    passed: bool
    bonus: bool
    problem: str = ""
    hint: str = ""
    story: str = ""


@dataclass
class GradeReport:
    """One lab graded in a child process: per-test outcomes, or why grading itself failed."""
    lab: str
    target: str
    tests: list[TestOutcome] = field(default_factory=list)
    error: str = ""   # the grader could not report (timeout, crash): its last output

    @property
    def earned(self) -> float:
        """Points of the passed tests, bonus included: a bonus fills a gap, never passes 100 %."""
        return sum(t.points for t in self.tests if t.passed)

    @property
    def bonus(self) -> float:
        return sum(t.points for t in self.tests if t.passed and t.bonus)

    @property
    def possible(self) -> float:
        return sum(t.points for t in self.tests if not t.bonus)

    @property
    def percent(self) -> float:
        return lab_percent(self.earned, self.possible)

    def headline(self) -> str:
        if self.error:
            return f"{self.lab} ({self.target}): not graded. {self.error.splitlines()[0]}"
        weight = WEIGHTS.get(self.lab, 0.0)
        worth = (f"as the assignment's chat: {self.percent * weight:.0f} % (this lab counts {weight:.0%})"
                 if weight else "a warm-up: it counts for nothing by itself")
        passed = sum(t.passed for t in self.tests)
        bonus = f" + {self.bonus:g} bonus" if self.bonus else ""
        return (f"{self.lab} ({self.target}): {self.earned - self.bonus:g}/{self.possible:g} points{bonus}, "
                f"{self.percent:.0f} %; "
                f"{passed} of {len(self.tests)} tests passed; {worth}")

    def __str__(self) -> str:
        lines = [self.headline()]
        lines += [f"  {'PASS' if t.passed else 'FAIL'} {t.name} ({t.points:g})"
                  + ("" if t.passed else f"\n       {t.problem}\n       {t.hint}") for t in self.tests]
        return "\n".join(lines + ([self.error] if self.error else []))

    def _repr_html_(self) -> str:
        escape = html.escape
        if self.error:
            return f"<b>{escape(self.headline())}</b><pre>{escape(self.error)}</pre>"
        rows = []
        for t in sorted(self.tests, key=lambda t: t.passed):  # what to fix first, on top
            detail = "" if t.passed else (
                f"<br><b>Problem:</b> {escape(t.problem)}<br><b>Hint:</b> {escape(t.hint)}"
                f"<details><summary>steps and output</summary><pre>{escape(t.story)}</pre></details>")
            mark = "✅" if t.passed else ("➖" if t.bonus else "❌")
            rows.append(f"<tr><td>{mark}</td><td style='text-align:left'>{escape(t.name)}{detail}</td>"
                        f"<td>{t.points:g}{' bonus' if t.bonus else ''}</td></tr>")
        return (f"<p><b>{escape(self.headline())}</b></p><table><tr><th></th><th>test</th><th>points</th></tr>"
                + "".join(rows) + "</table>")


def _outcome(test: dict) -> TestOutcome:
    story = test.get("output") or ""
    picked = {key: "" for key in ("Problem", "Hint")}
    for line in story.splitlines():
        key, _, rest = line.partition(": ")
        if key in picked and not picked[key]:
            picked[key] = rest
    name = test["name"].partition(": ")[2].replace("test_", "", 1).replace("_", " ")
    bonus = test["max_score"] == 0
    return TestOutcome(name, test["score"] if bonus else test["max_score"], test["status"] == "passed", bonus,
                       picked["Problem"] or story.strip().splitlines()[0] if story.strip() else "",
                       picked["Hint"], story)


def check_your_work(name: str, target: str | None = None, lang: str = "en") -> GradeReport:
    """Grade one lab (your files in labs/ unless told otherwise) in a separate process.

    Runs `chatlab grade LAB --score-json` as a child process with a time limit and reads its
    results: a hung or crashing submission becomes a report, never a frozen notebook.
    """
    lab = find_lab(name)
    target = target or os.environ.get(TARGET_VARIABLE, "labs")
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.json"
        command = [sys.executable, "-m", "grader.cli", "grade", lab.stem, "--target", target,
                   "--lang", lang, "--score-json", str(results), "-q", "-p", "no:warnings"]
        environment = dict(os.environ, PYTHONIOENCODING="utf-8")
        try:
            finished = subprocess.run(command, cwd=KIT_ROOT, env=environment, capture_output=True,
                                      text=True, encoding="utf-8", errors="replace", timeout=GRADE_TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or "")[-3000:] if isinstance(expired.stdout, str) else ""
            return GradeReport(lab.stem, target, error=f"the grader took over {GRADE_TIMEOUT} s\n{output}")
        if not results.is_file():
            return GradeReport(lab.stem, target, error=f"the grader stopped without results "
                               f"(exit code {finished.returncode})\n{(finished.stdout + finished.stderr)[-3000:]}")
        tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
    return GradeReport(lab.stem, target, [_outcome(test) for test in tests])
