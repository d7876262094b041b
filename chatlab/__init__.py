"""chatlab: the tool behind the `chatlab` command, shared by the grader, the notebooks and the bench.

- `cli`, `catalog`, `release`, `demo`, `terminal`: the command, the one list of labs,
  solutions/ -> labs/, the scripted demo, and the interactive client's terminal.
- `harness`: drive a lab's programs and watch them (scripted clients, lab sessions,
  processes, wiretap, lossy relay); every wait bounded.
- `sandbox`: a submission's server in a disposable child process, watched from here.
- `grading`: the pytest plugin behind `pytest grader/`: scenario, hints, rubric, client driver.
- `bench`: `chatlab bench`, a lab's server against an asyncio peer under the same load.
- `notebook`: what the notebooks call, and `chatlab notebooks`, which executes them.

The graded scenarios themselves live in grader/ at the top of the kit, not here.
"""
