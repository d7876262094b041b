"""Every English notebook has a Russian twin in notebooks/ru/, and the two cannot drift apart.

A twin has the same cells in the same order: the same code cells, byte for byte, and a
Markdown cell for each Markdown cell, written in Russian. Change a code cell in one language
and not the other, add or drop a cell, or copy an English cell untranslated, and a test here
fails and names the cell. The code being the same, the twins' helpers pick their language up
from the notebook's folder (`chatlab.notebook.language`); the last tests pin that down.
"""
import json
import re

import pytest

from chatlab.catalog import NOTEBOOKS_DIR
from chatlab.notebook.language import LANG_VARIABLE, notebook_lang, words
from chatlab.notebook.runner import all_notebooks, notebooks_folder

RUSSIAN = notebooks_folder("ru")
CYRILLIC = re.compile(r"[а-яё]", re.I)
LATIN = re.compile(r"[a-z]", re.I)
# What stays as it is in a translation: code blocks and spans, links' targets, HTML tags, web addresses,
# and abbreviations (TODO, TCP, UTF-8).
NOT_PROSE = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)\s]*\)|<[^>\n]*>|https?://\S+|\b[A-Z]{2,}\b", re.S)
MOSTLY = 0.6  # of a Russian cell's letters outside code and links, at least this share are Cyrillic


def load(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def cyrillic_share(markdown: str) -> float:
    """The share of Cyrillic letters among the letters of `markdown`'s prose (1.0 when it has none)."""
    prose = NOT_PROSE.sub(" ", markdown)
    cyrillic, latin = len(CYRILLIC.findall(prose)), len(LATIN.findall(prose))
    return cyrillic / (cyrillic + latin) if cyrillic + latin else 1.0


def drift(english: dict, russian: dict) -> list[str]:
    """How a Russian notebook differs from its English one where twins must not: each difference, by cell."""
    ours, theirs = english["cells"], russian["cells"]
    found = [] if len(ours) == len(theirs) else [f"{len(ours)} cells in English, {len(theirs)} in Russian"]
    for index, (en, ru) in enumerate(zip(ours, theirs)):
        if en["cell_type"] != ru["cell_type"]:
            found.append(f"cell {index}: {en['cell_type']} in English, {ru['cell_type']} in Russian")
        elif en["cell_type"] == "code" and "".join(en["source"]) != "".join(ru["source"]):
            found.append(f"cell {index}: the code differs")
        elif en["cell_type"] == "markdown" and cyrillic_share("".join(ru["source"])) < MOSTLY:
            found.append(f"cell {index}: not translated ({cyrillic_share(''.join(ru['source'])):.0%} Cyrillic)")
    return found


@pytest.mark.parametrize("english", all_notebooks(), ids=lambda path: path.stem)
def test_every_notebook_has_a_russian_twin_with_the_same_cells_and_code(english):
    twin = RUSSIAN / english.name
    assert twin.is_file(), f"{english.name} has no Russian twin: write notebooks/ru/{english.name}"
    differences = drift(load(english), load(twin))
    assert not differences, f"notebooks/ru/{english.name} drifted from notebooks/{english.name}: {differences}"


def test_every_russian_notebook_is_the_twin_of_an_english_one():
    assert {path.name for path in RUSSIAN.glob("*.ipynb")} <= {path.name for path in all_notebooks()}


def test_the_drift_check_catches_changed_code_missing_cells_and_untranslated_text():
    english = load(all_notebooks()[0])
    russian = load(RUSSIAN / all_notebooks()[0].name)
    assert drift(english, russian) == []
    code = next(index for index, cell in enumerate(russian["cells"]) if cell["cell_type"] == "code")
    changed = json.loads(json.dumps(russian))
    changed["cells"][code]["source"] = ["print('one more line')\n", *changed["cells"][code]["source"]]
    assert drift(english, changed) == [f"cell {code}: the code differs"]
    shorter = dict(russian, cells=russian["cells"][:-1])
    assert drift(english, shorter) == [f"{len(english['cells'])} cells in English, {len(shorter['cells'])} in Russian"]
    untranslated = dict(russian, cells=[english["cells"][0], *russian["cells"][1:]])
    assert drift(english, untranslated)[0].startswith("cell 0: not translated")


def test_code_and_links_do_not_count_as_english_prose():
    assert cyrillic_share("Запустите `chatlab serve lab1 --port 5050` и [`labs/`](../../labs) сокет") == 1.0
    assert cyrillic_share("Run `chatlab serve` and open the socket") == 0.0
    assert cyrillic_share("```bash\nnc 127.0.0.1 5050\n```\nВо втором терминале") == 1.0
    assert cyrillic_share("## Ваши TODO: сервер TCP, текст в UTF-8") == 1.0


# --- the twins' helpers speak the twins' language -----------------------------------------

def test_a_notebook_in_a_folder_named_ru_reports_in_russian(tmp_path, monkeypatch):
    monkeypatch.delenv(LANG_VARIABLE, raising=False)
    monkeypatch.chdir(NOTEBOOKS_DIR)
    assert notebook_lang() == "en"
    (tmp_path / "ru").mkdir()
    monkeypatch.chdir(tmp_path / "ru")
    assert notebook_lang() == "ru" and words("todo-left") == "⬜ сделать"


def test_chatlab_lang_wins_over_the_folder_and_an_explicit_lang_over_both(monkeypatch):
    monkeypatch.chdir(NOTEBOOKS_DIR)
    monkeypatch.setenv(LANG_VARIABLE, "ru")
    assert notebook_lang() == "ru"
    assert notebook_lang("en") == "en"
    monkeypatch.setenv(LANG_VARIABLE, "de")
    with pytest.raises(ValueError, match="unknown language 'de'"):
        notebook_lang()


def test_every_helper_word_is_in_every_language():
    from chatlab.grading.hints import LABELS
    from chatlab.notebook.language import LANGUAGES
    for key in ("todo-header", "todo-done", "todo-left", "not-graded", "timeline-title", "timeline-axis"):
        assert set(LABELS[key]) == set(LANGUAGES), key
