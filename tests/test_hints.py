"""The hint catalogue: every hint in both languages, and every hint a scenario names exists."""
import re

from chatlab.catalog import KIT_ROOT
from chatlab.grading.hints import HINTS, LABELS

NAMED = re.compile(r"""(?:hint=|\.hint\()["']([\w-]+)["']""")


def test_every_hint_and_label_speaks_english_and_russian():
    for key, entry in {**HINTS, **LABELS}.items():
        assert entry.get("en", "").strip() and entry.get("ru", "").strip(), key


def test_every_hint_a_scenario_names_is_in_the_catalogue():
    named = set()
    for path in [*(KIT_ROOT / "grader").glob("test_*.py"), KIT_ROOT / "grader" / "chat_scenarios.py"]:
        named |= set(NAMED.findall(path.read_text(encoding="utf-8")))
    assert named, "no scenario names a hint: the pattern is wrong"
    assert named <= set(HINTS), f"unknown hint keys: {sorted(named - set(HINTS))}"
