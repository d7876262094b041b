"""The kit's shape: one name per lab in every place, and a README whose commands are true."""
import ast
import re

from chatlab.catalog import KIT_ROOT, LABS, LABS_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR, START_HERE, find_lab

README = (KIT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_lab_has_a_server_and_a_client_in_solutions_and_labs():
    for lab in LABS:
        for folder in (SOLUTIONS_DIR, LABS_DIR):
            for role in ("server", "client"):
                assert (folder / lab.stem / f"{role}.py").is_file(), f"{folder.name}/{lab.stem}/{role}.py"


def test_one_name_four_places_notebook_starter_solution_and_grader_module():
    for lab in LABS:
        for place in (NOTEBOOKS_DIR / f"{lab.stem}.ipynb", LABS_DIR / lab.stem, SOLUTIONS_DIR / lab.stem,
                      KIT_ROOT / "grader" / f"test_{lab.stem}.py"):
            assert place.exists(), f"{lab.stem}: {place.relative_to(KIT_ROOT)} is missing"
    assert (NOTEBOOKS_DIR / f"{START_HERE}.ipynb").is_file()


def test_no_lab_folder_is_missing_from_the_catalog():
    folders = {path.name for path in SOLUTIONS_DIR.iterdir() if path.is_dir() and path.name.startswith("lab")}
    assert folders == {lab.stem for lab in LABS}


def test_a_lab_can_be_named_three_ways():
    for lab in LABS:
        assert find_lab(f"lab{lab.number}") is find_lab(str(lab.number)) is find_lab(lab.stem) is lab


def test_ci_runs_the_test_command_the_readme_shows():
    ci = (KIT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in ci.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 1, "CI should run exactly one set-up-and-test command"
    assert f"\n{commands[0]}\n" in README


def test_readme_shows_the_two_commands_for_a_fresh_machine():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert any(block.endswith("&& chatlab demo --target solutions") for block in blocks)
    assert any(block.endswith("&& pytest") for block in blocks)


def test_grader_holds_only_graded_scenarios():
    """grader/ is what `pytest grader/` grades; the machinery lives in the chatlab package."""
    for module in (KIT_ROOT / "grader").glob("*.py"):
        if module.name in ("__init__.py", "conftest.py"):
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        scenarios = [node.name for node in tree.body
                     if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
        imported = [alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                    for alias in node.names if alias.name.startswith("test_")]
        assert scenarios or imported, f"grader/{module.name} holds no scenario: it belongs in chatlab/"


def test_the_chatlab_command_and_every_chatlab_package_say_who_they_are_for():
    pyproject = (KIT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'chatlab = "chatlab.cli:main"' in pyproject
    for init in sorted((KIT_ROOT / "chatlab").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) >= 2, f"{init.relative_to(KIT_ROOT)} needs a docstring of a few lines"
