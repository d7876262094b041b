"""Execute the notebooks headless and write HTML copies: `chatlab notebooks --html DIR`.

An instructor hands out or projects the executed copies; the kit's tests execute every
notebook the same way. Each runs top to bottom in a fresh kernel started in the notebook's own
folder (notebooks/, or notebooks/ru/ for the Russian twins that `--lang ru` picks), with
CHATLAB_TARGET telling its "check your work" cell whose files to grade and CHATLAB_LANG the
language its helpers report in. A copy to hand out carries the notebook's title, alt text on
its pictures, and no path of this machine.

In a student kit (no solutions/), a cell that runs the reference stops with ReferenceMissing;
executed headless, such a cell keeps the outputs recorded when the kit was built, under a line
that says so, and so does a later cell that fails only because it used what that cell made
(NameError). Every other error is reported.
"""
from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import DEFAULT_TARGET, KIT_ROOT, LABS, NOTEBOOKS_DIR, START_HERE, find_lab, target_dir, whose_code
from chatlab.i18n import _, ngettext
from chatlab.notebook.check import TARGET_VARIABLE
from chatlab.notebook.language import DEFAULT_LANG, LANG_VARIABLE, LANGUAGES

CELL_TIMEOUT = 90  # seconds any one cell may run: the check cell grades a whole lab
RECORDED = "[recorded when this kit was built: the reference is not in this kit]\n"


def notebooks_folder(lang: str = DEFAULT_LANG) -> Path:
    """Where the notebooks of a language are: notebooks/ (English), notebooks/ru/ (their Russian twins)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return NOTEBOOKS_DIR if lang == DEFAULT_LANG else NOTEBOOKS_DIR / lang


def notebook_path(name: str, lang: str = DEFAULT_LANG) -> Path:
    """notebooks/<stem>.ipynb (or notebooks/ru/<stem>.ipynb) for a lab name (`lab3`, `3`, a stem) or `start_here`."""
    stem = START_HERE if name == START_HERE else find_lab(name).stem
    return notebooks_folder(lang) / f"{stem}.ipynb"


def all_notebooks(lang: str = DEFAULT_LANG) -> list[Path]:
    """The start-here notebook, then one per lab, in the order a student takes them."""
    return [notebook_path(stem, lang) for stem in (START_HERE, *(lab.stem for lab in LABS))]


def language_of(path: Path) -> str:
    """A notebook's language, by its folder: notebooks/ru/ holds the Russian twins, the rest is English."""
    return path.parent.name if path.parent.name in LANGUAGES else DEFAULT_LANG


@dataclass
class Executed:
    path: Path
    notebook: object                      # the nbformat NotebookNode, outputs filled in
    seconds: float
    errors: list[str] = field(default_factory=list)  # "cell N: Error: message", one per failed cell
    recorded: list[int] = field(default_factory=list)  # cells that kept their recorded outputs (a student kit)


