"""Every notebook runs headless top to bottom, shows its experiments and pictures, and checks the work.

The notebooks are executed once, their check cells grading the stubs (what a student first
meets, generated from solutions/ into a folder of their own, so the tests pass whatever a
student has done in labs/), by the same code as `chatlab notebooks`. Their committed copies
carry no outputs. Of the Russian twins (notebooks/ru/, kept in step by test_notebook_twins.py),
lab 1's is executed too: its code is the English one's, so what it adds to check is that the
helpers report in Russian there and that its links work from one folder deeper.
"""
import json
import re

import nbformat
import pytest

from chatlab.catalog import KIT_ROOT, LABS, NOTEBOOKS_DIR, SOLUTIONS_DIR, START_HERE
from chatlab.notebook.check import check_your_work
from chatlab.notebook.runner import Executed, all_notebooks, execute, notebook_path, notebooks_folder
from chatlab.notebook.runner import main as notebooks_command
from chatlab.notebook.show import todos
from chatlab.release import BEGIN, END


@pytest.fixture(scope="module")
def executed(stubs):
    return {path.stem: execute(path, str(stubs)) for path in all_notebooks()}


@pytest.fixture(scope="module")
def executed_ru(stubs):
    """Lab 1's Russian twin, executed like the English notebooks (about 6 s, most of it its check cell)."""
    return execute(notebook_path("lab1", "ru"), str(stubs))


def twins() -> list:
    """The Russian twins there are (test_notebook_twins.py wants one per English notebook)."""
    return sorted(notebooks_folder("ru").glob("*.ipynb"))


def cells(notebook, kind=None):
    return [cell for cell in notebook["cells"] if kind is None or cell["cell_type"] == kind]


def output_texts(notebook) -> list[str]:
    """Everything the code cells showed: streams, results, Markdown and HTML (not images)."""
    texts = []
    for cell in cells(notebook, "code"):
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            for kind in ("text/plain", "text/markdown", "text/html"):
                texts.append(output.get("data", {}).get(kind, ""))
            texts.append("\n".join(output.get("traceback", [])))
    return [text if isinstance(text, str) else "".join(text) for text in texts]


def images(notebook) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in cells(notebook, "code") for output in cell.get("outputs", []))


def source(notebook) -> str:
    return "\n".join(cell["source"] for cell in cells(notebook))


def test_every_notebook_executes_headless_without_error(executed):
    failures = {stem: run.errors for stem, run in executed.items() if run.errors}
    assert not failures, f"cells that raised: {failures}"


def test_the_notebooks_are_committed_without_outputs():
    for path in all_notebooks() + twins():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in cells(notebook, "code"):
            assert not cell["outputs"] and cell["execution_count"] is None, f"{path.name} has outputs"


