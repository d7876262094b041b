"""What the notebooks call, and `chatlab notebooks`, which executes them headless.

`show` displays a lab's protocol, TODOs, pictures and socket calls; `check` grades a lab in a
child process for the "Check your work" cell; `pictures` draws what a wiretap captured;
`runner` executes the notebooks and writes HTML copies (students and instructors).
"""
