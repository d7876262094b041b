"""The grading plugin (chatlab/grading/plugin.py) on fake lab modules, run by pytester: the one place the
kit reads the grader's terminal text. Also the failure story of chatlab/grading/scenario.py, in Russian.

The rules: a bonus counts only in a lab whose required tests all pass; a score is written one
way (rubric.score_text) in the table and in --score-json; a skipped graded test is "not
checkable here" and keeps its maximum; a lab file that does not load is one finding, and the
other tests of that lab and file are "not run" (chatlab/grading/loading.py).
"""
import json
import time

import pytest

from chatlab.catalog import KIT_ROOT, SOLUTIONS_DIR, find_lab
from chatlab.grading import loading, plugin, rubric
from chatlab.grading.hints import hint, label
from chatlab.grading.scenario import Scenario

pytest_plugins = ["pytester"]

FAKE_LAB3 = """
    import pytest
    from chatlab.catalog import find_lab

    LAB = find_lab("lab3")

    @pytest.mark.points(3)
    def test_passes():
        pass

    @pytest.mark.points(2, hint="framing-merge")
    def test_fails():
        assert False, "two lines arrived as one"

    @pytest.mark.points(1, bonus=True)
    def test_bonus_passes():
        pass

    @pytest.mark.points(4, bonus=True)
    def test_bonus_fails():
        assert False, "the slow reader stalled the room"

    @pytest.mark.points(5)
    @pytest.mark.skipif(True, reason="this OS cannot run the probe")
    def test_not_checkable():
        pass
"""

FAKE_LAB2 = """
    import pytest
    from chatlab.catalog import find_lab

    LAB = find_lab("lab2")

    @pytest.mark.points(4)
    def test_two_users_chat():
        pass

    @pytest.mark.points(6)
    def test_a_third_user_is_refused():
        pass

    @pytest.mark.points(2, bonus=True)
    def test_bonus_passes():
        pass
"""

FAKE_SCENARIO = """
    import pytest
    from chatlab.catalog import find_lab

    LAB = find_lab("lab1")

    @pytest.mark.points(2, hint="framing-merge")
    def test_with_a_story(scenario):
        scenario.step("alice sends two lines in one segment")
        assert False, "bob expected b'two'"
"""


@pytest.fixture
def fake_labs(pytester):
    pytester.makepyfile(test_fake_lab3=FAKE_LAB3, test_fake_lab2=FAKE_LAB2)
    return pytester


def run_grader(pytester, *args):
    return pytester.runpytest("-p", "chatlab.grading.plugin", "-p", "no:cacheprovider", "--target", "solutions", *args)


def test_the_score_table_writes_each_lab_s_score_and_lists_what_was_lost(fake_labs):
    result = run_grader(fake_labs)
    result.assert_outcomes(passed=5, failed=2, skipped=1)
    result.stdout.fnmatch_lines([  # the labs in the order they were collected: test_fake_lab2.py first
        "*chatlab score*",
        "lab2_two_user_chat       10/10 points + 2 bonus (100 %)",
        "lab3_multi_user_chat     3/10 points (30 %); bonus 1 not counted: a required test failed",
        "    failed: test_fails (2 points)",
        "    bonus not earned: test_bonus_fails (4 points)",
        "    not checkable here: test_not_checkable (5 points): this OS cannot run the probe",
        "Assignment grade: *",
    ])


def score_table(result) -> str:
    """The lines of the score table, between its header and pytest's next one."""
    after = result.stdout.str().split("chatlab score", 1)[1].splitlines()[1:]
    return "\n".join(line for line in after[:next(n for n, line in enumerate(after) if line.startswith("="))])


def test_the_grade_under_the_rubric_is_the_best_weighted_lab_and_a_bonus_fills_no_gap(fake_labs):
    # lab3: 3 of 10 required points (the bonus point is not counted) = 30 % x 1.0; lab2: 100 % x 0.6 = 60
    run_grader(fake_labs).stdout.fnmatch_lines(
        ["Assignment grade: 60 % (best lab: lab2_two_user_chat; rubric weights: *)"])


