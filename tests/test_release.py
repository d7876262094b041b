"""Tests for chatlab/release.py: solutions/ -> labs/ starter code, and protecting students' edits."""
import importlib.util
import json
import textwrap

import pytest
from grading import STUDENT_WORK, labs_release_problems

from chatlab import release
from chatlab.release import MANIFEST, ReleaseError, check, generate, stub_source

SERVER = textwrap.dedent('''\
    """A tiny chat room."""
    import threading


    class Room:
        def __init__(self):
            self._lock = threading.Lock()
            self.members = []

        def broadcast(self, text, sender=None):
            """Send `text` to every member but the sender."""
            # BEGIN SOLUTION: snapshot the members under the lock
            with self._lock:
                members = list(self.members)
            return [m for m in members if m != sender]
            # END SOLUTION


    def read_lines(sock):
        """Yield the lines received on `sock`."""
        # BEGIN SOLUTION
        return sock.split()
        # END SOLUTION
    ''')


def make_solutions(root):
    """A small solutions/ tree: PROTOCOL.md, one lab with a server and a README, and noise to skip."""
    lab = root / "lab1_echo"
    (lab / "__pycache__").mkdir(parents=True)
    (root / "PROTOCOL.md").write_text("# Protocol\nOne line per message.\n")
    (lab / "server.py").write_text(SERVER)
    (lab / "README.md").write_text("Lab 1\n")
    (lab / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"\0")
    (root / "not_a_lab").mkdir()
    (root / "not_a_lab" / "x.py").write_text("x = 1\n")
    return root


@pytest.fixture
def dirs(tmp_path):
    return make_solutions(tmp_path / "solutions"), tmp_path / "labs"


def test_region_becomes_todo_and_raise_with_the_method_qualname():
    stub = stub_source(SERVER)
    assert ("        # TODO: snapshot the members under the lock\n"
            '        raise NotImplementedError("not implemented yet: Room.broadcast")\n') in stub
    assert "list(self.members)" not in stub and "SOLUTION" not in stub
    assert '"""Send `text` to every member but the sender."""' in stub
    assert stub.startswith('"""A tiny chat room."""\nimport threading\n')


def test_region_without_text_gets_default_todo_and_plain_function_qualname():
    assert stub_source(SERVER).endswith('    """Yield the lines received on `sock`."""\n'
                                        "    # TODO: write this part as the docstring above says\n"
                                        '    raise NotImplementedError("not implemented yet: read_lines")\n')


def test_nested_function_qualname_joins_names_with_dots():
    source = textwrap.dedent("""\
        class A:
            def f(self):
                def g():
                    # BEGIN SOLUTION
                    pass
                    # END SOLUTION
                return g
        """)
    assert 'raise NotImplementedError("not implemented yet: A.f.g")' in stub_source(source)


