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

from chatlab.grading.hints import label

LANG_VARIABLE = "CHATLAB_LANG"
LANGUAGES = ("en", "ru")
DEFAULT_LANG = "en"


def notebook_lang(lang: str | None = None) -> str:
    """The language to report in: `lang` if given, else CHATLAB_LANG, else `ru` in a folder named ru, else `en`."""
    chosen = lang or os.environ.get(LANG_VARIABLE) or ("ru" if Path.cwd().name == "ru" else DEFAULT_LANG)
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {chosen!r}: use one of {', '.join(LANGUAGES)}")
    return chosen


def words(key: str, lang: str | None = None) -> str:
    """A helper's own words (chatlab.grading.hints.LABELS) in the notebook's language (see `notebook_lang`)."""
    return label(key, notebook_lang(lang))