def test_a_rubric_that_adds_the_labs_up_and_always_counts_a_bonus_is_followed_by_the_table_and_the_json(
        fake_labs, tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text('counts = "sum"\nbonus = "always"\n[weights]\nlab2_two_user_chat = 0.5\n'
                    'lab3_multi_user_chat = 0.5\n', encoding="utf-8")
    rubric.use(path)
    try:
        # lab2: 100 % x 0.5; lab3: (3 required + 1 bonus) of 10 = 40 % x 0.5
        result = run_grader(fake_labs, "--score-json", str(tmp_path / "results.json"))
    finally:
        rubric.use(rubric.DEFAULT_RUBRIC)
    result.stdout.fnmatch_lines(["lab3_multi_user_chat     3/10 points + 1 bonus (40 %)",
                                 "Assignment grade: 70 % (the labs added up: lab2_two_user_chat + "
                                 "lab3_multi_user_chat; rubric weights: *)"])
    tests = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["tests"]
    bonus = next(test for test in tests
                 if test["extra_data"]["test"] == "test_bonus_passes" and test["tags"] == ["lab3_multi_user_chat"])
    assert bonus["score"] == 1, "the rubric counts a bonus always, the test's points too"


def test_deselected_tests_are_not_graded(fake_labs):
    result = run_grader(fake_labs, "-k", "lab2")
    result.stdout.fnmatch_lines(["lab2_two_user_chat       10/10 points + 2 bonus (100 %)",
                                 "Assignment grade: 60 % (best lab: lab2_two_user_chat; *"])
    assert "\nlab3_multi_user_chat" not in score_table(result)


def test_the_table_speaks_russian_under_lang_ru(fake_labs):
    run_grader(fake_labs, "--lang", "ru").stdout.fnmatch_lines([
        "lab2_two_user_chat       10 из 10 баллов + бонус 2 (100 %)",
        "lab3_multi_user_chat     3 из 10 баллов (30 %); бонус 1 не засчитан: не пройден обязательный тест",
        "    не пройден: test_fails (2 балла)",
        "    бонус не получен: test_bonus_fails (4 балла)",
        "    здесь не проверяется: test_not_checkable (5 баллов): this OS cannot run the probe",
        "Оценка за задание: 60 % (лучшая лабораторная: lab2_two_user_chat; *",
    ])


GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}


