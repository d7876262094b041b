"""Running a course on the kit, for instructors.

`gradescope` builds the Gradescope autograder, `kit` the student kit without the reference
(and its GitHub Classroom workflow, `classroom.yml`).
"""
