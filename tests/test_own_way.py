"""A lab 3 server written from scratch (tests/own_way/), with its own structure and names, gets
full marks: the grader asks only for what README.md, "Write it your own way", says."""
import ast
from pathlib import Path

from grading import grade

from chatlab.catalog import SOLUTIONS_DIR, find_lab

OWN_WAY = Path(__file__).resolve().parent / "own_way"
LAB = find_lab("lab3")


def defined_names(path: Path) -> set[str]:
    """The functions and classes a file defines, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def test_the_own_way_server_shares_with_the_reference_only_what_the_grader_needs():
    own = defined_names(OWN_WAY / LAB.stem / "server.py")
    reference = defined_names(SOLUTIONS_DIR / LAB.stem / "server.py")
    shared = own & reference - {LAB.server_class, "__init__", "serve_forever", "shutdown"}
    assert not shared, f"the own-way server is meant to be written from scratch, yet it also defines {sorted(shared)}"


def test_a_lab3_server_written_its_own_way_scores_full_marks_bonus_included():
    run = grade(OWN_WAY, LAB.stem, role="server")
    assert run.tests, f"the grader graded nothing:\n{run.stdout[-3000:]}"
    assert not run.failed, "\n\n".join(f"--- {name}:\n{run.output(name)[:1500]}" for name in sorted(run.failed))
    earned, possible = run.points(LAB.stem)
    bonus = sum(test["score"] for test in run.tests if test["extra_data"]["bonus"])
    assert bonus > 0, "the bonus test (a client that never reads) was graded but its points were not earned"
    assert earned == possible + bonus, f"{earned} points of {possible} + {bonus} bonus"
    assert run.score == 100 and run.exit_code == 0
