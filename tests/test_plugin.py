"""The grading plugin (chatlab/grading/plugin.py) on fake lab modules, run by pytester: the one place the
kit reads the grader's terminal text. Also the failure story of chatlab/grading/scenario.py, in Russian.
"""
import json

import pytest

from chatlab.catalog import find_lab
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
    @pytest.mark.skip(reason="this OS cannot run the probe")
    def test_skipped():
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


def test_the_score_table_lists_each_lab_earned_of_possible_and_what_failed(fake_labs):
    result = run_grader(fake_labs)
    result.assert_outcomes(passed=4, failed=2, skipped=1)
    result.stdout.fnmatch_lines([  # the labs in the order they were collected: test_fake_lab2.py first
        "*chatlab score*",
        "lab2_two_user_chat       10/10 points (100 %)",
        "lab3_multi_user_chat     4/5 points (80 %)",
        "    failed: test_fails (2 points)",
        "    bonus not earned: test_bonus_fails (4 points)",
        "Assignment grade: *",
    ])
    assert "test_skipped" not in score_table(result), "a skipped test was graded"


def score_table(result) -> str:
    return result.stdout.str().split("chatlab score", 1)[1]


def test_the_grade_under_the_rubric_is_the_best_weighted_lab(fake_labs):
    # lab3: 80 % x 1.0 = 80; lab2: 100 % x 0.6 = 60
    run_grader(fake_labs).stdout.fnmatch_lines(
        ["Assignment grade: 80 % (best lab: lab3_multi_user_chat; rubric weights: *)"])


def test_deselected_tests_are_not_graded(fake_labs):
    result = run_grader(fake_labs, "-k", "lab2")
    result.stdout.fnmatch_lines(["lab2_two_user_chat       10/10 points (100 %)",
                                 "Assignment grade: 60 % (best lab: lab2_two_user_chat; *"])
    assert "\nlab3_multi_user_chat" not in score_table(result)


def test_score_json_is_gradescopes_format_and_bonus_points_never_add_to_the_maximum(fake_labs):
    path = fake_labs.path / "results.json"
    run_grader(fake_labs, "--score-json", str(path))
    results = json.loads(path.read_text(encoding="utf-8"))
    assert (results["score"], results["max_score"]) == (80, 100)
    tests = {test["name"]: test for test in results["tests"]}
    for test in tests.values():
        assert set(test) == {"name", "score", "max_score", "status", "output"}
    assert set(tests) == {"lab3_multi_user_chat: test_passes", "lab3_multi_user_chat: test_fails",
                          "lab3_multi_user_chat: test_bonus_passes", "lab3_multi_user_chat: test_bonus_fails",
                          "lab2_two_user_chat: test_two_users_chat", "lab2_two_user_chat: test_a_third_user_is_refused"}
    scored = {name: (test["score"], test["max_score"], test["status"]) for name, test in tests.items()}
    assert scored["lab3_multi_user_chat: test_passes"] == (3, 3, "passed")
    assert scored["lab3_multi_user_chat: test_fails"] == (0, 2, "failed")
    assert scored["lab3_multi_user_chat: test_bonus_passes"] == (1, 0, "passed")
    assert scored["lab3_multi_user_chat: test_bonus_fails"] == (0, 0, "failed")
    assert "two lines arrived as one" in tests["lab3_multi_user_chat: test_fails"]["output"]
    assert tests["lab3_multi_user_chat: test_passes"]["output"] == ""


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
