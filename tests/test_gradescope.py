"""The Gradescope autograder (chatlab/classroom/gradescope.py), built and run as Gradescope runs it.

The zip is unpacked into a temporary folder shaped like /autograder (source/, submission/,
results/), and its run_autograder runs there (CHATLAB_AUTOGRADER_ROOT) with this Python first
on PATH: setup.sh is not run (it installs the kit's dependencies with pip, which this one has).
Lab 1 keeps each run to a few seconds.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chatlab import i18n
from chatlab.catalog import KIT_ROOT, SOLUTIONS_DIR, find_lab
from chatlab.grading import plugin  # not its test_words, test_title: pytest would collect them
from chatlab.grading.hints import label
from chatlab.i18n import choose

LAB1 = find_lab("lab1")
RUN_LIMIT = 120  # seconds: the grader bounds every wait itself; this only keeps a broken kit from hanging the test
SPEC_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
SPEC_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
             "tags", "visibility", "extra_data"}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    return build_zip(tmp_path_factory.mktemp("zip") / "autograder.zip")


def build_zip(out: Path, *args) -> Path:
    from chatlab.cli import main
    assert main(["gradescope", "--lab", "lab1", "--out", str(out), *args]) == 0
    return out


def run_autograder(zip_path: Path, root: Path, upload: dict[str, bytes]) -> dict:
    """Unpack the zip into root/source, put `upload` ({relative path: bytes}) in root/submission, run
    run_autograder as Gradescope does, and return the results.json it wrote."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the modes: Gradescope's unzip keeps them
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    for name, data in upload.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    (root / "submission").mkdir(exist_ok=True)
    env = dict(os.environ, CHATLAB_AUTOGRADER_ROOT=str(root),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd=root, capture_output=True,
                          text=True, timeout=RUN_LIMIT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert set(results) <= SPEC_TOP, f"not in Gradescope's specification: {set(results) - SPEC_TOP}"
    for test in results["tests"]:
        assert set(test) <= SPEC_TEST, f"not in Gradescope's specification: {set(test) - SPEC_TEST}"
    return results


def solution(*folders: str) -> dict[str, bytes]:
    """Lab 1's reference files, uploaded under `folders` (none: flat, at the top)."""
    return {"/".join([*folders, name]): (SOLUTIONS_DIR / LAB1.stem / name).read_bytes()
            for name in ("server.py", "client.py")}


def test_the_zip_has_gradescopes_scripts_at_its_top_and_no_solutions(autograder):
    with zipfile.ZipFile(autograder) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        config = json.loads(archive.read("gradescope.json"))
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, f"{script} is not executable"
    assert "pip install" in setup
    assert config == {"lab": "lab1_echo", "weight": 1.0, "lang": choose()}  # no --lang: the builder's locale
    assert "grader/test_lab1_echo.py" in names and "chatlab/grading/plugin.py" in names
    assert "chatlab/locale/ru/LC_MESSAGES/chatlab.mo" in names  # the reports can be Russian (--lang ru)
    assert not [name for name in names if name.startswith(("solutions/", "labs/", "tests/"))]


def test_a_flat_upload_is_graded_in_the_labs_layout_with_full_marks(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, solution())
    assert results["score"] == 100 and results["tests"]
    assert all(test["status"] == "passed" and test["tags"] == ["lab1_echo"] for test in results["tests"])
    assert results["output_format"] == "md" and results["output"].startswith("**TCP echo server (lab 1): 100 of 100")
    assert isinstance(results["execution_time"], int)
    names = [test["name"] for test in results["tests"]]
    assert "lab1_echo: a line comes back unchanged" in names and not [name for name in names if "test_" in name]
    print(f"\nflat upload: graded in {results['execution_time']} s")


def grader_tests() -> dict[str, str]:
    """Every test function of grader/ (the shared scenarios included): name -> file."""
    import ast

    return {node.name: path.name for path in sorted((KIT_ROOT / "grader").glob("*.py"))
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_grader_test_has_a_russian_title():
    """The title Gradescope shows a Russian class is the catalog's translation of the test's words: a new test
    needs its entry in chatlab.po (msgid: its name without test_, underscores as spaces)."""
    catalog = i18n.read_po((i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "chatlab.po").read_text(encoding="utf-8"))
    missing = {name: where for name, where in grader_tests().items() if plugin.test_words(name) not in catalog}
    assert len(grader_tests()) > 90 and not missing, "no Russian title in chatlab.po for:\n" + "\n".join(
        f"  {where}: msgid {plugin.test_words(name)!r}" for name, where in sorted(missing.items()))
    assert plugin.test_title("test_a_line_comes_back_unchanged", "ru") == "строка возвращается без изменений"
    assert plugin.test_title("test_every_line_is_delivered_exactly_once_and_in_order_through_a_lossy_network[10%]",
                      "en") == "every line is delivered exactly once and in order through a lossy network [10%]"


def test_a_russian_autograder_names_its_tests_in_russian(tmp_path):
    from english_words import english_words

    try:
        zip_path = build_zip(tmp_path / "autograder.zip", "--lang", "ru")
    finally:
        i18n.use("en")  # main() chose Russian for this process
    results = run_autograder(zip_path, tmp_path / "root", solution())
    names = [test["name"] for test in results["tests"]]
    assert "lab1_echo: строка возвращается без изменений" in names, names
    assert english_words("\n".join(name.split(": ", 1)[1] for name in names)) == [], names


def test_a_nested_upload_whose_server_does_not_load_says_so_and_no_output_has_a_local_command(autograder, tmp_path):
    upload = solution("my-repo", "labs", "lab1_echo")
    upload["my-repo/labs/lab1_echo/server.py"] = b"import socket\ndef broken(:\n    pass\n"
    results = run_autograder(autograder, tmp_path, upload)
    statuses = {test["status"] for test in results["tests"]}
    assert statuses == {"passed", "failed"}, "the client loads, so its tests pass; the server's fail"
    findings = [test for test in results["tests"] if "SyntaxError" in test["output"]]
    assert len(findings) == 1 and findings[0]["output"].startswith(
        f"{label('problem')}: lab1_echo: server.py line 2: SyntaxError: invalid syntax")
    assert 0 < results["score"] < 100
    assert not [test for test in results["tests"] if label("rerun") in test["output"]], "a local command"


def test_an_empty_upload_loses_every_test_and_says_the_files_are_missing(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"notes.txt": b"I did not finish"})
    assert results["score"] == 0 and results["tests"]
    assert all(test["status"] == "failed" for test in results["tests"])
    assert any("is missing" in test["output"] for test in results["tests"])


def test_a_rubric_weight_scales_the_score(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[weights]\nlab1_echo = 0.5\n', encoding="utf-8")
    zip_path = build_zip(tmp_path / "autograder.zip", "--rubric", str(rubric))
    results = run_autograder(zip_path, tmp_path / "root", solution())
    assert results["score"] == 50 and "50 of 100 points" in results["output"]


def test_an_autograder_that_cannot_start_still_writes_results_that_say_why(autograder, tmp_path):
    shutil.copy(autograder, tmp_path / "broken.zip")
    with zipfile.ZipFile(autograder) as source, zipfile.ZipFile(tmp_path / "broken.zip", "w") as broken:
        for info in source.infolist():
            if info.filename != "gradescope.json":
                broken.writestr(info, source.read(info))
    results = run_autograder(tmp_path / "broken.zip", tmp_path / "root", solution())
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"].startswith("The autograder is not set up right (gradescope.json: ")


@pytest.mark.parametrize("args, says", [
    (["--lab", "lab9"], "chatlab gradescope: no lab called 'lab9'"),
    (["--lab", "lab1", "--rubric", "missing.toml"], "chatlab gradescope: rubric missing.toml: cannot be read"),
])
def test_bad_arguments_get_one_line(args, says, tmp_path):
    done = subprocess.run([sys.executable, "-m", "chatlab.cli", "gradescope", *args, "--out", str(tmp_path / "a.zip")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(says) and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.zip").exists()
