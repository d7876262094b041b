"""`chatlab bench`: a lab's server side by side with an asyncio peer, under the same load.

`runner` runs the contenders and reports, `load` is the load generator, `server` hosts a
contender alone in a process, `peers` are the asyncio yardsticks, `plot` draws the result.
For instructors, maintainers and curious students.
"""
