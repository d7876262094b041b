"""A submission's server in a disposable child process (see chatlab.sandbox.child), watched from here.

Whatever the submission does (block forever, spin, exit, start non-daemon threads, print
megabytes), the grader keeps control: every wait is bounded, the child is killed at the
end, and when something times out the child is asked where its threads are, so the report
can name the line a thread was stuck on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import psutil

from chatlab.catalog import KIT_ROOT, Lab, target_dir
from chatlab.harness.session import ServerHost
from chatlab.harness.waiting import FELL_SILENT, WAIT
from chatlab.i18n import _, current
from chatlab.sandbox.child import EVENT_PREFIX, LANG_VARIABLE

STARTUP_WAIT = 10.0   # seconds for a child to import the submission and listen
STOP_WAIT = 3.0       # seconds for a child to run shutdown() and report
STDERR_LIMIT = 16 * 1024
SPIN_AFTER = 1.0      # seconds with no data moving, and a busy core, before a waiting client calls it a spin
SPIN_SHARE = 0.7      # share of a core that counts as busy (run or waiting to run, per wall second)


def on_its_way(quiet_event: dict, client) -> bool:
    """Whether the server sent `client` bytes that its receiving thread has not delivered yet."""
    if client is None:
        return False
    return quiet_event.get("sent_to", {}).get(str(client.port), 0) > client.bytes_received


def keep_first(stream, kept: list[str], limit: int = STDERR_LIMIT) -> None:
    """Read `stream` to its end (the child never blocks on a full pipe), keeping about its first `limit` characters."""
    size = 0
    for line in stream:
        if size < limit:
            kept.append(line)
            size += len(line)


class SubmissionError(AssertionError):
    """The submission's server could not even start: the reason is the message."""


# Starts that hung, so that the other tests of the same run fail at once instead of waiting
# STARTUP_WAIT each: {(lab stem, folder): why} for an import that never finished (whatever the
# options), {(lab stem, folder, options): why} for an __init__ that never returned.
START_HANGS: dict[tuple, str] = {}


