"""Hold a client's thread at the first lock it takes after reading its nickname (faults {"lock_gates": true}).

Two clients ask for the same free nickname at once. A server must check that the name is
free and take it in one step, under its lock; one that checks first and locks only to add
lets both in, but only when both checks come before either add, which on a real machine
is rare. Here each client's thread, once it has read the first bytes of its client (the
nickname), waits at the next lock it takes until the grader releases it (Gates, in
chatlab/sandbox/child.py): the grader waits until both are held, lets one go, then the
other, and the race happens every time. A hold only delays a thread, so a correct server
stays correct.

How: before the submission is imported, threading.Lock and threading.RLock become
factories that give the submission (code outside the standard library and chatlab) locks
whose acquire() passes the gate first, and accepted sockets tell the gate when their first
bytes are read and when something is sent to them. A client answered before its thread took
any lock (another thread read its nickname, or the server keeps no lock at all) will not be
held: the gate says so at once instead of letting the grader wait.
"""
from __future__ import annotations

import socket
import sys
import sysconfig
import threading
from pathlib import Path


class GatedLock:
    """A submission's Lock or RLock: acquire() passes the gate first; everything else is the real lock's."""

    def __init__(self, lock, gates):
        self._lock = lock
        self._gates = gates

    def acquire(self, blocking=True, timeout=-1):
        self._gates.before_lock()
        return self._lock.acquire(blocking, timeout)

    def release(self):
        self._lock.release()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self._lock.release()

    def __getattr__(self, name):  # locked(), and what threading.Condition uses of an RLock
        return getattr(self._lock, name)


def install(gates) -> None:
    """Make the submission's locks and the server's accepted sockets report to `gates`."""
    gates.lock_holds = True
    ours = (sysconfig.get_paths()["stdlib"], str(Path(__file__).resolve().parents[1]))

    def gated(factory):
        def make(*args, **kwargs):
            lock = factory(*args, **kwargs)
            caller = sys._getframe(1).f_code.co_filename  # threading's own Conditions and Events stay plain
            return lock if caller.startswith(ours) else GatedLock(lock, gates)
        return make

    threading.Lock, threading.RLock = gated(threading.Lock), gated(threading.RLock)

    class LockGatedSocket(socket.socket):
        # socket.py creates accepted sockets through the module's `socket` name, so they
        # are LockGatedSockets too (or a subclass, if more faults are injected after this).
        _client_port = None  # set on accepted sockets: the client's own port

        def accept(self):
            conn, address = super().accept()
            conn._client_port = address[1]
            return conn, address

        def recv(self, *args):
            data = super().recv(*args)
            if data and self._client_port is not None:
                gates.after_read(self._client_port)
            return data

        def recv_into(self, *args):
            count = super().recv_into(*args)
            if count and self._client_port is not None:
                gates.after_read(self._client_port)
            return count

        def send(self, data, *flags):
            if self._client_port is not None:
                gates.before_send(self._client_port)
            return super().send(data, *flags)

        def sendall(self, data, *flags):
            if self._client_port is not None:
                gates.before_send(self._client_port)
            return super().sendall(data, *flags)

    socket.socket = LockGatedSocket