def execute(path: Path, target: str = DEFAULT_TARGET) -> Executed:
    """Run a notebook top to bottom in a fresh kernel started in its folder; errors are collected, not raised.

    Cells after a failed one still run, so a copy shows everything that works, and the
    errors list says exactly which cells did not. Its helpers report in the notebook's language
    (`language_of`), whatever CHATLAB_LANG this process has.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    before = [copy.deepcopy(cell.get("outputs", [])) for cell in notebook.cells]
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    # The kernel's own stderr is only start-up chatter; what a cell prints comes back as its outputs.
    client.execute(env=dict(os.environ, **{TARGET_VARIABLE: target, LANG_VARIABLE: language_of(path)}),
                   stderr=subprocess.DEVNULL)
    executed = Executed(path, notebook, time.perf_counter() - started)
    for index, cell in enumerate(notebook.cells):
        error = next((output for output in cell.get("outputs", []) if output.get("output_type") == "error"), None)
        if error is None:
            continue
        if keeps_recorded(error.get("ename"), before[index], bool(executed.recorded)):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=RECORDED), *before[index]]
            executed.recorded.append(index)
        else:
            executed.errors.append(f"cell {index}: {error.get('ename')}: {error.get('evalue')}")
    return executed


def keeps_recorded(ename: str, recorded: list, after_recorded: bool) -> bool:
    """Whether a failed cell shows its recorded outputs instead: it needs the reference (ReferenceMissing), or
    a cell before it did and it used what that one made (NameError); and outputs were recorded."""
    needs_reference = ename == "ReferenceMissing" or (ename == "NameError" and after_recorded)
    return needs_reference and bool(recorded) and not any(o.get("output_type") == "error" for o in recorded)


def without_paths(notebook):
    """`notebook` with this machine's paths taken out of its outputs: the kit's folder becomes a relative
    path, the home folder "~". A copy to hand out names no path of the machine that built it."""
    replacements = [(str(KIT_ROOT) + os.sep, ""), (str(KIT_ROOT), ".")]
    if len(Path.home().parts) > 1:  # a home folder of "/" would turn every path into "~"
        replacements.append((str(Path.home()), "~"))

    def clean(value):
        if isinstance(value, str):
            for old, new in replacements:
                value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [clean(item) for item in value]
        if isinstance(value, dict):
            return type(value)({key: clean(item) for key, item in value.items()})
        return value

    cleaned = copy.deepcopy(notebook)
    for cell in cleaned.cells:
        if "outputs" in cell:
            cell.outputs = clean(cell.outputs)
    return cleaned


def title_of(notebook, fallback: str) -> str:
    """The notebook's title: its first Markdown heading, without the #s."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def write_html(executed: Executed, folder: Path) -> Path:
    """An executed copy in HTML: titled, pictures with alt text (the classic template writes the alt text a
    picture's output carries; the lab template drops it), and no path of this machine."""
    from nbconvert import HTMLExporter

    title = title_of(executed.notebook, executed.path.stem)
    body, _resources = HTMLExporter(template_name="classic").from_notebook_node(
        without_paths(executed.notebook), resources={"metadata": {"name": title}})
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{executed.path.stem}.html"
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatlab notebooks",
        description=_("Execute the notebooks headless (all, or those named) and report any cell that fails; "
                    "with --html, write executed HTML copies to hand out or project."))
    parser.add_argument("names", nargs="*", metavar="NOTEBOOK", help=_("start_here, lab1 ... lab5; default: all"))
    parser.add_argument("--lang", default=DEFAULT_LANG, choices=LANGUAGES,
                        help=_("en (default): the notebooks in notebooks/; ru: their Russian twins in notebooks/ru/"))
    parser.add_argument("--html", metavar="DIR", type=Path, help=_("write NOTEBOOK.html files into DIR"))
    parser.add_argument("--target", default=DEFAULT_TARGET,
                        help=_("whose files the check cells grade: labs (default: your code), solutions (the reference) "
                             "or a folder with the same layout"))
    args = parser.parse_args(argv)
    try:
        paths = [notebook_path(name, args.lang) for name in args.names] or all_notebooks(args.lang)
        # The kernel starts in the notebook's folder: a folder given relative to here must not change meaning.
        target = args.target if args.target in ("labs", "solutions") else str(target_dir(args.target))
    except ValueError as error:
        parser.error(str(error))
    print("chatlab: " + _("the notebooks' check cells grade {whose}").format(whose=whose_code(target)),
          file=sys.stderr, flush=True)
    failed = 0
    for path in paths:
        print(_("{notebook}: running ...").format(notebook=path.name), flush=True)
        executed = execute(path, target)
        written = _(", written to {file}").format(file=write_html(executed, args.html)) if args.html else ""
        kept = (" (" + ngettext("{count} cell needs the reference: recorded outputs kept",
                                "{count} cells need the reference: recorded outputs kept",
                                len(executed.recorded)).format(count=len(executed.recorded)) + ")"
                if executed.recorded else "")
        print((_("{notebook}: ok in {seconds} s") if not executed.errors else _("{notebook}: FAILED in {seconds} s"))
              .format(notebook=path.name, seconds=f"{executed.seconds:.1f}") + kept + written)
        for error in executed.errors:
            print(f"    {error}")
        failed += bool(executed.errors)
    return 1 if failed else 0
