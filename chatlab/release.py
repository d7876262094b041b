"""Generate the students' starter code in labs/ from the reference solutions in solutions/.

The teacher writes only solutions/. In a solution file, the parts the student must write
are marked, inside a function, like this:

    def broadcast(self, text, sender=None):
        \"\"\"Docstring: the contract (stays in the stub).\"\"\"
        # BEGIN SOLUTION: snapshot the members under the lock, then queue the line for each
        ...
        # END SOLUTION

The release replaces each marked region by a TODO comment and a
`raise NotImplementedError("not implemented yet: Room.broadcast")`, so the stub imports
cleanly and fails only when the missing part is called. Everything else (docstrings,
imports, helpers, PROTOCOL.md) is copied unchanged.

labs/ is where students work, so a release must never silently destroy their code. It
records the sha256 of every file it writes in labs/.release-manifest.json; a file whose
content no longer matches that record has been edited by hand, and the release refuses
to overwrite (or delete) it unless given --force.

    python -m chatlab.release            # regenerate labs/
    python -m chatlab.release --check    # exit 1 if labs/ is out of date
    python -m chatlab.release --student-kit DIR   # the kit without solutions/ (chatlab/classroom/kit.py)
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sys
from pathlib import Path

from chatlab.catalog import LABS, LABS_DIR, SOLUTIONS_DIR
from chatlab.i18n import _, ngettext

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
DEFAULT_TODO = "write this part as the docstring above says"
MANIFEST = ".release-manifest.json"


class ReleaseError(ValueError):
    """solutions/ cannot be turned into starter code, or labs/ holds work a release would destroy."""


def stub_source(source: str, path: Path | str = "<solution>") -> str:
    """The starter code for one solution file: each marked region becomes a TODO and a raise.

    `path` only names the file in error messages, which read `path:line: problem`.
    """
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise ReleaseError(f"{path}:{error.lineno}: the solution does not compile: {error.msg}") from None
    spans = functions(tree)
    out = []
    begin = None  # (line number, indentation, todo text) of the region being skipped
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if begin is not None:
                raise ReleaseError(f"{path}:{number}: {BEGIN} inside the region opened at line {begin[0]}")
            rest = stripped[len(BEGIN):]
            if rest and not rest.startswith(":"):
                raise ReleaseError(f"{path}:{number}: write `{BEGIN}` or `{BEGIN}: todo text`, "
                                   f"not {stripped!r}")
            todo = rest[1:].strip() or DEFAULT_TODO
            begin = (number, line[: len(line) - len(line.lstrip())], todo)
        elif stripped == END:
            if begin is None:
                raise ReleaseError(f"{path}:{number}: {END} without a {BEGIN} before it")
            out.append(_replacement(begin, spans, path))
            begin = None
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise ReleaseError(f"{path}:{begin[0]}: {BEGIN} is never closed by {END}")
    stub = "".join(out)
    try:
        compile(stub, str(path), "exec")
    except SyntaxError as error:
        raise ReleaseError(f"{path}:{error.lineno}: the generated stub does not compile: "
                           f"{error.msg}") from None
    return stub


def functions(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, dotted name) of every function, e.g. (12, 30, 'Room.broadcast')."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def enclosing_function(spans: list[tuple[int, int, str]], line: int) -> tuple[int, int, str] | None:
    """The innermost function containing `line`: functions containing a line nest, so it starts last."""
    return max((f for f in spans if f[0] <= line <= f[1]), default=None)


def _replacement(begin: tuple[int, str, str], spans: list[tuple[int, int, str]], path: Path | str) -> str:
    """The two lines that stand for a region in the stub, at the BEGIN marker's indentation."""
    number, indent, todo = begin
    enclosing = enclosing_function(spans, number)
    if enclosing is None:
        raise ReleaseError(f"{path}:{number}: a solution region must be inside a function, "
                           "so that the stub imports and fails only when called")
    return (f"{indent}# TODO: {todo}\n"
            f'{indent}raise NotImplementedError("not implemented yet: {enclosing[2]}")\n')


def generate(solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """The full content of labs/ as it should be: {relative posix path: text}.

    Holds the top-level files of solutions/ and the folders of the labs in the catalog,
    with every .py file stubbed, and last the manifest of everything else.
    """
    sources = [path for path in sorted(solutions_dir.iterdir()) if path.is_file()]
    for lab in LABS:
        if (solutions_dir / lab.stem).is_dir():
            sources += sorted(path for path in (solutions_dir / lab.stem).rglob("*") if path.is_file())
    files = {}
    for path in sources:
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            text = stub_source(text, path)
        files[path.relative_to(solutions_dir).as_posix()] = text
    manifest = {name: _sha256(text.encode("utf-8")) for name, text in files.items()}
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return files


def release(solutions_dir: Path = SOLUTIONS_DIR, labs_dir: Path = LABS_DIR, force: bool = False) -> list[str]:
    """Bring labs/ up to date with solutions/; return the relative paths written or removed.

    Refuses (ReleaseError) to touch a file edited since the last release unless `force`.
    """
    wanted, changed, stale, edited = _plan(solutions_dir, labs_dir)
    if edited and not force:
        names = "".join(f"\n  {labs_dir.name}/{name}" for name in edited)
        raise ReleaseError(f"these files were edited since the last release (a student's work?):{names}\n"
                           "pass --force to overwrite them")
    # The manifest comes last in `wanted`: if the release stops halfway, the files already
    # written match what the next release wants, so it will not mistake them for edits.
    for name in changed:
        target = labs_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wanted[name].encode("utf-8"))  # bytes: no newline translation on Windows
    for name in stale:
        (labs_dir / name).unlink()
    return changed + stale