def test_score_json_is_gradescopes_format_and_writes_the_score_as_the_table_does(fake_labs):
    path = fake_labs.path / "results.json"
    result = run_grader(fake_labs, "--score-json", str(path))
    results = json.loads(path.read_text(encoding="utf-8"))
    assert set(results) <= GRADESCOPE_TOP, f"not in Gradescope's specification: {set(results) - GRADESCOPE_TOP}"
    assert (results["score"], results["extra_data"]["max_score"]) == (60, 100)
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    assert results["output_format"] == "md" and results["output"].startswith("**Grade: 60 of 100**")
    assert results["extra_data"]["table"] == score_table(result), "not the terminal's table"
    assert f"```\n{score_table(result)}\n```" in results["output"]
    by_id = {(test["extra_data"]["lab"], test["extra_data"]["test"]): test for test in results["tests"]}
    for test in by_id.values():
        assert set(test) <= GRADESCOPE_TEST, f"not in Gradescope's specification: {set(test) - GRADESCOPE_TEST}"
        assert test["tags"] == [test["extra_data"]["lab"]] and test["output_format"] == "text"
    tests = {f"{lab}: {name}": test for (lab, name), test in by_id.items()}
    assert set(tests) == {f"lab3_multi_user_chat: test_{name}" for name in (
        "passes", "fails", "bonus_passes", "bonus_fails", "not_checkable")} | {
        f"lab2_two_user_chat: test_{name}" for name in ("two_users_chat", "a_third_user_is_refused", "bonus_passes")}
    assert tests["lab3_multi_user_chat: test_bonus_fails"]["name"] == "lab3_multi_user_chat: bonus fails", "not in words"
    scored = {name: (test["score"], test["max_score"], test["status"]) for name, test in tests.items()}
    assert scored["lab3_multi_user_chat: test_passes"] == (3, 3, "passed")
    assert scored["lab3_multi_user_chat: test_fails"] == (0, 2, "failed")
    assert scored["lab3_multi_user_chat: test_bonus_passes"] == (0, 0, "passed"), "a bonus filled a gap"
    assert scored["lab3_multi_user_chat: test_bonus_fails"] == (0, 0, "failed")
    assert scored["lab3_multi_user_chat: test_not_checkable"] == (0, 5, "failed"), "dropped from the maximum"
    assert scored["lab2_two_user_chat: test_bonus_passes"] == (2, 0, "passed")
    assert "two lines arrived as one" in tests["lab3_multi_user_chat: test_fails"]["output"]
    assert tests["lab3_multi_user_chat: test_passes"]["output"] == ""
    assert tests["lab3_multi_user_chat: test_bonus_passes"]["output"] == label("bonus-not-counted")
    assert tests["lab3_multi_user_chat: test_not_checkable"]["output"] == (
        f"{label('not-checkable')}: this OS cannot run the probe")
    assert tests["lab3_multi_user_chat: test_bonus_passes"]["extra_data"] == {
        "lab": "lab3_multi_user_chat", "test": "test_bonus_passes",
        "points": 1, "bonus": True, "outcome": "passed", "diagnoses": []}
    assert tests["lab3_multi_user_chat: test_not_checkable"]["extra_data"]["outcome"] == "not-checkable"


def test_the_score_json_has_no_local_rerun_command_which_the_terminal_keeps(pytester):
    pytester.makepyfile(test_fake_lab1=FAKE_SCENARIO)
    path = pytester.path / "results.json"
    result = run_grader(pytester, "--score-json", str(path))
    result.stdout.fnmatch_lines([f"{label('rerun')}: pytest *"])
    (test,) = json.loads(path.read_text(encoding="utf-8"))["tests"]
    assert "bob expected b'two'" in test["output"] and label("rerun") not in test["output"]


@pytest.mark.parametrize("args, why", [
    (("-k", "no_such_test"), "Grading could not start: no graded test was selected (does -k match a test's name?)"),
    (("--target", "no/such/folder"),
     "Grading could not start: --target 'no/such/folder' is neither 'solutions', 'labs' nor a folder"),
])
def test_grading_that_cannot_start_still_writes_results_that_say_why(fake_labs, args, why):
    path = fake_labs.path / "results.json"
    result = run_grader(fake_labs, "--score-json", str(path), *args)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "score": 0, "output": why, "output_format": "text", "tests": [],
        "extra_data": {"max_score": 100, "not_started": True}}
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


AS_ON_WINDOWS = """
    import sys

    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(collector):
        \"\"\"Import each test module as on Windows: sys.platform is "win32" while it is collected.\"\"\"
        real = sys.platform
        if isinstance(collector, pytest.Module):
            sys.platform = "win32"
        try:
            yield
        finally:
            sys.platform = real
"""