def test_no_notebook_is_outside_the_catalog():
    assert sorted(NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(all_notebooks())
    assert all_notebooks()[0].stem == START_HERE


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_each_lab_notebook_has_objectives_protocol_todos_a_check_and_stuck_hints(lab, executed):
    notebook = executed[lab.stem].notebook
    text = source(notebook)
    for part in ("## What you will learn", "## Files you will edit", f'show_protocol("{lab.stem}")',
                 f'show_todos("{lab.stem}")', f'check_your_work("{lab.stem}")'):
        assert part in text, f"{lab.stem}.ipynb lacks {part}"
    stuck = [cell for cell in cells(notebook, "markdown") if re.search(r"<details>\s*<summary>Stuck", cell["source"])]
    assert len(stuck) >= 3, f"{lab.stem}.ipynb has {len(stuck)} collapsed 'Stuck?' hints"
    shown = "\n".join(output_texts(notebook))
    assert f"## Lab {lab.number}:" in shown, "the protocol section was not shown"
    # The TODO list is of labs/ itself, whatever the student has done there: one row per TODO left.
    assert "| file:line | function | what to write |" in shown, "the TODO list was not shown"
    for todo in todos(lab.stem):
        mark = "✅ written" if todo.done else "⬜ to do"
        assert f"| {mark} | [`{lab.stem}/{todo.path.name}:{todo.line}`](../labs/{lab.stem}/{todo.path.name})" in shown


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_the_check_cell_shows_zero_for_the_stubs_without_raising(lab, executed):
    shown = "\n".join(output_texts(executed[lab.stem].notebook))
    assert re.search(rf"{lab.stem} \([^)]*\): 0/\d+ points \(0 %\)", shown), "no zero score shown for the stubs"
    assert "not implemented yet" in shown, "the hints should say what is still a TODO"


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_the_check_cell_gives_full_marks_to_the_solutions(lab):
    report = check_your_work(lab.stem, target="solutions")
    assert not report.error, report.error
    assert report.percent == 100 and all(test.passed for test in report.tests), str(report)


def test_the_lab_notebooks_draw_their_pictures(executed):
    drawn = {stem: images(run.notebook) for stem, run in executed.items()}
    wanted = {"lab1_echo": 1, "lab2_two_user_chat": 1, "lab3_multi_user_chat": 3, "lab4_udp_chat": 1,
              "lab5_reliable_udp_chat": 2}
    assert all(drawn[stem] >= count for stem, count in wanted.items()), f"pictures drawn: {drawn}"


# What each experiment's real output must show, as printed by the notebook (a pattern per claim).
EXPERIMENTS = {
    "start_here": [r"carol received: .*\[bob -> carol\] psst"],
    "lab1_echo": [r"one thread per connection, two different threads: True",
                  r"server: \d+ recv\(\) calls received them", r"the server's last recv\(\) returned: b''"],
    "lab2_two_user_chat": [r"then one recv\(1024\) -> b'one\\ntwo\\n'",
                           r"bob received: \['\[alice\] one', '\[alice\] two'\]",
                           r"recv +alice -> server +b'hel'\n +recv +alice -> server +b'lo\\n'",
                           r"UnicodeDecodeError", r"bob received: \['\[alice\] Привет'",
                           r"without a lock: 3 users seated in a 2-seat chat"],
    "lab3_multi_user_chat": [r"members = \['bob', 'bob'\]", r"members = \['bob'\]\n",
                             r"remove_while_looping +received: alice, dave +missed: carol",
                             r"carol received \(sorted\): \['\* bob left', '\[alice\] is anyone there\?'\]",
                             r"dave +received \(sorted\): \['\* bob left', '\[alice\] is anyone there\?'\]",
                             r"asyncio peer +saturated +N=50 .* lost 0"],
    "lab4_udp_chat": [r"recvfrom #3: b'three'", r"missing: +\[\d", r"duplicated: \[\d",
                      r"out of order \(arrived before an earlier one\): \[\(", r"keyed by ip only: .*'bob'\}",
                      r"printed '\* bob left' [\d.]+ s after bob went silent"],
    "lab5_reliable_udp_chat": [r"lab 4: bob got \d+ lines for 20 sent; missing: \['",
                               r"lab 5: bob got 20 lines for 20 sent; exactly the lines sent, in order: True",
                               r"sent again: \{'D \d", r"sends per line to carol, in order: \[\d",
                               r"window 8 +loss 30%: +[\d.]+ lines/s"],
}


@pytest.mark.parametrize("stem", EXPERIMENTS)
def test_each_experiment_shows_its_effect_in_its_real_output(stem, executed):
    shown = "\n".join(output_texts(executed[stem].notebook))
    missing = [claim for claim in EXPERIMENTS[stem] if not re.search(claim, shown)]
    assert not missing, f"{stem}.ipynb did not show: {missing}"


def solution_only_lines(stubs) -> set[str]:
    """Lines of the solutions' marked regions that the stubs (a folder) do not have: the answers."""
    stubs = {line.strip() for path in stubs.rglob("*.py") for line in path.read_text(encoding="utf-8").splitlines()}
    answers = set()
    for path in SOLUTIONS_DIR.rglob("*.py"):
        inside = False
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            inside = (inside or stripped.startswith(BEGIN)) and not stripped.startswith(END)
            code = stripped.split("  #")[0]  # without its comment: a notebook may explain the same idea
            if inside and len(code) >= 24 and not code.startswith(("#", BEGIN)) and stripped not in stubs:
                answers.add(code)
    return answers


def test_no_notebook_holds_or_shows_solution_code(executed, stubs):
    answers = solution_only_lines(stubs)
    assert len(answers) > 40, "the check needs the solutions' lines to look for"
    for stem, run in executed.items():
        everything = source(run.notebook) + "\n".join(output_texts(run.notebook))
        leaked = [line for line in answers if line in everything]
        assert not leaked, f"{stem}.ipynb holds or prints solution code: {leaked[:3]}"


def test_the_russian_twin_of_lab1_executes_headless_and_its_helpers_report_in_russian(executed_ru):
    assert not executed_ru.errors, f"cells that raised: {executed_ru.errors}"
    shown = "\n".join(output_texts(executed_ru.notebook))
    assert re.search(r"lab1_echo \([^)]*\): 0 из \d+ балл(а|ов) \(0 %\)", shown), "no Russian zero score for the stubs"
    assert "| файл:строка | функция | что написать |" in shown, "the TODO list was not shown in Russian"
    for todo in todos("lab1"):  # links that work from notebooks/ru/, one folder deeper
        mark = "✅ написано" if todo.done else "⬜ сделать"
        assert f"| {mark} | [`lab1_echo/{todo.path.name}:{todo.line}`](../../labs/lab1_echo/{todo.path.name})" in shown
    missing = [claim for claim in EXPERIMENTS["lab1_echo"] if not re.search(claim, shown)]
    assert not missing, f"ru/lab1_echo.ipynb did not show: {missing}"


def test_chatlab_notebooks_lang_ru_runs_and_writes_the_russian_twins(tmp_path, monkeypatch, capsys):
    ran = []

    def pretend(path, target):  # which notebooks are run is the point here, not running them again
        ran.append(path)
        return Executed(path, nbformat.read(path, as_version=4), 0.0)

    monkeypatch.setattr("chatlab.notebook.runner.execute", pretend)
    assert notebooks_command(["start_here", "lab1", "--lang", "ru", "--html", str(tmp_path)]) == 0
    assert ran == [NOTEBOOKS_DIR / "ru" / "start_here.ipynb", NOTEBOOKS_DIR / "ru" / "lab1_echo.ipynb"]
    assert "<title>Лабораторная 1: эхо-сервер TCP</title>" in (tmp_path / "lab1_echo.html").read_text(encoding="utf-8")
    ran.clear()
    assert notebooks_command([]) == 0 and ran == all_notebooks(), "English, all of them, unless told otherwise"
    assert all_notebooks("ru") == [notebooks_folder("ru") / path.name for path in all_notebooks()]
    capsys.readouterr()


def test_chatlab_notebooks_writes_an_executed_html_copy_graded_against_the_solutions(tmp_path, capsys):
    assert notebooks_command(["lab1", "--target", "solutions", "--html", str(tmp_path)]) == 0
    page = (tmp_path / "lab1_echo.html").read_text(encoding="utf-8")
    assert re.search(r"lab1_echo \(solutions\): (\d+)/\1 points \(100 %\)", page), "the check cell's full marks"
    assert "lab1_echo.ipynb: ok in" in capsys.readouterr().out


def test_chatlab_notebooks_reports_a_cell_that_fails(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "notebooks"
    broken.mkdir()
    notebook = json.loads((NOTEBOOKS_DIR / f"{START_HERE}.ipynb").read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "code", "id": "fails", "metadata": {}, "outputs": [], "execution_count": None,
                              "source": "raise ValueError('a cell that fails')"})
    (broken / f"{START_HERE}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    monkeypatch.setattr("chatlab.notebook.runner.NOTEBOOKS_DIR", broken)
    assert notebooks_command([START_HERE]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "ValueError: a cell that fails" in out


# --- what students read points at what students have -----------------------------------

README_STUDENT_SECTIONS = ("Try it", "Student path")
LINK = re.compile(r"\]\(([^)\s]+)\)")      # a Markdown link's target: [text](target)
UP_PATH = re.compile(r"`(\.\./[^`\s]*)`")  # a path written in code that climbs out of its folder
SOLUTION_FILE = re.compile(r"`(solutions/[^`\s]+)`")  # a file of solutions/ named in code, e.g. `solutions/PROTOCOL.md`


def local_paths(text: str) -> list[str]:
    """The links and `../` paths in Markdown `text` that name files, not web pages or anchors."""
    found = LINK.findall(text) + UP_PATH.findall(text)
    return [path.split("#")[0] for path in found if not re.match(r"[a-z]+:|#", path)]


def readme_section(readme: str, title: str) -> str:
    """The text of the README's `## title` section, up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def wrong_links(text: str, folder, students: bool) -> list[str]:
    """The local paths in `text` (relative to `folder`) that leave the repository, do not exist, or
    (when `students` read it) lead into solutions/, with the reason."""
    wrong = [f"{path}: names a file in solutions/ (students read labs/)" for path in SOLUTION_FILE.findall(text)
             if students and (KIT_ROOT / path).is_file()]
    for path in local_paths(text):
        resolved = (folder / path).resolve()
        if not resolved.is_relative_to(KIT_ROOT):
            wrong.append(f"{path}: outside the repository")
        elif not resolved.exists():
            wrong.append(f"{path}: does not exist")
        elif students and resolved.is_relative_to(SOLUTIONS_DIR):
            wrong.append(f"{path}: into solutions/ (students read labs/)")
    return wrong


def test_notebooks_link_only_to_files_of_the_repository_and_never_into_solutions():
    for path in all_notebooks() + twins():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        text = "\n".join("".join(cell["source"]) for cell in cells(notebook, "markdown"))
        wrong = wrong_links(text, path.parent, students=True)
        assert not wrong, f"{path.relative_to(NOTEBOOKS_DIR)}: {wrong}"


def test_the_readme_links_inside_the_repository_and_its_student_sections_never_into_solutions():
    readme = (KIT_ROOT / "README.md").read_text(encoding="utf-8")
    assert not wrong_links(readme, KIT_ROOT, students=False), wrong_links(readme, KIT_ROOT, False)
    for title in README_STUDENT_SECTIONS:
        section = readme_section(readme, title)
        assert not wrong_links(section, KIT_ROOT, students=True), (title, wrong_links(section, KIT_ROOT, True))


def test_the_link_check_catches_links_into_solutions_and_out_of_the_repository():
    text = ("[a](../solutions/PROTOCOL.md), `../../shared/assignment.md`, [b](../labs/PROTOCOL.md), "
            "[c](https://x.org), read `solutions/PROTOCOL.md`, the reference (`solutions/`) runs as a black box")
    assert wrong_links(text, NOTEBOOKS_DIR, students=True) == [
        "solutions/PROTOCOL.md: names a file in solutions/ (students read labs/)",
        "../solutions/PROTOCOL.md: into solutions/ (students read labs/)",
        "../../shared/assignment.md: outside the repository"]
