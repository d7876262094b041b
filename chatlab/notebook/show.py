"""What a notebook shows: a lab's protocol and TODOs, a picture, the socket calls a wiretap saw.

The notebooks explain; the files implement. So a notebook never holds lab code: it shows the
student's own files in labs/ (`show_todos`), runs the reference in solutions/ as a black box
(`chatlab.harness.session.lab_session`), and grades in a child process
(`chatlab.notebook.check.check_your_work`).
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from chatlab.catalog import LABS_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR, find_lab, lab_file
from chatlab.notebook.language import words
from chatlab.release import enclosing_function, functions


def _display(kind: str, data, **options):
    from IPython.display import HTML, Image, Markdown  # only in a notebook's kernel
    return {"html": HTML, "markdown": Markdown, "png": Image}[kind](data=data, **options)


def protocol_section(name: str) -> str:
    """The "## Lab N: ..." section of PROTOCOL.md (solutions/, or labs/ in a student kit), as Markdown."""
    lab = find_lab(name)
    folder = SOLUTIONS_DIR if SOLUTIONS_DIR.is_dir() else LABS_DIR
    text = (folder / "PROTOCOL.md").read_text(encoding="utf-8")
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


def notebook_folder() -> Path:
    """The folder links in a notebook are relative to: the kernel's, which is the notebook's own (notebooks/
    or notebooks/ru/) when Jupyter or `chatlab notebooks` started it there, else notebooks/."""
    here = Path.cwd().resolve()
    return here if here.is_relative_to(NOTEBOOKS_DIR.resolve()) else NOTEBOOKS_DIR


def show_todos(name: str, target: str = "labs", lang: str | None = None):
    """Display the TODO list of your files in labs/: where each one is (a link that works from this
    notebook's folder), and whether it still raises; in the notebook's language unless `lang` says."""
    rows = [words("todo-header", lang), "|---|---|---|---|"]
    for todo in todos(name, target):
        link = os.path.relpath(todo.path, notebook_folder()).replace(os.sep, "/")
        mark = words("todo-done", lang) if todo.done else words("todo-left", lang)
        rows.append(f"| {mark} | [`{todo.path.parent.name}/{todo.path.name}:{todo.line}`]({link}) "
                    f"| `{todo.function}` | {todo.text} |")
    return _display("markdown", "\n".join(rows))


def alt_text(figure) -> str:
    """What a picture shows, in words, for a reader who cannot see it: its axes' titles."""
    titles = [axes.get_title() for axes in figure.get_axes() if axes.get_title()]
    return "; ".join(titles) or "a picture drawn by chatlab"


def show(figure):
    """Display a matplotlib Figure (from chatlab.notebook.pictures) as a PNG, its titles as its alt text."""
    from chatlab.notebook.pictures import png
    return _display("png", png(figure), metadata={"alt": alt_text(figure)})


def names_of(*clients) -> dict[tuple, str]:
    """{client's address: its name}, as the server sees them: what the pictures label arrows with."""
    return {tuple(client.sock.getsockname()[:2]): client.name for client in clients}


def print_calls(events, names: dict[tuple, str]) -> None:
    """One line per recv/send the server made (from a Wiretap): who to or from, and the exact bytes."""
    for event in events:
        name = names.get(event.peer, str(event.peer))
        arrow = f"{name:>5} -> server" if event.inbound else f"server -> {name:<5}"
        print(f"  {event.op:<8} {arrow}  {event.data!r}")