def test_the_ctrl_c_probe_is_not_checkable_on_windows_and_keeps_its_point(pytester):
    """The real lab 1 grader module, collected as on Windows: its Ctrl+C probe loses its point, in either language."""
    pytester.makepyfile(as_on_windows=AS_ON_WINDOWS)
    pytester.syspathinsert()
    for lang in ("en", "ru"):
        path = pytester.path / f"results-{lang}.json"
        result = pytester.runpytest(str(KIT_ROOT / "grader" / "test_lab1_echo.py"), "-k", "ctrl_c",
                                    "-p", "as_on_windows", "-p", "no:cacheprovider", "--target", "solutions",
                                    "--lang", lang,
                                    "--score-json", str(path))
        result.assert_outcomes(skipped=1)
        reason = label("not-checkable-sigint", lang)
        result.stdout.fnmatch_lines([f"    {label('row-not-checkable', lang)}: "
                                     f"test_ctrl_c_stops_the_server_run_as_a_script_with_a_client_connected "
                                     f"({plugin.points_text(1, lang)}): {reason}"])
        (test,) = json.loads(path.read_text(encoding="utf-8"))["tests"]
        assert (test["score"], test["max_score"], test["status"]) == (0, 1, "failed")
        assert test["output"] == f"{label('not-checkable', lang)}: {reason}"


def test_a_failure_tells_its_story_with_the_russian_hint_under_lang_ru(pytester):
    pytester.makepyfile(test_fake_lab1=FAKE_SCENARIO)
    result = run_grader(pytester, "--lang", "ru")
    result.stdout.fnmatch_lines([
        f"{label('problem', 'ru')}: bob expected b'two'",
        f"{label('hint', 'ru')}: {hint('framing-merge', 'ru')}",
        f"{label('steps', 'ru')}:",
        "  1. alice sends two lines in one segment",
        f'{label("rerun", "ru")}: pytest "test_fake_lab1.py::test_with_a_story" --target solutions --lang ru',
    ])


def test_the_story_of_a_stub_names_the_not_implemented_hint_in_either_language():
    for lang in ("en", "ru"):
        story = Scenario(find_lab("lab1"), "labs", lang, "echo-tail").story(
            "client expected b'hi', but serve_forever() failed: NotImplementedError: not implemented yet: "
            "EchoServer.serve_forever", False, "pytest x")
        assert f"{label('hint', lang)}: {hint('not-implemented', lang)}" in story
        assert hint("echo-tail", lang) not in story


# --- a lab file that does not load ------------------------------------------------------

FAKE_LAB2_SERVER_TESTS = """
    import pytest
    from chatlab.catalog import find_lab

    LAB = find_lab("lab2")

    @pytest.mark.points(2, hint="framing-merge")
    def test_first(scenario):
        pass

    @pytest.mark.points(3, hint="framing-merge")
    def test_second(scenario):
        pass

    @pytest.mark.points(4)
    def test_third(scenario):
        pass
"""

FAKE_LAB2_CLIENT_TESTS = """
    import pytest
    from chatlab.catalog import find_lab

    LAB = find_lab("lab2")

    @pytest.mark.points(1)
    def test_the_client(scenario):
        pass
"""


@pytest.fixture
def lab2_target(pytester):
    """pytester's folder holds fake lab 2 tests of server.py and of client.py, and a copy of the solution in target/."""
    pytester.makepyfile(test_fake_lab2=FAKE_LAB2_SERVER_TESTS, test_fake_lab2_client=FAKE_LAB2_CLIENT_TESTS)
    folder = pytester.path / "target" / "lab2_two_user_chat"
    folder.mkdir(parents=True)
    for name in ("server.py", "client.py"):
        (folder / name).write_bytes((SOLUTIONS_DIR / "lab2_two_user_chat" / name).read_bytes())
    return folder


def grade_target(pytester, *args):
    path = pytester.path / "results.json"
    result = pytester.runpytest("-p", "chatlab.grading.plugin", "-p", "no:cacheprovider",
                                "--target", str(pytester.path / "target"), "--score-json", str(path), *args)
    tests = json.loads(path.read_text(encoding="utf-8"))["tests"]
    return result, {test["extra_data"]["test"]: test for test in tests}


