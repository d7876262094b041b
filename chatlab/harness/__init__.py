"""Drive a lab's programs and watch them, every wait bounded: shared by the grader, demo, notebooks and bench.

Scripted clients and lab sessions, child processes read by threads, a wiretap on a server's
sockets, a seeded lossy UDP relay and lab 5's run through it (goodput). Nothing here grades or
prints: callers decide what a failed expectation means.
"""
