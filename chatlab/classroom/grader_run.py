"""One run of the grader in a process of its own, bounded in time, and killed with all it started.

`grader_command` is the command `chatlab grade` runs, as a list; `GraderProcess` runs it with
its output in a file (nothing to drain, nothing lost when it is killed), a temporary folder of
its own and a hard time limit. `chatlab grade-all` and the kit's tests (tests/grading.py) both
grade this way, so a student graded in a class is graded as when graded alone.
Killing it kills its descendants too, by their ids (psutil, on every OS): the sandboxed server
processes and students' clients of a submission that hangs go with the run that started them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from chatlab.catalog import KIT_ROOT

KILL_WAIT = 5.0   # seconds for killed processes to be gone


def grader_command(target, score_json, keyword: str | None = None, lang: str = "en",
                   paths=None, extra=()) -> list[str]:
    """`pytest grader/ --target T --score-json F`, as `chatlab grade` runs it; `paths` instead of grader/."""
    command = [sys.executable, "-m", "pytest", *(paths or [str(KIT_ROOT / "grader")]), "--target", str(target),
               "--score-json", str(score_json), "--lang", lang, "-p", "no:cacheprovider", "-q", *extra]
    return command + (["-k", keyword] if keyword else [])


@dataclass
class Finished:
    """How a grader run ended."""
    exit_code: int | None    # None: killed (over its time limit, or stopped)
    seconds: float
    output: str              # what it printed, stdout and stderr
    timed_out: bool = False


class GraderProcess:
    """A grader command running in `folder`: its output goes to folder/output.txt, and folder/tmp is the
    temporary folder of the run and of the submission's processes (the only one the sandbox lets them write)."""

    def __init__(self, command: list[str], folder: Path):
        self.folder = Path(folder)
        private = self.folder / "tmp"
        private.mkdir()
        # As `chatlab grade` runs it (no bytecode caches, no third-party pytest plugins), with a temporary folder
        # of its own: a submission may write there, and nowhere near another's.
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8",
                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
                   TMPDIR=str(private), TEMP=str(private), TMP=str(private))
        self._output = open(self.folder / "output.txt", "w+", encoding="utf-8", errors="replace")
        self._killed = threading.Event()
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=self.folder, env=env,
                                        stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT)

    def wait(self, limit: float) -> Finished:
        """Wait at most `limit` seconds; past it, kill the run and all it started."""
        try:
            code = self.process.wait(limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            self.kill()
            code, timed_out = None, True
        seconds = time.monotonic() - self.started
        self._output.seek(0)
        output = self._output.read()
        self._output.close()
        return Finished(None if self._killed.is_set() else code, seconds, output, timed_out)

    def kill(self) -> None:
        """Kill the run and its descendants, by their ids; any thread may call it, more than once."""
        self._killed.set()
        kill_tree(self.process)


def kill_tree(process: subprocess.Popen) -> None:
    """Kill `process` and every process it started, and wait (bounded) until they are gone.

    The process is suspended first, so that it starts nothing new while its descendants are
    listed; then they and it are killed. Each is found and killed by its id.
    """
    try:
        parent = psutil.Process(process.pid)
        parent.suspend()
        family = parent.children(recursive=True)
    except psutil.Error:  # gone already
        family = []
    for member in family:
        try:
            member.kill()
        except psutil.Error:
            pass
    process.kill()
    psutil.wait_procs(family, timeout=KILL_WAIT)
    try:
        process.wait(KILL_WAIT)
    except subprocess.TimeoutExpired:
        pass
