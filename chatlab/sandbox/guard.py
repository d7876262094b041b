"""A guard on a submission's process: no writing outside its folder, no reading the reference, no other programs.

    guard.install(target)   # in the sandbox child and the load check, before the submission runs
    python -m chatlab.sandbox.guard path/to/server.py [arguments...]   # a lab file run as a program, guarded

`install` adds an audit hook (sys.addaudithook, standard library, every OS) that turns these
into a PermissionError in the submission's own call, which the grader then reports like any
other error:
- opening a file for writing, or creating, removing, renaming, linking or changing one,
  outside the target folder (the submission's copy), the temporary folder
  (tempfile.gettempdir(); each grader run of chatlab.classroom.grader_run, as `chatlab grade-all`
  starts them, has one of its own) and the null device;
- opening, importing or listing anything under the kit's solutions/ folder, unless the target
  is in it (grading the reference itself);
- starting another program (subprocess, os.system, os.exec*, os.spawn*, os.posix_spawn): it
  would run unguarded;
- loading native code through ctypes, and the gc calls that would find the hook's own state.

What it cannot do is said in LIMITS: an audit hook sees what a program asks of Python, not of
the operating system, so it is a guard against shortcuts and accidents, not a jail for code
written to take Python apart. Only the standard library is used, and nothing of the kit is
imported: the client shim starts fast.
"""
from __future__ import annotations

import os
import runpy
import sys
import tempfile

SOLUTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "solutions")
LIMITS = ("a submission's writes outside its folder, reads of solutions/ and other programs are refused by a Python "
          "audit hook, which sees what Python is asked to do: code that rewrites the standard library's functions "
          "at run time could get past it")
WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGES = {  # audit event -> the indexes of its arguments that are paths it changes
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
    "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,),
    "os.chflags": (0,), "os.setxattr": (0,), "os.removexattr": (0,), "shutil.rmtree": (0,),
}
LISTS = ("os.listdir", "os.scandir")
STARTS_PROGRAMS = ("subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.startfile")
REFUSED = ("ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "gc.get_referrers", "gc.get_referents", "gc.get_objects")


def install(target: str | os.PathLike) -> None:
    """From now on, refuse in this process what the module docstring lists; `target` is the submission's folder.

    Everything the hook needs is bound here, in its closure: a submission that replaces this
    module's names or os.path's functions later changes nothing the hook uses.
    """
    realpath, normcase, join, commonpath = os.path.realpath, os.path.normcase, os.path.join, os.path.commonpath
    getcwd, fsdecode = os.getcwd, os.fsdecode

    def resolved(path) -> str:
        return normcase(realpath(join(getcwd(), fsdecode(path))))

    def under(path: str, root: str) -> bool:
        try:
            return commonpath([path, root]) == root
        except ValueError:  # another drive (Windows)
            return False

    target_root = resolved(target)
    writable = (target_root, resolved(tempfile.gettempdir()))
    null_device = resolved(os.devnull)
    forbidden = resolved(SOLUTIONS)
    if under(target_root, forbidden):  # grading the reference: nothing to hide
        forbidden = None

    def refuse(what: str, path=None):
        raise PermissionError(f"chatlab's sandbox: {what} is not allowed" + (f": {fsdecode(path)}" if path else ""))

    def check_read(path):
        if forbidden and isinstance(path, (str, bytes, os.PathLike)) and under(resolved(path), forbidden):
            refuse("reading the reference solutions", path)

    def check_write(path):
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor: opened before, and checked then
        where = resolved(path)
        if where != null_device and not any(under(where, root) for root in writable):
            refuse("writing outside the submission's folder", path)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            check_read(path)
            if any(letter in (mode or "") for letter in "wax+") or (flags or 0) & WRITING_FLAGS:
                check_write(path)
        elif event in CHANGES:
            for index in CHANGES[event]:
                check_read(args[index])
                check_write(args[index])
        elif event in LISTS or event == "import":
            check_read(args[1] if event == "import" else args[0])
        elif event.startswith(STARTS_PROGRAMS):
            refuse("starting another program")
        elif event in REFUSED:
            refuse(event)

    sys.addaudithook(hook)


def run_as_program(argv: list[str]) -> None:
    """Run the lab file argv[0] as `python FILE ARGS...` would, guarded: the target is the folder
    holding the lab's folder. The client shim and lab 1's Ctrl+C test run students' files this way."""
    script = os.path.abspath(argv[0])
    install(os.path.dirname(os.path.dirname(script)))
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(script)  # as for `python FILE`: the file's folder, not this module's
    runpy.run_path(script, run_name="__main__")  # sets sys.argv[0] to the absolute path, as __file__


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m chatlab.sandbox.guard path/to/lab/file.py [arguments...]")
    run_as_program(sys.argv[1:])
