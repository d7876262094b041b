"""`chatlab grade`, run as a student runs it: a process of its own, in a folder of the student's."""
import json
import os
import signal
import subprocess
import sys

import pytest

from chatlab.catalog import KIT_ROOT, SOLUTIONS_DIR

LIMIT = 120  # seconds: far more than one lab takes
# As a student's shell has it: bytecode caches allowed (the command must stop them itself).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(KIT_ROOT), os.environ.get("PYTHONPATH")]))


def chatlab_grade(*args, cwd):
    return subprocess.run([sys.executable, "-m", "chatlab.cli", "grade", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, encoding="utf-8", timeout=LIMIT)


def test_grading_one_lab_of_a_copy_passes_and_leaves_nothing_behind(tmp_path):
    copy, work = tmp_path / "mine", tmp_path / "work"
    (copy / "lab1_echo").mkdir(parents=True)
    work.mkdir()
    for name in ("server.py", "client.py"):
        (copy / "lab1_echo" / name).write_bytes((SOLUTIONS_DIR / "lab1_echo" / name).read_bytes())
    done = chatlab_grade("lab1", "--target", copy, "--score-json", "results.json", cwd=work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    assert results["tests"] and all(test["name"].startswith("lab1_echo: ") for test in results["tests"])
    assert all(test["status"] == "passed" for test in results["tests"])
    left = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*"))
    assert left == ["mine", "mine/lab1_echo", "mine/lab1_echo/client.py", "mine/lab1_echo/server.py",
                    "work", "work/results.json"], "grading left files behind (a cache?)"


def test_grading_the_stubs_fails_with_exit_code_1_and_a_keyword_narrows_within_the_lab(tmp_path, stubs):
    done = chatlab_grade("lab1", "-k", "two_clients", "--target", stubs, "--score-json", "r.json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    tests = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tests"]
    names = [test["extra_data"]["test"] for test in tests]
    assert names == ["test_two_clients_are_served_at_the_same_time"]


def test_a_target_that_does_not_exist_is_refused_in_one_line(tmp_path):
    done = chatlab_grade("--target", tmp_path / "nowhere", cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().startswith("chatlab: --target") and "\n" not in done.stderr.strip()


@pytest.mark.skipif(sys.platform == "win32", reason="an inherited 'ignore SIGINT' is a POSIX matter")
def test_the_ctrl_c_probe_works_even_when_the_grader_was_started_ignoring_ctrl_c(tmp_path):
    # A shell starts a background job (`chatlab grade &`) with SIGINT ignored, and an ignored
    # signal stays ignored in every process started after: the student's server too.
    done = subprocess.run([sys.executable, "-m", "chatlab.cli", "grade", "lab1", "-k", "ctrl_c", "--target", "solutions"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, encoding="utf-8", timeout=LIMIT,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
