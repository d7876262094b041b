"""The one list of labs, and where their files live.

Every other part of the kit (CLI, release tool, demo, tests) reads the labs from here, so
adding a lab means adding one `Lab` below. One name, four places: a lab's stem names its
folder in solutions/ and labs/, its notebook and its grader module.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from chatlab.i18n import N_, _

KIT_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = KIT_ROOT / "solutions"
LABS_DIR = KIT_ROOT / "labs"
NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
START_HERE = "start_here"  # the notebook before lab 1: what the kit is and how grading works
# The one rule for which code runs: every command runs the student's labs/ unless told
# `--target solutions` (the reference) or `--target PATH` (a folder with the same layout).
DEFAULT_TARGET = "labs"
TARGET_HELP = N_("labs (default: your code), solutions (the reference) or a folder with the same layout")  # _() where shown


@dataclass(frozen=True)
class Lab:
    number: int
    stem: str            # folder name in solutions/ and labs/
    title: str
    transport: str       # "tcp" or "udp"
    server_class: str    # the class in server.py: Cls(host, port), .address, .serve_forever(), .shutdown()
    has_nicknames: bool  # whether the client's run_client() takes a name
    reliable: bool = False  # numbered lines and acknowledgements over UDP (lab 5, PROTOCOL.md)


LABS = (
    Lab(1, "lab1_echo", N_("TCP echo server"), "tcp", "EchoServer", False),  # titles: _(lab.title) where shown
    Lab(2, "lab2_two_user_chat", N_("Two-user TCP chat"), "tcp", "TwoUserChatServer", True),
    Lab(3, "lab3_multi_user_chat", N_("Multi-user TCP chat"), "tcp", "ChatServer", True),
    Lab(4, "lab4_udp_chat", N_("Multi-user UDP chat"), "udp", "UdpChatServer", True),
    Lab(5, "lab5_reliable_udp_chat", N_("Reliable UDP chat over a lossy network"), "udp", "ReliableChatServer", True,
        reliable=True),
)


def find_lab(name: str) -> Lab:
    """The lab called `name`: written `lab3`, `3` or `lab3_multi_user_chat`."""
    wanted = name.strip().lower()
    for lab in LABS:
        if wanted in (str(lab.number), f"lab{lab.number}", lab.stem):
            return lab
    choices = ", ".join(f"lab{lab.number} ({lab.stem})" for lab in LABS)
    raise ValueError(_("no lab called {name}; choose one of: {choices}").format(name=repr(name), choices=choices))


def target_dir(target: str | Path) -> Path:
    """The folder holding the lab folders: `solutions`, `labs`, or a path to a copy with the same layout."""
    if str(target) == "solutions":
        return SOLUTIONS_DIR
    if str(target) == "labs":
        return LABS_DIR
    path = Path(target).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(_("--target {target} is neither 'solutions', 'labs' nor a folder").format(target=repr(target)))
    return path


def whose_code(target: str | Path) -> str:
    """Whose code `target` holds, as a command announces it: "your code in labs/", "the reference solution in
    solutions/", "the code in the folder PATH"."""
    if str(target) == "labs":
        return _("your code in labs/")
    if str(target) == "solutions":
        return _("the reference solution in solutions/")
    return _("the code in the folder {path}").format(path=target_dir(target))


def lab_file(lab: Lab, role: str, target: str | Path = "solutions") -> Path:
    """The path of a lab's `server` or `client` file in `target`."""
    path = target_dir(target) / lab.stem / f"{role}.py"
    if not path.is_file():
        raise FileNotFoundError(_("{path} does not exist (expected {file} under the target)").format(
            path=path, file=f"{lab.stem}/{role}.py"))
    return path


def load_module(lab: Lab, role: str, target: str | Path = "solutions") -> ModuleType:
    """Import a lab's server or client file from `target` under a name of its own.

    The module name carries the folder it came from, so a solution and a student's copy
    of the same lab can be loaded side by side without one replacing the other.
    """
    path = lab_file(lab, role, target)
    name = f"chatlab_{path.parent.parent.name}_{lab.stem}_{role}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
