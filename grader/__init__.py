"""The graded scenarios: `pytest grader/` grades the labs (machinery in chatlab.grading)."""