class ServerProcess(ServerHost):
    """`lab`'s server from `target`, in a thread of a child process, on a free port."""

    def __init__(self, lab: Lab, target="labs", options: dict | None = None, faults: dict | None = None):
        super().__init__(lab)
        self.folder = target_dir(target)
        hang_keys = ((lab.stem, str(self.folder)), (lab.stem, str(self.folder), json.dumps(options or {})))
        for key in hang_keys:
            if key in START_HANGS:
                raise SubmissionError(START_HANGS[key] + " " + _("(in an earlier test: not waited for again)"))
        self.stray_output = 0                 # characters written to the real stdout, bypassing print()
        self._events: dict[str, list[dict]] = {}
        self._arrived = threading.Condition()
        self._asking = threading.Lock()
        self._stderr: list[str] = []
        self._killed = False                  # the grader ended the child on purpose: its exit is no failure
        self.exit_code: int | None = None     # the code the child exited with, when that was a failure
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(KIT_ROOT), os.environ.get("PYTHONPATH")])),
                   CHATLAB_STARTUP_DUMP=f"{STARTUP_WAIT * 0.8:g}",  # see chatlab.sandbox.child.STARTUP_DUMP
                   **{LANG_VARIABLE: current()})  # the child says where its threads are in the report's language
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatlab.sandbox.child", lab.stem, str(self.folder),
             json.dumps(options or {}), json.dumps(faults or {})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env, cwd=KIT_ROOT)
        self._readers = [threading.Thread(target=self._read_events, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()
        event = self._wait_for(("ready", "start-error", "exit"), STARTUP_WAIT)
        if event is None:
            imported = bool(self._events.get("imported"))
            self.close()  # the child dumped its stacks to stderr just before this (chatlab.sandbox.child.STARTUP_DUMP)
            where = self.where(self.stderr(), newest_first=True)
            seconds = f"{STARTUP_WAIT:g}"
            why = (_("{call} did not return within {seconds} s").format(call=f"{lab.server_class}.__init__",
                                                                         seconds=seconds) if imported else
                   _("{file} did not finish importing within {seconds} s").format(file=f"{lab.stem}/server.py",
                                                                                   seconds=seconds))
            why += " " + (_("(stuck at {where})").format(where=where) if where else _("(is something slow or blocking?)"))
            START_HANGS[hang_keys[1 if imported else 0]] = why
            raise SubmissionError(why)
        if event["event"] != "ready":
            self.close()
            raise SubmissionError(self._explain(event, _("the server could not start")))
        self.address = ("127.0.0.1", event["port"])

    # --- reading the child ---------------------------------------------------------

    def _read_events(self) -> None:
        for line in self.process.stdout:
            if line.startswith(EVENT_PREFIX):
                self._on_event(json.loads(line[len(EVENT_PREFIX):]))
            else:
                self.stray_output += len(line)
        self._on_event({"event": "exit", "code": self.process.wait()})

    def _read_stderr(self) -> None:
        keep_first(self.process.stderr, self._stderr)

    def _on_event(self, event: dict) -> None:
        kind = event["event"]
        with self._arrived:
            self._events.setdefault(kind, []).append(event)
            self._arrived.notify_all()
        if kind == "thread-error":
            self.thread_errors.append(event)
            if event["type"] == "NotImplementedError":  # a stub: no point waiting for anything
                self.fail(self._explain(event, _("the server failed")))
        elif kind == "serve-error":
            self.fail(self._explain(event, _("serve_forever() failed")))
        elif kind == "exit" and "stopped" not in self._events and not self._killed:
            if not self.failure():  # the first failure is the one reported (and diagnosed)
                self.exit_code = event["code"]
            self.fail(_("the server process exited with code {code} (does the submission call sys.exit() or "
                        "os._exit(), or crash?)").format(code=event["code"]))

    def _wait_for(self, kinds, timeout: float) -> dict | None:
        """The first event of one of `kinds`, waiting at most `timeout` seconds."""
        def first():
            for kind in kinds:
                if self._events.get(kind):
                    return self._events[kind][0]
            return None
        with self._arrived:
            self._arrived.wait_for(lambda: first() is not None, timeout)
            return first()

    def _explain(self, event: dict, what: str) -> str:
        if event["event"] == "exit":
            self.exit_code = event["code"]
            return f"{what}: " + _("the process exited with code {code}; stderr: {stderr}").format(
                code=event["code"], stderr=repr(self.stderr()[-800:]))
        where = self.where(event.get("traceback", ""))
        return f"{what}: {event['type']}: {event['message']}" + (f" ({where})" if where else "")

    def where(self, traceback_text: str, newest_first: bool = False) -> str:
        """The innermost line of the submission's own code in a traceback, as `file.py:LINE`.

        A traceback lists the innermost call last; a faulthandler dump (`newest_first`) lists it first.
        """
        spot = ""
        for line in traceback_text.splitlines():
            line = line.strip()
            if line.startswith('File "') and str(self.folder) in line:
                path, _, rest = line[len('File "'):].partition('", line ')
                spot = f"{Path(path).relative_to(self.folder).as_posix()}:{rest.replace(' in ', ',').split(',')[0]}"
                if newest_first:
                    break
        return spot

    def stderr(self) -> str:
        return "".join(self._stderr)

    # --- asking the child ------------------------------------------------------------

    def _command(self, text: str) -> bool:
        try:
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()
            return True
        except (OSError, ValueError):  # the child is gone
            return False

    def ask(self, command: str, timeout: float = 1.0) -> dict | None:
        """Send `command` to the child and return its answer (an event of the same name), or None."""
        with self._asking:  # one question at a time: answers are matched to questions by name
            with self._arrived:
                self._events.pop(command, None)
            if not self._command(command):
                return None
            return self._wait_for((command,), timeout)

    def wait_read(self, port: int, total: int, timeout: float = 3.0) -> int:
        """Wait until the server has read `total` bytes from the client at `port`, at most `timeout`
        seconds, and less if the server falls silent first; returns how many it has read."""
        event = self.ask(f"wait-read {port} {total} {timeout:g}", timeout=timeout + 1.0)
        return event["read"] if event else 0

    def wait_send_stuck(self, port: int, timeout: float = WAIT) -> bool:
        """Wait until a send of the server's to the client at `port` is stuck (that client's buffers are
        full); False if none was within `timeout` seconds."""
        event = self.ask(f"wait-send-stuck {port} {timeout:g}", timeout=timeout + 1.0)
        return bool(event and event["stuck"])

    def silence(self, client=None) -> Iterator[str]:
        """Yields "" while the server may still send, or why it will not.

        Silent: twice in a row every thread was waiting with nothing to read, and no data moved
        in between (see chatlab.sandbox.child.quiet), and `client`, if given, has received every
        byte the server sent it (on a busy machine its receiving thread may lag behind). Spinning:
        no data moved for SPIN_AFTER seconds while the process kept most of a core busy;
        `spinning` then says where.
        """
        before, moved_at, busy_at = None, time.monotonic(), self.busy_seconds()
        while True:
            event = self.ask("quiet")
            now = None if event is None else (event["silent"], event["moved"])
            if before is None or now is None or now[1] != before[1]:
                moved_at, busy_at = time.monotonic(), self.busy_seconds()
            if now is not None and now[0] and now == before and not on_its_way(event, client):
                yield FELL_SILENT  # in English: the waiting client compares it, and translates it to show it
            elif now is not None and not now[0] and self._spins(moved_at, busy_at):
                self.spinning = event["busy"]
                yield _("the server spins: {where}, while nothing moves on its sockets").format(where=self.spinning)
            else:
                yield ""
            before = now

    def wait_silent(self, timeout: float = WAIT) -> bool:
        """Wait until every thread of the server waits (see silence()); False if it did not within
        `timeout` seconds. A scenario's readiness signal for "whatever the server was going to do
        with what it read, it has done, or it waits for a lock"."""
        deadline = time.monotonic() + timeout
        for reason in self.silence():
            if reason or time.monotonic() > deadline:
                return reason == FELL_SILENT
        return False

    def _spins(self, since: float, busy_then: float | None) -> bool:
        """Whether the child was busy most of the time since `since` (busy_seconds: on Linux, load cannot fool it)."""
        elapsed, busy_now = time.monotonic() - since, self.busy_seconds()
        return (elapsed >= SPIN_AFTER and busy_then is not None and busy_now is not None
                and busy_now - busy_then >= SPIN_SHARE * elapsed)

    def settle(self, timeout: float = 0.3) -> None:
        """Give a server whose connection just closed a moment to report why: a thread that dies
        closes its socket before its error is reported, and a process's exit is seen after its
        sockets close. Returns once either is in, or after `timeout` seconds."""
        self._wait_for(("thread-error", "exit"), timeout)

    def output_tail(self) -> tuple[str, int]:
        """The end of what the server printed, and how many characters it printed in all."""
        event = self.ask("output")
        return ("", 0) if event is None else (event["tail"], event["size"])

    def threads_in_submission(self) -> list[tuple[str, str, int, str, str]] | None:
        """(thread, file, line, function, code) for each thread now running the submission's code, innermost frame."""
        event = self.ask("stacks")
        if event is None:
            return None
        found = []
        for thread in event["stacks"]:
            own = [frame for frame in thread["stack"] if frame[0].startswith(str(self.folder))]
            if own:
                path, line, function, code = own[-1]
                found.append((thread["thread"], Path(path).relative_to(self.folder).as_posix(), line, function, code))
        return found

    def stacks(self) -> str:
        """Where the submission's threads are now, one line per thread, for a report."""
        threads = self.threads_in_submission()
        if threads is None:
            return _("(the server process did not answer: a thread may be holding the GIL in a busy loop)")
        return "\n".join(_("thread {name} is at {place} in {function}(): {code}").format(
            name=repr(name), place=f"{path}:{line}", function=function, code=code)
            for name, path, line, function, code in threads)

    def cpu_seconds(self) -> float | None:
        """CPU seconds the child has used so far (all its threads), or None if it does not answer."""
        event = self.ask("cpu")
        return None if event is None else event["seconds"]

    def busy_seconds(self) -> float | None:
        """Seconds the child's live threads have run or waited to run: a spin check that load cannot fool.

        On a loaded machine a spinning thread gets less CPU, but it waits in the run queue for
        the rest, so (CPU + run-queue wait) per wall second stays near 1 for it whatever the
        load, and near 0 for a server that only waits on sockets (measured: 1.00 with six busy
        processes on two cores, where its CPU share fell to 0.14). Linux reports both, per
        thread, in /proc/PID/task/TID/schedstat (nanoseconds); elsewhere this is cpu_seconds().
        A thread that ends takes its share with it, so only ever compare two readings taken
        while nothing happens.
        """
        total, found = 0, False
        for path in Path(f"/proc/{self.process.pid}/task").glob("*/schedstat"):
            try:
                ran, waited, _rest = path.read_text().split()
            except (OSError, ValueError):  # the thread ended meanwhile
                continue
            total, found = total + int(ran) + int(waited), True
        return total / 1e9 if found else self.cpu_seconds()

    def stop(self) -> str:
        """Call the submission's shutdown(), then end the process; "" if all went well, else what went wrong."""
        problem = ""
        if self.process.poll() is None and self._command("stop"):
            event = self._wait_for(("stopped",), STOP_WAIT)
            if event is None:
                problem = _("the server process did not stop within {seconds} s").format(seconds=f"{STOP_WAIT:g}")
            elif not event["in_time"]:
                problem = _("shutdown() did not return within 2 s")
            elif not event["serve_returned"]:
                problem = _("shutdown() returned, but serve_forever() was still running 2 s after it was called")
        self.close()
        return problem

    def kill(self) -> None:
        """End the child at once, as a crash or `kill -9` would: the OS closes its sockets."""
        self._killed = True  # so the clients learn it from their sockets, not from a failure of the server
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)

    def close(self) -> None:
        """Kill the child if it still runs, and collect its readers. Safe to call twice."""
        self.close_clients()
        self.kill()
        for reader in self._readers:
            reader.join(WAIT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def memory_bytes(self) -> int | None:
        """The child's resident memory now, in bytes (psutil's memory_info().rss, on every system).

        None where it cannot be read: access refused, or the process gone (self.process.poll()
        tells which).
        """
        try:
            return psutil.Process(self.process.pid).memory_info().rss
        except psutil.Error:  # NoSuchProcess (it exited), AccessDenied
            return None

    def open_descriptors(self) -> int | None:
        """How many descriptors the child has open now: file descriptors (POSIX), handles (Windows).

        Windows handles count more than sockets (files, threads, events, registry keys...), so
        compare a reading with an earlier one of the same process only, never with a number.
        None where it cannot be read, as for memory_bytes().
        """
        try:
            process = psutil.Process(self.process.pid)
            return process.num_handles() if psutil.WINDOWS else process.num_fds()
        except psutil.Error:  # NoSuchProcess (it exited), AccessDenied
            return None
