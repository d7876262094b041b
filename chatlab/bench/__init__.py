"""`chatlab bench`: a lab's server side by side with an asyncio peer, under the same load.

`runner` runs the contenders and reports, `load` is the load generator, `server` hosts a
contender alone in a process, `peers` are the asyncio yardsticks, `plot` draws the result,
`text_table` lays the tables out. `reliable` is lab 5's: goodput and cost against the loss rate
(each run is chatlab/harness/goodput.py's, which the lab 5 notebook calls too).
For instructors, maintainers and curious students.
"""


class BenchError(Exception):
    """A server could not be measured: it failed to start, died, dropped the clients or did not deliver."""
