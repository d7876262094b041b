"""Which language a notebook speaks, so that one code cell reports in English or in Russian.

The Russian notebooks in notebooks/ru/ are twins of the English ones: their code cells are the
same, byte for byte, and so cannot say `lang="ru"`. Instead each helper that prints words asks
`notebook_lang()`, which decides in this order:

1. the environment variable CHATLAB_LANG (`en` or `ru`), which `chatlab notebooks --lang` sets;
2. the folder the kernel runs in, which Jupyter, VS Code and `chatlab notebooks` make the
   notebook's own folder: a folder named `ru` (notebooks/ru/) means Russian;
3. otherwise English.

A helper's explicit `lang=` argument wins over all three.
"""
from __future__ import annotations

import os
from pathlib import Path

LANG_VARIABLE = "CHATLAB_LANG"
LANGUAGES = ("en", "ru")
DEFAULT_LANG = "en"

# The words the notebook helpers print themselves (the grader's labels are in chatlab.grading.hints).
WORDS = {
    "todo-header": {"en": "| | file:line | function | what to write |",
                    "ru": "| | файл:строка | функция | что написать |"},
    "todo-done": {"en": "✅ written", "ru": "✅ написано"},
    "todo-left": {"en": "⬜ to do", "ru": "⬜ сделать"},
    "not-graded": {"en": "not graded", "ru": "не проверена"},
    "sequence-title": {"en": "What the server received (blue) and sent (orange), one arrow per call",
                       "ru": "Что сервер получил (синие) и отправил (оранжевые), одна стрелка на вызов"},
    "timeline-title": {"en": "Which server thread handled which line",
                       "ru": "Какой поток сервера обработал какую строку"},
    "timeline-axis": {"en": "milliseconds since the tap started   (o received, > sent)",
                      "ru": "миллисекунды от начала перехвата   (o получено, > отправлено)"},
    "timeline-from": {"en": "from", "ru": "от"},
    "timeline-to": {"en": "to", "ru": "к"},
}


def notebook_lang(lang: str | None = None) -> str:
    """The language to report in: `lang` if given, else CHATLAB_LANG, else `ru` in a folder named ru, else `en`."""
    chosen = lang or os.environ.get(LANG_VARIABLE) or ("ru" if Path.cwd().name == "ru" else DEFAULT_LANG)
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {chosen!r}: use one of {', '.join(LANGUAGES)}")
    return chosen


def words(key: str, lang: str | None = None) -> str:
    """A helper's own words in the notebook's language (see `notebook_lang`)."""
    return WORDS[key][notebook_lang(lang)]
