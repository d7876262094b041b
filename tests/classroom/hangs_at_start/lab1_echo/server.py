"""A server whose constructor never returns: every scenario waits out the sandbox's start-up bound.

Graded whole it takes minutes; `chatlab grade-all --time-limit` stops it, with every process it started.
"""
import threading


class EchoServer:
    def __init__(self, host, port):
        threading.Event().wait()  # nothing ever sets it