def test_stub_imports_and_fails_only_when_called(dirs, tmp_path):
    solutions, labs = dirs
    release.release(solutions, labs)
    spec = importlib.util.spec_from_file_location("stub_server_under_test", labs / "lab1_echo" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    room = module.Room()
    with pytest.raises(NotImplementedError, match="not implemented yet: Room.broadcast"):
        room.broadcast("hi")


def test_region_outside_a_function_is_an_error_with_the_line():
    source = "import os\n# BEGIN SOLUTION\nX = 1\n# END SOLUTION\n"
    with pytest.raises(ReleaseError, match=r"server\.py:2: .*inside a function"):
        stub_source(source, "server.py")


def test_unclosed_region_is_an_error():
    source = "def f():\n    # BEGIN SOLUTION\n    return 1\n"
    with pytest.raises(ReleaseError, match=r"s\.py:2: .*never closed"):
        stub_source(source, "s.py")


def test_nested_and_stray_markers_are_errors():
    nested = "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
    with pytest.raises(ReleaseError, match=r"s\.py:3: .*opened at line 2"):
        stub_source(nested, "s.py")
    with pytest.raises(ReleaseError, match=r"s\.py:2: .*without"):
        stub_source("def f():\n    # END SOLUTION\n    return 1\n", "s.py")


def test_generate_copies_non_py_files_and_skips_caches_and_unknown_folders(dirs):
    solutions, _ = dirs
    files = generate(solutions)
    assert files["PROTOCOL.md"] == "# Protocol\nOne line per message.\n"
    assert files["lab1_echo/README.md"] == "Lab 1\n"
    assert sorted(files) == [MANIFEST, "PROTOCOL.md", "lab1_echo/README.md", "lab1_echo/server.py"]
    assert sorted(json.loads(files[MANIFEST])) == sorted(files.keys() - {MANIFEST})


def test_check_is_clean_right_after_release(dirs):
    solutions, labs = dirs
    assert "missing: labs/lab1_echo/server.py" in check(solutions, labs)
    written = release.release(solutions, labs)
    assert sorted(written) == sorted(generate(solutions))
    assert check(solutions, labs) == []
    assert release.release(solutions, labs) == []  # nothing left to do


def test_check_reports_missing_changed_and_stale_files(dirs):
    solutions, labs = dirs
    release.release(solutions, labs)
    (labs / "PROTOCOL.md").unlink()
    (solutions / "lab1_echo" / "README.md").write_text("Lab 1, revised\n")
    (solutions / "lab1_echo" / "client.py").write_text("def run_client():\n    pass\n")
    (labs / "student_notes.txt").write_text("mine\n")  # not from a release: never reported or removed
    (solutions / "lab1_echo" / "server.py").unlink()
    problems = check(solutions, labs)
    assert "missing: labs/PROTOCOL.md" in problems
    assert "missing: labs/lab1_echo/client.py" in problems
    assert "differs from a fresh release: labs/lab1_echo/README.md" in problems
    assert "stale (no longer comes from solutions/): labs/lab1_echo/server.py" in problems
    assert not any("student_notes" in problem for problem in problems)
    release.release(solutions, labs)
    assert not (labs / "lab1_echo" / "server.py").exists()
    assert (labs / "student_notes.txt").exists()
    assert check(solutions, labs) == []


def test_hand_edited_stub_makes_release_refuse_and_force_overwrites(dirs):
    solutions, labs = dirs
    release.release(solutions, labs)
    stub = labs / "lab1_echo" / "server.py"
    stub_raise = 'raise NotImplementedError("not implemented yet: Room.broadcast")'
    stub.write_text(stub.read_text().replace(stub_raise, "return []"))
    (solutions / "lab1_echo" / "server.py").write_text(SERVER + "\nVERSION = 2\n")
    assert ("differs from a fresh release: labs/lab1_echo/server.py "
            "(edited by hand since the last release)") in check(solutions, labs)
    with pytest.raises(ReleaseError, match=r"(?s)labs/lab1_echo/server\.py.*--force"):
        release.release(solutions, labs)
    assert "return []" in stub.read_text()  # the student's work survived
    assert release.release(solutions, labs, force=True) == ["lab1_echo/server.py", MANIFEST]
    assert "VERSION = 2" in stub.read_text() and "return []" not in stub.read_text()


def test_main_check_returns_1_then_0_with_messages(dirs, capsys):
    solutions, labs = dirs
    paths = ["--solutions", str(solutions), "--labs", str(labs)]
    assert release.main(["--check", *paths]) == 1
    assert "labs/ is out of date with solutions/: run `chatlab release`" in capsys.readouterr().out
    assert release.main(paths) == 0
    assert "wrote labs/lab1_echo/server.py" in capsys.readouterr().out
    assert release.main(["--check", *paths]) == 0
    assert "labs/ is up to date (3 files)" in capsys.readouterr().out


def test_main_reports_errors_without_a_traceback(dirs, capsys):
    solutions, labs = dirs
    (solutions / "lab1_echo" / "server.py").write_text("# BEGIN SOLUTION\n# END SOLUTION\n")
    assert release.main(["--solutions", str(solutions), "--labs", str(labs)]) == 1
    assert "server.py:1: a solution region must be inside a function" in capsys.readouterr().err


def test_real_labs_are_up_to_date_with_real_solutions():
    stale, edited = labs_release_problems()
    assert stale == [], "labs/ is out of date with solutions/: run `chatlab release`"
    if edited:
        pytest.skip(f"{STUDENT_WORK} ({len(edited)} files edited since the last release)")
