"""`pytest grader/` grades the labs: this loads the grading plugin (see chatlab/grading/plugin.py)."""
from chatlab.grading.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name here)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    scenario,
)
