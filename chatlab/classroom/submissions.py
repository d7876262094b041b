"""What a student handed in, and its copy in the kit's layout, where it is graded.

A class is a folder with one folder per student (named after the student). A student's
folder holds either
- the kit's layout: a folder per lab, named as the lab is (`lab3_multi_user_chat`, `lab3` or
  `3`), with server.py and client.py in it; or
- flat files at the top (server.py, client.py, ...): one lab, which `--lab` names.
A lab with neither is not handed in. The copy (`copy_into`) holds the lab folders handed in
and PROTOCOL.md, nothing else of the kit: never solutions/. Symbolic links are copied as
links, not followed, so a link to the reference stays a link the sandbox refuses to read.
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from chatlab.catalog import LABS, LABS_DIR, SOLUTIONS_DIR, Lab, find_lab

LAB_FILES = ("server.py", "client.py")


@dataclass
class Submission:
    student: str
    folder: Path
    labs: dict[str, Path] = field(default_factory=dict)   # lab stem -> the folder holding its files
    flat: bool = False          # files at the top of the student's folder: labs has that folder
    problem: str = ""           # why it cannot be graded as it is (flat files, but no --lab)

    @property
    def not_handed_in(self) -> list[str]:
        return [lab.stem for lab in LABS if lab.stem not in self.labs]


def class_submissions(root: Path, lab: Lab | None = None) -> list[Submission]:
    """One Submission per folder in `root` (hidden ones left out), by student name."""
    return [read_submission(folder, lab) for folder in sorted(Path(root).iterdir())
            if folder.is_dir() and not folder.name.startswith(".")]


def read_submission(folder: Path, lab: Lab | None = None) -> Submission:
    """The labs a student's `folder` holds; `lab`: which lab flat files at its top are."""
    submission = Submission(folder.name, folder)
    for child in sorted(folder.iterdir()):
        stem = lab_named(child.name) if child.is_dir() else None
        if stem and any((child / name).is_file() for name in LAB_FILES):
            submission.labs[stem] = child
    flat = any((folder / name).is_file() for name in LAB_FILES)
    if flat and not submission.labs:
        if lab is None:
            submission.problem = "server.py or client.py at the top of the folder: say which lab with --lab"
        else:
            submission.labs[lab.stem], submission.flat = folder, True
    return submission


def upload_for(upload: Path, lab: Lab) -> Submission:
    """An upload for one lab (Gradescope's: a repository, folders, or just the files), however deep it is:
    the shallowest folder named after the lab, or else the shallowest folder holding server.py or
    client.py (flat files). Neither: nothing handed in."""
    def depth(path: Path) -> int:
        return len(path.relative_to(upload).parts)

    inside = [path for path in sorted(upload.rglob("*")) if not skipped(path.relative_to(upload))]
    named = [path for path in inside if path.is_dir() and lab_named(path.name) == lab.stem]
    if named:
        return Submission(upload.name, upload, {lab.stem: min(named, key=depth)})
    files = [path for path in inside if path.is_file() and path.name in LAB_FILES]
    if files:
        return Submission(upload.name, upload, {lab.stem: min(files, key=depth).parent}, flat=True)
    return Submission(upload.name, upload)


def lab_named(name: str) -> str | None:
    """The stem of the lab a folder called `name` holds, or None."""
    try:
        return find_lab(name).stem
    except ValueError:
        return None


def files_of(submission: Submission) -> list[tuple[str, Path]]:
    """(path in the copy, path in the student's folder) of every file that is graded, in a fixed order."""
    found = []
    for stem, folder in sorted(submission.labs.items()):
        paths = sorted(folder.iterdir()) if submission.flat else sorted(folder.rglob("*"))
        for path in paths:
            relative = path.relative_to(folder)
            if (path.is_file() or path.is_symlink()) and not skipped(relative):
                found.append((f"{stem}/{relative.as_posix()}", path))
    return found


def skipped(relative: Path) -> bool:
    """Left out of the copy: bytecode caches and hidden files or folders (.git, .DS_Store)."""
    return relative.suffix == ".pyc" or any(part == "__pycache__" or part.startswith(".") for part in relative.parts)


def fingerprint(submission: Submission, *extra: str) -> str:
    """A hash of what is graded (each file's place and bytes, a link's target) and of `extra` (the rubric...)."""
    digest = hashlib.sha256()
    for text in (*extra, submission.problem):
        digest.update(text.encode("utf-8") + b"\0")
    for place, path in files_of(submission):
        content = str(path.readlink()).encode("utf-8") if path.is_symlink() else path.read_bytes()
        digest.update(place.encode("utf-8") + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def copy_into(submission: Submission, target: Path) -> Path:
    """`target` made a --target in the kit's layout holding the submission's labs and PROTOCOL.md; returns it."""
    target.mkdir(parents=True, exist_ok=True)
    for place, path in files_of(submission):
        copied = target / place
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copied, follow_symlinks=False)
    protocol = next((folder / "PROTOCOL.md" for folder in (SOLUTIONS_DIR, LABS_DIR)
                     if (folder / "PROTOCOL.md").is_file()), None)  # a Gradescope zip has neither
    if protocol:
        shutil.copy(protocol, target / "PROTOCOL.md")
    return target
