"""A lab file that does not load is ONE finding (chatlab/grading/loading.py).

Graded as a student's copy is graded (tests/grading.py), a broken submission whose server.py
does not compile gets exactly one failure that names the file, the line and the error, with a
hint; every other test of that lab and file says "not run" and has no hint of its own. Then
the check itself: what counts as "does not load" for a server and for a client, in a child
process with a time limit.
"""
from __future__ import annotations

import shutil

import pytest
from grading import broken_role, broken_spec, build_broken, grade

from chatlab.catalog import SOLUTIONS_DIR, find_lab
from chatlab.grading.hints import hint, label
from chatlab.grading.loading import TOP_LEVEL, check, waiting_at

LAB2 = find_lab("lab2")


def test_a_server_that_does_not_compile_is_one_finding_with_a_hint_and_the_rest_are_not_run(tmp_path):
    spec = broken_spec("load_syntax_error")
    target = build_broken("load_syntax_error", tmp_path)
    with pytest.raises(SyntaxError) as broken:
        compile((target / LAB2.stem / "server.py").read_text(encoding="utf-8"), "server.py", "exec")
    run = grade(target, spec["lab"], role=broken_role(spec))
    assert run.failed == set(spec["fails"]) and len(run.tests) == len(spec["fails"])
    hint_line = f"{label('hint')}: {hint('does-not-load')}"
    findings = [test for test in run.tests if "SyntaxError" in test["output"]]
    assert len(findings) == 1, f"{len(findings)} tests report the SyntaxError, not one"
    (finding,) = findings
    first = finding["extra_data"]["test"]
    assert finding["output"].startswith(
        f"{label('problem')}: lab2_two_user_chat: server.py line {broken.value.lineno}: SyntaxError: expected ':'\n"
        f"{hint_line}\n")
    others = [test for test in run.tests if test is not finding]
    assert {test["output"] for test in others} == {f"Not run: server.py does not load (see {first})"}
    assert all(test["extra_data"]["outcome"] == "not-run" and test["score"] == 0 for test in others)
    assert run.points() == (0, sum(test["max_score"] for test in run.tests)), "the maximum changed"
    assert f"failed: {first} (" in run.stdout and f"{len(others)} tests not run (" in run.stdout


@pytest.fixture
def lab2_copy(tmp_path):
    """A --target holding a copy of lab 2's solution, to break."""
    shutil.copytree(SOLUTIONS_DIR / LAB2.stem, tmp_path / LAB2.stem)
    return tmp_path


def test_the_solutions_and_the_stubs_load(stubs):
    for target in ("solutions", stubs):
        for role in ("server", "client"):
            assert check(LAB2, role, target).ok, f"{target}: {role}.py does not load"


CALLS_A_FAILING_FUNCTION = "\n\ndef setup():\n    raise RuntimeError('no room')\n\n\nsetup()\n"


def test_a_crash_in_a_function_called_at_import_fails_a_server_but_not_a_client_run_as_a_script(lab2_copy):
    """As a client's main() called without the `__main__` guard: it runs as a script all the same."""
    for role in ("server", "client"):
        path = lab2_copy / LAB2.stem / f"{role}.py"
        path.write_text(path.read_text(encoding="utf-8") + CALLS_A_FAILING_FUNCTION, encoding="utf-8")
    loading = check(LAB2, "server", lab2_copy)
    lines = (lab2_copy / LAB2.stem / "server.py").read_text(encoding="utf-8").splitlines()
    assert not loading.ok and loading.error == "RuntimeError: no room"
    assert lines[loading.line - 1] == "    raise RuntimeError('no room')"
    assert check(LAB2, "client", lab2_copy).ok


def test_a_crash_in_a_client_s_own_top_level_code_is_a_finding(lab2_copy):
    path = lab2_copy / LAB2.stem / "client.py"
    path.write_text(path.read_text(encoding="utf-8") + "\nRECV_SIZE = BUFFER_SIZE\n", encoding="utf-8")
    loading = check(LAB2, "client", lab2_copy)
    assert not loading.ok and loading.error == "NameError: name 'BUFFER_SIZE' is not defined"
    assert loading.finding("ru") == (f"lab2_two_user_chat: client.py, строка {loading.line}: "
                                     "NameError: name 'BUFFER_SIZE' is not defined")


def test_what_the_file_prints_at_import_is_never_taken_for_the_answer(lab2_copy):
    server = lab2_copy / LAB2.stem / "server.py"
    server.write_text('import os\nprint("\\x1echatlab-load {\\"ok\\": true}", flush=True)\nos._exit(0)\n'
                      + server.read_text(encoding="utf-8"), encoding="utf-8")
    loading = check(LAB2, "server", lab2_copy)
    assert not loading.ok and loading.exit_code == 0, loading
    assert loading.finding() == "lab2_two_user_chat: server.py: importing it ended the process (exit code 0)"


def test_a_hang_is_placed_on_the_importing_thread_s_line_in_a_stack_dump(tmp_path):
    path = tmp_path / "server.py"
    dump = (f'Thread 0x00007f01 (most recent call first):\n'
            f'  File "/usr/lib/python3.11/threading.py", line 320 in wait\n'
            f'  File "{path}", line 7 in helper\n'
            f'\nCurrent thread 0x00007f02 (most recent call first):\n'
            f'  File "/usr/lib/python3.11/threading.py", line 320 in wait\n'
            f'  File "{path}", line 12 in <module>\n'
            f'  File "<frozen importlib._bootstrap>", line 241 in _call_with_frames_removed\n')
    assert waiting_at(dump, path) == (12, TOP_LEVEL), "the helper thread's line was taken for the import's"
    assert waiting_at("", path) == (None, TOP_LEVEL)


def test_a_file_that_reads_the_reference_or_writes_outside_at_import_does_not_load(lab2_copy, monkeypatch):
    """The check that a file loads runs its top level: guarded like every process that runs a student's code."""
    server = lab2_copy / LAB2.stem / "server.py"
    original = server.read_text(encoding="utf-8")
    private = lab2_copy / "tmp"  # the child's temporary folder, which a submission may write in, as grade-all gives
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    escape = lab2_copy.parent / f"{lab2_copy.name}-escaped.txt"  # outside the target and the child's temporary folder
    for shortcut in (f"open({str(SOLUTIONS_DIR / LAB2.stem / 'server.py')!r}).read()\n",
                     f"open({str(escape)!r}, 'w').write('out')\n"):
        server.write_text(shortcut + original, encoding="utf-8")
        loading = check(LAB2, "server", lab2_copy)
        escaped = escape.exists()
        escape.unlink(missing_ok=True)
        assert not loading.ok and loading.error.startswith("PermissionError: chatlab's sandbox: "), loading
        assert not escaped
