"""The starter code: it imports, and every unfinished part fails at once, by name.

The stubs are generated from solutions/ into a folder of their own (the `stubs` fixture), as
`chatlab release` writes them to labs/: the tests pass whatever a student has done in labs/.
"""
import ast
import inspect
import time
from unittest import mock

import pytest

from chatlab.catalog import LABS, lab_file, load_module
from chatlab.harness.clients import TypedClient
from chatlab.harness.session import LabSession, lab_session
from chatlab.harness.waiting import ExpectationError

STUB_FILES = [(lab, role) for lab in LABS for role in ("server", "client")]


def stubbed_functions(lab, role, target):
    """(qualified name, the name its NotImplementedError gives) of every function with a TODO in `target`."""
    tree = ast.parse(lab_file(lab, role, target).read_text(encoding="utf-8"))
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                visit(child, prefix + child.name + ".")
                if isinstance(child, ast.FunctionDef):
                    for raised in ast.walk(child):
                        if (isinstance(raised, ast.Raise) and isinstance(raised.exc, ast.Call)
                                and getattr(raised.exc.func, "id", "") == "NotImplementedError"):
                            found.append((prefix + child.name, raised.exc.args[0].value))

    visit(tree, "")
    return found


@pytest.mark.parametrize("lab, role", STUB_FILES, ids=lambda value: getattr(value, "stem", value))
def test_every_stub_imports_and_names_each_unfinished_function(lab, role, stubs):
    load_module(lab, role, stubs)
    todos = stubbed_functions(lab, role, stubs)
    assert todos, f"{lab.stem}/{role}.py has nothing for the student to write"
    for qualname, message in todos:
        assert message == f"not implemented yet: {qualname}"


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_no_server_stub_sends_anything_itself_every_send_is_the_students(lab, stubs):
    """The assignment's lesson is "receiving and sending to all users" in threads: in the starter
    server, no given line calls send(), sendall() or sendto(); each send is inside a TODO."""
    tree = ast.parse(lab_file(lab, "server", stubs).read_text(encoding="utf-8"))
    given_sends = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and getattr(node.func, "attr", "") in ("send", "sendall", "sendto")]
    assert not given_sends, f"{lab.stem}/server.py sends in its given code, lines {given_sends}"


@pytest.mark.parametrize("lab, role", STUB_FILES, ids=lambda value: getattr(value, "stem", value))
def test_stubs_whose_whole_body_is_todo_raise_when_called(lab, role, stubs):
    module = load_module(lab, role, stubs)
    for qualname, message in stubbed_functions(lab, role, stubs):
        function = module
        for part in qualname.split("."):
            function = getattr(function, part)
        source = inspect.getsource(function)
        body = ast.parse(source.strip() if source.startswith(" ") else source).body[0].body
        statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if not isinstance(statements[0], ast.Raise):
            continue  # the TODO comes after given code (e.g. connecting): covered by the tests below
        arguments = [mock.MagicMock() for _ in inspect.signature(function).parameters]
        with pytest.raises(NotImplementedError, match=message):
            result = function(*arguments)
            if inspect.isgenerator(result):
                next(result)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_stub_server_fails_at_once_with_what_is_missing(lab, stubs):
    started = time.monotonic()
    session = LabSession(lab, stubs)
    try:
        with pytest.raises(ExpectationError, match="not implemented yet"):
            client = session.client("student")
            client.send_line("/join student" if lab.transport == "udp" else "student")
            client.expect("* welcome student")
    finally:
        session.close()
    assert time.monotonic() - started < 2, "a stub must fail at once, not after a timeout"


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.stem)
def test_stub_client_fails_at_once_with_what_is_missing(lab, stubs):
    with lab_session(lab) as session:
        started = time.monotonic()
        client = TypedClient(lab, session.address, "student", target=stubs)
        client.type("hello")
        client.end_input()
        assert client.wait_finished(), "the stub client neither finished nor failed"
        assert isinstance(client.error, NotImplementedError)
        assert "not implemented yet" in str(client.error)
        assert time.monotonic() - started < 2
