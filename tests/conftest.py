"""What the tests that run real processes share: the kit's CLI, nc and telnet, submissions written on the spot.

A thread collects everything a process writes to a pipe, and every wait on it is bounded
(chatlab/harness/process.py: Process and Output), so a process that stays silent fails the test
instead of hanging it. Every process a test starts is killed, by its Popen object, when the
test ends.
"""
from __future__ import annotations

import textwrap

import pytest
from grading import release_stubs

from chatlab.catalog import KIT_ROOT
from chatlab.harness.process import Process, let_ctrl_c_through


def pytest_configure(config):
    let_ctrl_c_through()  # tests send Ctrl+C to servers they start, even when pytest runs in the background


@pytest.fixture
def spawn():
    """start(args, text=True, stdin=False, cwd=KIT_ROOT, env=None) -> Process, killed when the test ends."""
    started: list[Process] = []

    def start(args, *, text: bool = True, stdin: bool = False, cwd=KIT_ROOT, env=None) -> Process:
        process = Process(args, text=text, stdin=stdin, cwd=cwd, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    """A --target folder with the starter code as solutions/ generates it: what labs/ holds before a student starts."""
    return release_stubs(tmp_path_factory.mktemp("stubs"))


@pytest.fixture
def write_lab_file(tmp_path):
    """write_lab_file(lab, role, code) -> a --target folder whose LAB/ROLE.py is `code` (dedented)."""
    def write(lab, role: str, code: str):
        folder = tmp_path / lab.stem
        folder.mkdir(exist_ok=True)
        (folder / f"{role}.py").write_text(textwrap.dedent(code), encoding="utf-8")
        return tmp_path
    return write


@pytest.fixture
def hosts():
    """Every ServerProcess a test appends here is closed when the test ends."""
    started = []
    yield started
    for host in started:
        host.close()
