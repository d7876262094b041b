"""The language of everything chatlab prints, and the translation of its texts (gettext).

Program text is written in English and marked `_("...")`; the English text is the key of
its translation in a gettext catalog, chatlab/locale/<lang>/LC_MESSAGES/chatlab.po, compiled
to chatlab.mo by `python -m chatlab.i18n` (stdlib only: `compile_catalog`; a test checks
that every .mo matches its .po). A text missing from the catalog prints in English, so a
new module (a lab added on another branch) works before it is translated, and
`untranslated()` lists what it still lacks.

Which language: `--lang` wins; without it, a locale (LC_ALL, LC_MESSAGES, LANG, in the
order C uses them) starting with "ru" means Russian; anything else means English. The
language is chosen once per process (`use`), by the CLI or the grader's pytest plugin,
since every report a process prints is in one language.

argparse marks its own words ("usage: ", "options") for gettext too, in the default
domain "messages"; `translate_argparse()` points that domain at our catalog of them
(messages.po), so `chatlab --help` is Russian under a Russian locale (argparse reads the
locale itself: its words follow LANG, not --lang).

Why gettext, when the hints are a dictionary (chatlab/grading/hints.py)? A hint is a paragraph
named by a key that tests and scenarios refer to; its two languages side by side are what a
reviewer reads. The texts here are hundreds of short sentences written inline, in f-string
style, where the code that prints them is: with the English text as the key, marking one is
`_("...")` and nothing else, a missing translation prints the English instead of failing,
argparse's own words are translated the same way, and the .po is what translators' tools edit.
"""
from __future__ import annotations

import ast
import gettext
import os
import re
import struct
import sys
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "ru")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "chatlab"
ARGPARSE_DOMAIN = "messages"   # the domain argparse's own `_()` looks its words up in

_current = "en"


def choose(flag: str | None = None, environ=os.environ) -> str:
    """The language to print in: `flag` (--lang) if given, else the locale's, else English."""
    if flag:
        return flag
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if value:  # the first one set decides, as in C's setlocale()
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def use(lang: str) -> None:
    """Print in `lang` from now on (this process)."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: one of {', '.join(LANGUAGES)}")
    _current = lang


def current() -> str:
    return _current


@lru_cache(maxsize=None)
def translation(lang: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The catalog of `lang` (English, or a language without a catalog: texts as they are)."""
    return gettext.translation(domain, LOCALE_DIR, languages=[lang], fallback=True)


def _(text: str) -> str:
    """`text` in the current language (itself when it has no translation)."""
    return translation(_current).gettext(text) if _current != "en" else text


def N_(text: str) -> str:
    """Mark `text` for the catalog without translating it yet: a constant made at import time,
    before the language is chosen, is translated where it is used, `_(CONSTANT)`."""
    return text


def translate_argparse() -> None:
    """Let argparse's own words follow the locale, from our catalog of them (messages.po)."""
    gettext.bindtextdomain(ARGPARSE_DOMAIN, str(LOCALE_DIR))


# --- the catalogs: .po (what people edit) to .mo (what gettext reads) ----------------------

def read_po(text: str) -> dict[str, str]:
    """The msgid -> msgstr pairs of a .po file (the header, msgid "", included; empty msgstr left out)."""
    entries, field = {}, None
    parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}

    def flush():
        if field is not None:
            msgid, msgstr = "".join(parts["msgid"]), "".join(parts["msgstr"])
            if msgstr:
                entries[msgid] = msgstr
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("msgid "):
            flush()
            parts, field = {"msgid": [], "msgstr": []}, "msgid"
            line = line[len("msgid "):]
        elif line.startswith("msgstr "):
            field = "msgstr"
            line = line[len("msgstr "):]
        elif not line.startswith('"'):
            continue  # a comment or a blank line
        parts[field].append(ast.literal_eval(line))  # "..." with C escapes: \n \" \\ read as Python reads them
    flush()
    return entries


def compile_catalog(entries: dict[str, str]) -> bytes:
    """A GNU .mo file of `entries` (the format gettext.GNUTranslations reads), keys sorted as msgfmt does."""
    keys = sorted(entries)
    ids = [key.encode("utf-8") for key in keys]
    strs = [entries[key].encode("utf-8") for key in keys]
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + 8 * len(keys)
    data_at = translations_at + 8 * len(keys)
    tables, data = [[], []], b""
    for table, texts in zip(tables, (ids, strs)):
        for text in texts:
            table.append((len(text), data_at + len(data)))
            data += text + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), originals_at, translations_at, 0, data_at)
    return header + b"".join(struct.pack("<2I", *pair) for table in tables for pair in table) + data


def catalogs() -> list[Path]:
    """Every .po file of the kit."""
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def build() -> None:
    """Compile every .po into the .mo beside it."""
    for po in catalogs():
        po.with_suffix(".mo").write_bytes(compile_catalog(read_po(po.read_text(encoding="utf-8"))))
        print(f"{po.relative_to(LOCALE_DIR.parent)} -> .mo")


# --- what still needs a translation -------------------------------------------------------

MARKED = re.compile(r"\bN?_\(")


def marked_texts(root: Path) -> dict[str, str]:
    """Every text marked _("...") or N_("...") in the .py files under `root`: text -> where (file:line)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if not MARKED.search(source):
            continue
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
    return found


def untranslated(lang: str, roots: list[Path]) -> dict[str, str]:
    """The marked texts under `roots` that the catalog of `lang` does not translate: text -> where."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    known = read_po(po.read_text(encoding="utf-8")) if po.exists() else {}
    return {text: where for root in roots for text, where in marked_texts(root).items() if text not in known}


if __name__ == "__main__":
    build() if sys.argv[1:] in ([], ["build"]) else sys.exit("usage: python -m chatlab.i18n [build]")
