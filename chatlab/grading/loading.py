"""Does a lab's file load at all? Checked once per lab and file, in a child process, before its tests run.

A server.py with a SyntaxError, an `import` of a module that is not there, a crash or a wait
at import time: every test of that file would fail with the same story, thirty times over.
Instead the grader imports the file once, in a child process with a time limit (`check`).
If that fails, the first test of the lab and file to run reports it as ONE finding, with
its hint and the end of the traceback (`DoesNotLoad`), and every other test of that lab and
file fails at once with "Not run: server.py does not load (see test_x)" (`NotRun`).

The child imports the file under a module name of its own (chatlab.catalog.load_module), so
an `if __name__ == "__main__":` block does not run:

- server.py is imported exactly as the grader's sandbox imports it (chatlab.sandbox.child),
  so whatever goes wrong at import would go wrong in every server test: it is a finding.
- client.py is run by the client tests as a script, `python client.py --port P`. What fails
  in its own top-level code (a typo, a missing module) fails that script too: a finding. A
  client that calls main() without the `__main__` guard fails in here without its command
  line, but runs as a script all the same: not a finding (its tests then say what it does).

    python -m chatlab.grading.loading LAB ROLE TARGET DUMP_AFTER   (the child: one line, EVENT_PREFIX + JSON)
"""
from __future__ import annotations

import faulthandler
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from chatlab.catalog import KIT_ROOT, Lab, find_lab, load_module, target_dir
from chatlab.grading.hints import hint, label
from chatlab.sandbox import guard

LOAD_WAIT = 10.0      # seconds an import may take (as long as the sandbox waits for a server to start)
DUMP_MARGIN = 2.0     # the child dumps every thread's stack this long before the wait ends: a hang names its line
TRACEBACK_LINES = 15  # lines of the traceback's end kept for the report
EVENT_PREFIX = "\x1echatlab-load "
FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+),? in (?P<function>\S+)')
TOP_LEVEL = "<module>"       # the function name of a module's top-level code in a traceback


@dataclass
class Loading:
    """What importing one lab's file said: ok, or the finding that explains why no test of it can run."""
    lab: str
    file: str                 # "server.py" or "client.py"
    ok: bool = True
    missing: bool = False
    error: str = ""               # Python's words: "SyntaxError: invalid syntax"
    hung: bool = False            # the import did not finish within LOAD_WAIT
    exit_code: int | None = None  # the import ended the process without a word
    line: int | None = None       # where in the file it failed or waited
    details: str = ""             # the end of the traceback, or the line it waited on

    def finding(self, lang: str = "en") -> str:
        """One line: "lab2_two_user_chat: server.py line 12: SyntaxError: invalid syntax"."""
        return f"{self.lab}: {self.what(lang)}"

    def what(self, lang: str = "en") -> str:
        """The finding without its lab: "server.py line 12: SyntaxError: invalid syntax"."""
        if self.missing:
            return label("missing-file", lang).format(file=self.file)
        where = label("file-line", lang).format(file=self.file, line=self.line) if self.line else self.file
        if self.hung:
            what = label("import-hangs", lang).format(seconds=f"{LOAD_WAIT:g}")
        elif self.exit_code is not None:
            what = label("import-exited", lang).format(code=self.exit_code)
        else:
            what = self.error
        return f"{where}: {what}"

    def story(self, lang: str, rerun: str) -> str:
        """The report of the one test that carries the finding: problem, hint, the traceback's end."""
        parts = [f"{label('problem', lang)}: {self.finding(lang)}",
                 f"{label('hint', lang)}: {hint('file-missing' if self.missing else 'does-not-load', lang)}"]
        if self.details:
            parts.append(f"{label('traceback-tail', lang)}:\n" + "\n".join(
                f"  {line}" for line in self.details.splitlines()))
        parts.append(f"{label('rerun', lang)}: {rerun}")
        return "\n".join(parts)

    def not_run(self, first_test: str, lang: str) -> str:
        """Why a test was not run: "server.py does not load (see test_x)", with no hint of its own."""
        return label("does-not-load", lang).format(file=self.file, test=first_test)


class DoesNotLoad(Exception):
    """Raised in place of the first test of a lab and file that does not load: it reports the finding."""

    def __init__(self, loading: Loading):
        super().__init__(loading.finding())
        self.loading = loading


class NotRun(Exception):
    """Raised in place of every other test of that lab and file: not run, see the first one."""

    def __init__(self, loading: Loading, first_test: str):
        super().__init__(loading.not_run(first_test, "en"))
        self.loading, self.first_test = loading, first_test


# --- the parent: run the child, read its answer ---------------------------------------

