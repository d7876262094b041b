"""The grading machinery behind `pytest grader/` and `chatlab grade`.

The pytest plugin (points, stories, score table, grade), the Scenario a graded test drives,
the hint catalogue, the rubric, and the driver of a student's client. grader/ holds the
scenarios themselves; students meet this package only through its reports.
"""