def test_a_server_that_does_not_load_is_one_finding_and_its_other_tests_are_not_run(pytester, lab2_target,
                                                                                     monkeypatch):
    (lab2_target / "server.py").write_text("import socket\ndef broken(:\n    pass\n", encoding="utf-8")
    checked = []
    real_check = plugin.check
    monkeypatch.setattr(plugin, "check", lambda lab, role, target: checked.append((lab.stem, role))
                        or real_check(lab, role, target))
    result, tests = grade_target(pytester)
    result.assert_outcomes(failed=3, passed=1)  # the client loads: its test runs
    assert sorted(checked) == [("lab2_two_user_chat", "client"), ("lab2_two_user_chat", "server")], \
        "each lab file is checked once per run"
    finding = "lab2_two_user_chat: server.py line 2: SyntaxError: invalid syntax"
    first = tests["test_first"]["output"]
    assert first.startswith(f"{label('problem')}: {finding}\n{label('hint')}: {hint('does-not-load')}\n")
    assert "def broken(:" in first, "the end of the traceback is missing"
    for name in ("test_second", "test_third"):
        assert tests[name]["output"] == "Not run: server.py does not load (see test_first)", "a hint of its own?"
        assert tests[name]["extra_data"]["outcome"] == "not-run"
        assert (tests[name]["score"], tests[name]["status"]) == (0, "failed")
    assert tests["test_third"]["max_score"] == 4, "a test not run left the maximum"
    result.stdout.fnmatch_lines([
        "lab2_two_user_chat       1/10 points (10 %)",
        "    failed: test_first (2 points): server.py line 2: SyntaxError: invalid syntax",
        "    2 tests not run (7 points): server.py does not load (see test_first)",
    ])


def test_a_missing_server_says_the_lab_was_not_handed_in_in_either_language(pytester, lab2_target):
    (lab2_target / "server.py").unlink()
    for lang in ("en", "ru"):
        result, tests = grade_target(pytester, "--lang", lang, "-k", "not client")
        result.assert_outcomes(failed=3)
        finding = "lab2_two_user_chat: " + label("missing-file", lang).format(file="server.py")
        assert tests["test_first"]["output"].startswith(
            f"{label('problem', lang)}: {finding}\n{label('hint', lang)}: {hint('file-missing', lang)}\n")
        not_run = label("does-not-load", lang).format(file="server.py", test="test_first")
        assert tests["test_second"]["output"] == f"{label('not-run', lang)}: {not_run}"


def test_a_client_that_fails_at_import_is_one_finding(pytester, lab2_target):
    client = lab2_target / "client.py"
    client.write_text("import nosuchmodule\n" + client.read_text(encoding="utf-8"), encoding="utf-8")
    result, tests = grade_target(pytester)
    result.assert_outcomes(failed=1, passed=3)  # the server loads: its tests run
    assert tests["test_the_client"]["output"].startswith(
        f"{label('problem')}: lab2_two_user_chat: client.py line 1: "
        "ModuleNotFoundError: No module named 'nosuchmodule'\n")


def test_an_import_that_hangs_is_cut_short_and_named_by_its_line(pytester, lab2_target, monkeypatch):
    monkeypatch.setattr(loading, "LOAD_WAIT", 3.0)
    (lab2_target / "server.py").write_text("import threading\n\nthreading.Event().wait()\n", encoding="utf-8")
    started = time.monotonic()
    result, tests = grade_target(pytester, "-k", "not client")
    assert time.monotonic() - started < 3.0 + 5.0, "the import's wait is not bounded"
    result.assert_outcomes(failed=3)
    assert tests["test_first"]["output"].startswith(
        f"{label('problem')}: lab2_two_user_chat: server.py line 3: importing it did not finish within 3 s\n")
    assert "server.py:3: threading.Event().wait()" in tests["test_first"]["output"]
    assert tests["test_second"]["output"].startswith("Not run: ")


def test_the_stubs_load_so_their_tests_run(pytester):
    pytester.makepyfile(test_fake_lab2=FAKE_LAB2_SERVER_TESTS)
    run_grader(pytester, "--target", "labs").assert_outcomes(passed=3)
