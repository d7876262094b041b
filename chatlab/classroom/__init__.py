"""Running a course on the kit, for instructors.

`gradescope` builds the Gradescope autograder, `kit` the student kit without the reference
(and its GitHub Classroom workflow, `classroom.yml`). `chatlab grade-all SUBMISSIONS` grades
a whole class, one folder per student:
- `submissions`: what a student handed in (the kit's layout, or flat files for one lab), and
  its copy in the kit's layout, made in a temporary folder: never graded in place.
- `grader_run`: one run of the grader (`pytest grader/`) in a process of its own, with a
  hard time limit; its whole process tree is killed by id when the limit passes.
- `gradebook`: the CSV gradebook, rewritten after each student, and what lets a re-run resume.
- `grade_all`: the command: a bounded pool of grader runs, the progress line, the reports.
"""
