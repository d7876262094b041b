"""For instructors: the Gradescope autograder, the student kit and its GitHub Classroom workflow."""
