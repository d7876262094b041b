"""The translation mechanism (chatlab/i18n.py): which language, the catalogs, what is missing, the CLI's help."""
import gettext
import os
import subprocess
import sys

import pytest

from chatlab import i18n
from chatlab.catalog import KIT_ROOT


@pytest.mark.parametrize("flag, environ, lang", [
    ("en", {"LANG": "ru_RU.UTF-8"}, "en"),                 # --lang wins over the locale
    ("ru", {"LANG": "C"}, "ru"),
    (None, {"LANG": "ru_RU.UTF-8"}, "ru"),
    (None, {"LC_ALL": "ru_UA.UTF-8", "LANG": "en_US"}, "ru"),
    (None, {"LC_ALL": "C.UTF-8", "LANG": "ru_RU"}, "en"),   # LC_ALL decides first, as in C
    (None, {"LC_MESSAGES": "ru_RU", "LANG": "en_GB"}, "ru"),
    (None, {}, "en"),
])
def test_the_flag_wins_then_the_locale_then_english(flag, environ, lang):
    assert i18n.choose(flag, environ) == lang


@pytest.mark.parametrize("po", i18n.catalogs(), ids=lambda path: f"{path.parent.parent.name}/{path.name}")
def test_every_compiled_catalog_matches_its_po(po):
    """The .mo gettext reads is the .po people edit, compiled (python -m chatlab.i18n)."""
    entries = i18n.read_po(po.read_text(encoding="utf-8"))
    assert po.with_suffix(".mo").read_bytes() == i18n.compile_catalog(entries), \
        f"{po.name} changed since it was compiled: run python -m chatlab.i18n"
    with po.with_suffix(".mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    for msgid, msgstr in entries.items():
        if i18n.PLURAL_KEY in msgid:  # "singular\0plural" -> "form 0\0form 1\0form 2", Russian: 1, 2, 5
            singular, plural = msgid.split(i18n.PLURAL_KEY)
            assert [catalog.ngettext(singular, plural, n) for n in (1, 2, 5)] == msgstr.split(i18n.PLURAL_KEY)
        elif msgid:
            assert catalog.gettext(msgid) == msgstr


def test_a_plural_takes_the_russian_form_of_its_number():
    """ngettext with the catalog's Plural-Forms: 1 балл, 2 балла, 5 баллов, 11 баллов, 21 балл; 2.5 балла."""
    forms = {n: i18n.ngettext("{n} point", "{n} points", n, "ru").format(n=n) for n in (1, 2, 5, 11, 21, 24, 2.5)}
    assert forms == {1: "1 балл", 2: "2 балла", 5: "5 баллов", 11: "11 баллов", 21: "21 балл", 24: "24 балла",
                     2.5: "2.5 балла"}
    assert [i18n.ngettext("{n} point", "{n} points", n, "en").format(n=n) for n in (1, 2, 0.5)] == \
        ["1 point", "2 points", "0.5 points"]


def test_read_po_reads_plural_entries_as_the_mo_stores_them():
    po = 'msgid "one"\nmsgstr "один"\n\nmsgid "{n} test"\nmsgid_plural "{n} tests"\n' \
         'msgstr[0] "{n} тест"\nmsgstr[1] "{n} теста"\nmsgstr[2] "{n} тестов"\n'
    assert i18n.read_po(po) == {"one": "один", "{n} test\0{n} tests": "{n} тест\0{n} теста\0{n} тестов"}


def test_a_text_without_a_translation_prints_in_english():
    i18n.use("ru")
    try:
        assert i18n._("{name} connects") != "{name} connects"
        assert i18n._("a text nobody translated") == "a text nobody translated"
    finally:
        i18n.use("en")
    assert i18n._("{name} connects") == "{name} connects"


def test_every_marked_text_has_a_russian_translation():
    """Lists what a merged module (lab 5, say) still lacks in Russian: it prints in English until then."""
    from chatlab.sandbox.guard import LIMITS  # not marked: guard.py imports nothing of the kit; grade-all shows it

    missing = i18n.untranslated("ru", [KIT_ROOT / "chatlab", KIT_ROOT / "grader"])
    catalog = i18n.read_po((i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "chatlab.po").read_text(encoding="utf-8"))
    missing.update({} if LIMITS in catalog else {LIMITS: "guard.py: LIMITS"})
    assert not missing, "no Russian in chatlab/locale/ru/LC_MESSAGES/chatlab.po for:\n" + "\n".join(
        f"  {where}: {text!r}" for text, where in sorted(missing.items(), key=lambda item: item[1]))


# The program's own words in its help: commands, option values, metavars, stdout.
COMMANDS = ("serve", "connect", "demo", "grade", "grade-all", "bench", "notebooks", "release", "gradescope")
VOCABULARY = frozenset(COMMANDS) | {"labs", "solutions", "en", "ru", "lab", "stdout", "listening", "on", "chatlab"}


HELPED = ("",) + COMMANDS
# How Russian is asked for: a Russian locale, or --lang ru (under an English locale) before or after the command.
ASKED = {"locale": ("ru_RU.UTF-8", [], []), "flag-before": ("C.UTF-8", ["--lang", "ru"], []),
         "flag-after": ("C.UTF-8", [], ["--lang=ru"])}


def cli(*args: str, lang: str) -> subprocess.CompletedProcess:
    """`chatlab ARGS` in a process of its own, under the locale `lang` (LANG alone: no LC_ALL, no LANGUAGE)."""
    environment = {**os.environ, "LANG": lang, "COLUMNS": "1000"}  # one line per option: no quote cut
    for variable in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        environment.pop(variable, None)
    return subprocess.run([sys.executable, "-m", "chatlab.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=environment, cwd=KIT_ROOT, timeout=60)


@pytest.mark.parametrize("asked", ASKED)
@pytest.mark.parametrize("command", HELPED)
def test_the_help_is_russian_under_a_russian_locale_or_lang_ru(command, asked):
    """`chatlab --help` and each subcommand's, argparse's own words included ("usage:" is "использование:"),
    under a Russian locale, and under --lang ru whatever the locale (before the command or after it)."""
    from english_words import english_words

    locale, before, after = ASKED[asked]
    shown = cli(*before, *command.split(), *after, "--help", lang=locale)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("использование: chatlab"), shown.stdout
    assert english_words(shown.stdout, VOCABULARY) == [], shown.stdout


def test_lang_en_wins_over_a_russian_locale_in_the_help_and_its_errors():
    assert cli("--lang", "en", "grade", "--help", lang="ru_RU.UTF-8").stdout.startswith("usage: chatlab grade")
    refused = cli("serve", "--lang", "en", lang="ru_RU.UTF-8")
    assert "error: the following arguments are required: LAB" in refused.stderr, refused.stderr
    refused = cli("--lang", "ru", "serve", lang="C.UTF-8")
    assert "ошибка: нужны аргументы: LAB" in refused.stderr, refused.stderr


def test_an_error_of_the_cli_is_russian_under_a_russian_locale():
    environment = {**os.environ, "LANG": "ru_RU.UTF-8"}
    environment.pop("LC_ALL", None)
    shown = subprocess.run([sys.executable, "-m", "chatlab.cli", "serve"], capture_output=True, text=True,
                           encoding="utf-8", env=environment, cwd=KIT_ROOT, timeout=60)
    assert "ошибка: нужны аргументы: LAB" in shown.stderr, shown.stderr


def test_the_help_stays_english_under_an_english_locale():
    environment = {**os.environ, "LANG": "en_US.UTF-8"}
    for variable in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        environment.pop(variable, None)
    shown = subprocess.run([sys.executable, "-m", "chatlab.cli", "--help"], capture_output=True, text=True,
                           encoding="utf-8", env=environment, cwd=KIT_ROOT, timeout=60)
    assert shown.stdout.startswith("usage: chatlab") and "Socket programming labs with threads." in shown.stdout


def test_the_gradescope_summary_and_a_grade_all_report_follow_the_language(tmp_path):
    from types import SimpleNamespace

    from english_words import english_words

    from chatlab.catalog import find_lab
    from chatlab.classroom.grade_all import write_report
    from chatlab.classroom.gradebook import GRADED, Row
    from chatlab.classroom.gradescope import gradescope_results

    test = {"name": "lab2_two_user_chat: x", "status": "failed", "score": 0, "max_score": 3, "output": "",
            "extra_data": {"points": 3, "bonus": False, "test": "test_x", "outcome": "failed"}}
    graded = {"tests": [test], "extra_data": {"table": "lab2_two_user_chat       баллы: 0 из 3 (0 %)\nОценка"}}
    i18n.use("ru")
    try:
        summary = gradescope_results(graded, find_lab("lab2"), 0.6)["output"]
        settings = SimpleNamespace(reports=tmp_path)
        submission = SimpleNamespace(student="ivanov", folder=tmp_path / "ivanov", not_handed_in=["lab3_multi_user_chat"])
        write_report(settings, submission, Row("ivanov", GRADED, seconds=1.0, fingerprint="f"), graded, "")
    finally:
        i18n.use("en")
    assert "лабораторная 2" in summary and "вес 0.6" in summary, summary
    assert english_words(summary) == [], summary
    report = (tmp_path / "ivanov.txt").read_text(encoding="utf-8")
    assert "lab3_multi_user_chat: не сдана" in report and "состояние: graded" in report, report
    assert english_words(report.split("\n", 1)[1], frozenset({GRADED})) == [], report


# Calques and jargon the glossary's "Не писать" column names, once found in drafts (docs/glossary.ru.md).
CALQUES = ("жжёт процессор", "recv(), вернувший b''", "приберите", "поток-писатель", "очередь исходящих",
           "уходите вежливо", "сервер грейдера", "грейдер")


def test_no_russian_text_uses_a_calque_the_glossary_forbids():
    """The catalogs, the hints, the Russian notebooks and documents; not the glossary, which lists them."""
    texts = [*i18n.catalogs(), KIT_ROOT / "chatlab" / "grading" / "hints.py", KIT_ROOT / "README.ru.md",
             KIT_ROOT / "solutions" / "PROTOCOL.ru.md", *sorted((KIT_ROOT / "notebooks" / "ru").glob("*.ipynb"))]
    found = [f"{path.relative_to(KIT_ROOT)}: {calque!r}" for path in texts
             for calque in CALQUES if calque in path.read_text(encoding="utf-8").lower()]
    assert not found, "\n".join(found)


def test_every_translation_fills_the_same_placeholders_as_its_english():
    """A {name} the Russian lacks or adds would print wrong or raise KeyError, and only on a failure path."""
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    catalog = i18n.read_po((i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "chatlab.po").read_text(encoding="utf-8"))
    wrong = {}
    for msgid, msgstr in catalog.items():
        english = msgid.split(i18n.PLURAL_KEY)
        if msgid and any(fields(form) != fields(english[-1]) for form in msgstr.split(i18n.PLURAL_KEY)):
            wrong[msgid] = msgstr
    assert not wrong, "\n".join(f"{msgid!r}: {msgstr!r}" for msgid, msgstr in wrong.items())