def check(lab: Lab, role: str, target) -> Loading:
    """Import `lab`'s `role` file ("server" or "client") from `target` in a child process, at most LOAD_WAIT s."""
    path = target_dir(target) / lab.stem / f"{role}.py"
    loading = Loading(lab.stem, path.name)
    if not path.is_file():
        loading.ok, loading.missing = False, True
        return loading
    # Where the tests run it: server.py in the sandbox (from the kit), client.py as a script (from its folder).
    folder = KIT_ROOT if role == "server" else path.parent
    env = dict(os.environ, PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join(filter(None, [str(KIT_ROOT), os.environ.get("PYTHONPATH")])))
    dump_after = max(LOAD_WAIT - DUMP_MARGIN, LOAD_WAIT / 2)
    # Files, not pipes: nothing to drain, and nothing a grandchild could hold open.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        child = subprocess.Popen([sys.executable, "-B", "-m", "chatlab.grading.loading", lab.stem, role,
                                  str(target_dir(target)), f"{dump_after:g}"],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=folder, env=env)
        try:
            child.wait(LOAD_WAIT)
            hung = False
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            hung = True
        out.seek(0)
        answer = out.read().rpartition(EVENT_PREFIX)[2]
        err.seek(0)
        stderr = err.read()
    if hung:
        return _hung(loading, path, role, stderr)
    if not answer.strip():
        loading.ok, loading.exit_code = False, child.returncode
        loading.details = "\n".join(stderr.strip().splitlines()[-TRACEBACK_LINES:])
        return loading
    return _answered(loading, role, json.loads(answer))


def _answered(loading: Loading, role: str, answer: dict) -> Loading:
    if answer["ok"] or not blames_the_file(role, answer["function"]):
        return loading
    loading.ok = False
    loading.error, loading.line, loading.details = answer["error"], answer["line"], answer["traceback"]
    return loading


def _hung(loading: Loading, path: Path, role: str, stderr: str) -> Loading:
    """The import did not finish: where did it wait? The child's stack dump names the line."""
    line, function = waiting_at(stderr, path)
    if not blames_the_file(role, function):
        return loading
    loading.ok, loading.hung, loading.line = False, True, line
    code = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if line and line <= len(code):
        loading.details = f"{path.name}:{line}: {code[line - 1].strip()}"
    return loading


def waiting_at(dump: str, path: Path) -> tuple[int | None, str]:
    """(line, function) where the import of `path` waited, from a faulthandler dump of every thread.

    The importing thread is the one running the file's top-level code; a dump lists each
    thread's innermost call first, so its first frame in the file is where it waited.
    """
    for thread in re.split(r"^(?:Current thread|Thread) 0x", dump, flags=re.M):
        frames = [frame for frame in FRAME.finditer(thread) if frame["path"] == str(path)]
        if any(frame["function"] == TOP_LEVEL for frame in frames):
            return int(frames[0]["line"]), frames[0]["function"]
    return None, TOP_LEVEL


def blames_the_file(role: str, function: str) -> bool:
    """Whether a failure at import, innermost in `function` of the file, means the file does not load.

    Always for server.py, which the grader imports. For client.py, which the grader runs as a
    script, only a failure of its top-level code: one inside a function comes from a main()
    called without the `__main__` guard, and the script runs all the same.
    """
    return role == "server" or function == TOP_LEVEL


# --- the child: import the file, say what happened -------------------------------------

def where(error: BaseException, path: Path) -> tuple[int | None, str]:
    """(line, function) of the innermost place in the file at `path` where `error` happened."""
    if isinstance(error, SyntaxError) and error.filename == str(path):
        return error.lineno, TOP_LEVEL
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
    return (frames[-1].lineno, frames[-1].name) if frames else (None, TOP_LEVEL)


def traceback_tail(error: BaseException, path: Path) -> str:
    """The traceback from the file's first frame on (the grader's own frames before it say nothing), cut short."""
    lines = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip().splitlines()
    start = next((n for n, line in enumerate(lines) if f'"{path}"' in line), 0)
    return "\n".join(lines[start:][-TRACEBACK_LINES:])


def main(argv: list[str]) -> None:
    lab_name, role, target, dump_after = argv
    lab = find_lab(lab_name)
    path = target_dir(target) / lab.stem / f"{role}.py"
    answer_to = sys.stdout
    sys.stdout = open(os.devnull, "w")  # what the file prints at import is not the answer
    sys.argv = [str(path)]               # what a script started without arguments sees
    faulthandler.dump_traceback_later(float(dump_after), file=sys.stderr)
    guard.install(target_dir(target))  # its top level runs here: no writes outside it, no solutions/
    try:
        load_module(lab, role, target)
        answer = {"ok": True}
    except BaseException as error:  # SyntaxError, ImportError, any crash, sys.exit() at import
        line, function = where(error, path)
        message = error.msg if isinstance(error, SyntaxError) else str(error)  # its line is named apart
        answer = {"ok": False, "error": f"{type(error).__name__}: {message}".strip().removesuffix(":"),
                  "line": line, "function": function, "traceback": traceback_tail(error, path)}
    answer_to.write(EVENT_PREFIX + json.dumps(answer) + "\n")
    answer_to.flush()
    os._exit(0)  # threads the file started at import must not keep this process alive


if __name__ == "__main__":
    main(sys.argv[1:])