def check(solutions_dir: Path = SOLUTIONS_DIR, labs_dir: Path = LABS_DIR) -> list[str]:
    """What is wrong with labs/ compared with a fresh release; empty when it is up to date."""
    _wanted, changed, stale, edited = _plan(solutions_dir, labs_dir)
    problems = []
    for name in changed:
        shown = f"{labs_dir.name}/{name}"
        if not (labs_dir / name).is_file():
            problems.append(f"missing: {shown}")
        else:
            problems.append(f"differs from a fresh release: {shown}"
                            + (" (edited by hand since the last release)" if name in edited else ""))
    problems += [f"stale (no longer comes from solutions/): {labs_dir.name}/{name}" for name in stale]
    return problems


def _plan(solutions_dir: Path, labs_dir: Path) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """What a release would do: (wanted content, paths to write, paths to remove, edited ones among both).

    Only files the last release wrote (listed in the manifest) are ever removed, so files a
    student created in labs/ are left alone.
    """
    wanted = generate(solutions_dir)
    released = _read_manifest(labs_dir)
    changed = [name for name, text in wanted.items() if _read(labs_dir / name) != text.encode("utf-8")]
    stale = [name for name in released if name not in wanted and (labs_dir / name).is_file()]
    edited = [name for name in changed + stale
              if name in released and (labs_dir / name).is_file()
              and _sha256(_read(labs_dir / name)) != released[name]]
    return wanted, changed, stale, edited


def _read_manifest(labs_dir: Path) -> dict[str, str]:
    """{relative path: sha256} written by the last release; empty before the first one."""
    path = labs_dir / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ReleaseError(f"{path}: not valid JSON ({error}); delete it to release from scratch") from None
    if not isinstance(manifest, dict):
        raise ReleaseError(f"{path}: expected a JSON object; delete it to release from scratch")
    return manifest


def _read(path: Path) -> bytes | None:
    """The bytes of a file, or None if there is no such file."""
    return path.read_bytes() if path.is_file() else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """`chatlab release [--check | --force]`: regenerate labs/ or check that it is up to date."""
    parser = argparse.ArgumentParser(prog="chatlab release",
                                     description=_("Generate labs/ (starter code) from solutions/."))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help=_("only report whether labs/ is up to date (exit 1 if not)"))
    mode.add_argument("--force", action="store_true",
                      help=_("overwrite files in labs/ even if edited since the last release"))
    mode.add_argument("--student-kit", type=Path, metavar="DIR",
                      help=_("write the kit to hand to students into DIR (new or empty): no solutions/, "
                           "notebooks with the outputs the reference gave when it was built"))
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR, metavar="DIR",
                        help=_("the reference solutions (default: solutions/)"))
    parser.add_argument("--labs", type=Path, default=LABS_DIR, metavar="DIR",
                        help=_("where to write the starter code (default: labs/)"))
    args = parser.parse_args(argv)
    if not args.solutions.is_dir():
        print(_("error: {folder} does not exist (a student kit has no solutions/): nothing to release").format(
              folder=args.solutions), file=sys.stderr)
        return 1
    try:
        if args.student_kit:
            from chatlab.classroom.kit import build_student_kit
            written = build_student_kit(args.student_kit)
            print(ngettext("wrote the student kit to {folder} ({count} file)",
                           "wrote the student kit to {folder} ({count} files)", len(written)).format(
                folder=args.student_kit, count=len(written)))
            return 0
        if args.check:
            problems = check(args.solutions, args.labs)
            for problem in problems:
                print(problem)
            if problems:
                print(_("labs/ is out of date with solutions/: run `chatlab release`"))
                return 1
            count = len(_read_manifest(args.labs))
            print(ngettext("labs/ is up to date ({count} file)", "labs/ is up to date ({count} files)", count).format(
                count=count))
            return 0
        changed = release(args.solutions, args.labs, force=args.force)
    except ValueError as error:  # a ReleaseError, or a KitError
        print(_("error: {error}").format(error=error), file=sys.stderr)
        return 1
    for name in changed:
        done = _("wrote {file}") if (args.labs / name).exists() else _("removed {file}")
        print(done.format(file=f"{args.labs.name}/{name}"))
    print(ngettext("labs/ is up to date with solutions/ ({count} file changed)",
                   "labs/ is up to date with solutions/ ({count} files changed)", len(changed)).format(
        count=len(changed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
