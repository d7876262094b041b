"""A submission's server in a disposable child process, so that the grader keeps control.

Used by the grader's scenarios (through `chatlab.grading.scenario`): `server_process` is the
parent's side, `child` runs inside the child process, `script` runs a lab file as a person would.
"""
