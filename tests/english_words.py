"""Find English sentences left in a Russian report: Latin words outside what is not translated.

A Russian report still holds Latin letters where they are not English prose (glossary,
docs/glossary.ru.md: code, identifiers, byte strings, commands and file names are written as
they are): repr()s of bytes and strings (b'...', '...', "..."), `code spans`, calls (recv()),
paths and file names (server.py:30), identifiers (SO_LINGER, handle_client), constants in
capitals (TCP, FIN, UTF-8), the scenario's nicknames, and the source line a thread is at.
What is left once those are taken out, a word of two or more Latin letters, is English.
"""
from __future__ import annotations

import re

QUOTED = re.compile(r"""b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*"|`[^`\n]*`""")
TOKEN = re.compile(r"\S+")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CODE_LIKE = re.compile(r"""[_./\\()\[\]=:<>+*#@$%{}|]|\d|^-|^[A-Z][A-Z0-9-]*$""")  # identifiers, files, ACRONYMS
PUNCTUATION = "([«\"',.;:!?»)]"  # around a word in prose
# Names a report uses as they are: the scripted clients' nicknames, programs and Python's words.
NAMES = {"alice", "bob", "carol", "dave", "erin", "ghost", "silent", "sleeper", "zoe", "xavier", "ivan", "polite",
         "rude", "survivor", "client", "first", "second", "third", "stranger", "nc", "telnet", "pytest", "python",
         "chatlab", "psutil", "sendall", "recv", "send", "docstring", "lock", "finally", "try", "except", "continue",
         "shutdown", "accept", "listen", "input", "print", "Outbox", "Lock", "localhost", "Ctrl", "GIL", "TODO",
         "ConnectionResetError", "EOFError", "NotImplementedError", "utf", "ascii", "replace", "errors", "asyncio",
         "Gradescope", "Linux", "Jupyter", "Python"}
THREAD_AT = re.compile(r"^(\s*поток '[^']*' находится в \S+, в \S+\(\)): .*$", re.M)  # then: the submission's source line


def english_words(report: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The Latin words of `report` that are neither code nor a name: English left untranslated.

    `allowed`: more words that are the program's own vocabulary there (command names, option values).
    """
    text = THREAD_AT.sub(r"\1", report)
    text = QUOTED.sub(" ", text)
    found = []
    for token in TOKEN.findall(text):
        core = token.strip(PUNCTUATION)
        if "()" in token or CODE_LIKE.search(core) or core in allowed:
            continue  # a call, an identifier, a file name, a constant
        for word in LATIN_WORD.findall(token):
            if word not in NAMES and word.lower() not in NAMES and word not in allowed:
                found.append(word)
    return found
