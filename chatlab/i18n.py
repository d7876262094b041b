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
domain "messages"; `translate_argparse()` has argparse read them from our catalog of them
(messages.po) in the chosen language, so `chatlab --help` is Russian under a Russian locale
and `chatlab --lang ru grade --help` under any.

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


def ngettext(singular: str, plural: str, n: float, lang: str | None = None) -> str:
    """The form of `singular`/`plural` for the number `n` in `lang` (the current language by default):
    "1 point", "2 points"; in Russian one of three forms, "1 балл", "2 балла", "5 баллов" (the catalog's
    Plural-Forms). A fractional `n` (2.5 points) takes the form of 2, which is right in both languages."""
    count = n if isinstance(n, int) else int(n) if float(n).is_integer() else 2
    return translation(lang or _current).ngettext(singular, plural, count)


def N_(text: str) -> str:
    """Mark `text` for the catalog without translating it yet: a constant made at import time,
    before the language is chosen, is translated where it is used, `_(CONSTANT)`."""
    return text


def translate_argparse(lang: str | None = None) -> None:
    """Let argparse's own words ("usage:", "options", its errors) follow `lang` (the current language by
    default), from our catalog of them (messages.po).

    argparse looks them up with the `_` and `ngettext` it imported from gettext, which read the
    locale (LANGUAGE, LC_ALL, ...), not --lang; they are module globals, looked up at each call, so
    pointing them at the chosen language's catalog makes --lang win over the locale there too.
    """
    import argparse

    catalog = translation(lang or _current, ARGPARSE_DOMAIN)
    argparse._, argparse.ngettext = catalog.gettext, catalog.ngettext


# --- the catalogs: .po (what people edit) to .mo (what gettext reads) ----------------------

PLURAL_KEY = "\0"  # a plural entry's key is "singular\0plural", its text "form 0\0form 1\0form 2", as in a .mo
PO_FIELD = re.compile(r'(msgid_plural|msgid|msgstr(?:\[\d+\])?) ')


def read_po(text: str) -> dict[str, str]:
    """The msgid -> msgstr pairs of a .po file (the header, msgid "", included; empty msgstr left out).

    A plural entry (msgid, msgid_plural, msgstr[0], msgstr[1]...) is read as the .mo stores it:
    "msgid\0msgid_plural" -> "msgstr[0]\0msgstr[1]\0...".
    """
    entries: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    field = None

    def flush():
        if "msgid" not in parts:
            return
        joined = {name: "".join(pieces) for name, pieces in parts.items()}
        msgid = PLURAL_KEY.join(joined[name] for name in ("msgid", "msgid_plural") if name in joined)
        forms = [joined[name] for name in ["msgstr"] + [f"msgstr[{n}]" for n in range(len(joined))] if name in joined]
        if forms and all(forms):
            entries[msgid] = PLURAL_KEY.join(forms)
    for line in text.splitlines():
        line = line.strip()
        started = PO_FIELD.match(line)
        if started:
            field = started.group(1)
            if field == "msgid":
                flush()
                parts = {}
            parts[field] = []
            line = line[started.end():]
        elif not line.startswith('"') or field is None:
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

MARKED = re.compile(r"\b(?:N?_|ngettext)\(")


def marked_texts(root: Path) -> dict[str, str]:
    """Every text marked _("..."), N_("...") or ngettext("...", "...", n) in the .py files under `root`:
    text (a plural's key "singular\0plural", as read_po reads it) -> where (file:line)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if not MARKED.search(source):
            continue
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_", "ngettext")):
                continue
            texts = [arg.value for arg in node.args[:2 if node.func.id == "ngettext" else 1]
                     if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if texts:
                found.setdefault(PLURAL_KEY.join(texts), f"{path.name}:{node.lineno}")
    return found


def untranslated(lang: str, roots: list[Path]) -> dict[str, str]:
    """The marked texts under `roots` that the catalog of `lang` does not translate: text -> where."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    known = read_po(po.read_text(encoding="utf-8")) if po.exists() else {}
    return {text: where for root in roots for text, where in marked_texts(root).items() if text not in known}


if __name__ == "__main__":
    build() if sys.argv[1:] in ([], ["build"]) else sys.exit("usage: python -m chatlab.i18n [build]")
