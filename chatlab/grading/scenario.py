"""A graded test's script: the servers it starts, the steps it takes, the hint for a failure.

A grader test receives a `Scenario` (the `scenario` fixture), starts the submission's server
through it, and records its steps as it goes. When the test fails, the scenario tells the
story: the steps it got through, what each client received (bytes as repr), the problem,
the hint, errors in the server's threads and, after a timeout, where those threads were.

A client test runs the submission's client.py instead, as a person would, against a scripted
server of the grader's: `fake_server()`, then `student_client(server, name)` (see
chatlab/grading/student_client.py); its story adds what the client printed and what that server received.
"""
from __future__ import annotations

import contextlib
import time

from chatlab.catalog import Lab
from chatlab.grading.diagnosis import VAGUE, diagnose
from chatlab.grading.fake_server import FakeServer, ReliableFakeServer
from chatlab.grading.hints import HINTS, feature, hint, label
from chatlab.grading.student_client import StudentClient
from chatlab.harness.clients import ScriptedClient
from chatlab.harness.waiting import ExpectationError, describe, shorten
from chatlab.i18n import _, ngettext
from chatlab.sandbox.server_process import ServerProcess, SubmissionError


class NotReached(AssertionError):
    """A step that only sets the stage failed, so the test could not check its own point.

    The report then names the feature that failed and the test that checks it, instead of
    this test's hint: one missing feature is charged in its own test's story, not in five.
    """

    def __init__(self, feature_key: str, test: str, error: ExpectationError):
        super().__init__(f"could not get to the point: {feature_key} does not work yet (see {test}): {error}")
        self.feature_key, self.test, self.error = feature_key, test, error


class Scenario:
    def __init__(self, lab: Lab, target: str, lang: str = "en", hint_key: str | None = None,
                 feature_tests: dict[str, str] | None = None):
        self.lab = lab
        self.target = target
        self.lang = lang
        self.hint_key = hint_key
        self.feature_tests = feature_tests or {}   # feature -> the test that checks it (a module's FEATURE_TESTS)
        self.current_test = ""                     # the test this scenario belongs to (its function name)
        self.diagnoses: list[str] = []             # what the failure report's diagnosis found (keys)
        self.steps: list[str] = []
        self.hosts: list[ServerProcess] = []
        self.student_clients: list[StudentClient] = []   # the submission's client.py, run as a process
        self.fake_servers: list[FakeServer] = []         # the grader's scripted servers it talks to

    # --- writing the script ----------------------------------------------------------

    def step(self, text: str) -> None:
        self.steps.append(text)

    def hint(self, key: str) -> None:
        """The hint to show if the test fails from here on."""
        self.hint_key = key

    @contextlib.contextmanager
    def setting_up(self, feature_key: str):
        """Steps that only set the stage for this test (joining, leaving...): if one fails, the test
        could not get to its point, and the report says which feature to fix first (NotReached).

        Inside the test that checks the feature itself, a failure is that test's own failure.
        """
        test = self.feature_tests.get(feature_key, "")
        try:
            yield
        except ExpectationError as error:
            if not test or test == self.current_test:
                raise
            raise NotReached(feature_key, test, error) from None

    def server(self, options: dict | None = None, faults: dict | None = None) -> ServerProcess:
        """Start the submission's server in a child process and wait until it listens."""
        try:
            host = ServerProcess(self.lab, self.target, options, faults)
        except SubmissionError as error:
            if "NotImplementedError" in str(error):
                self.hint("not-implemented")
            raise
        self.hosts.append(host)
        extras = ", ".join(f"{key}={value}" for key, value in {**(options or {}), **(faults or {})}.items())
        self.step(_("the server started on port {port}").format(port=host.address[1])
                  + (f" ({extras})" if extras else ""))
        return host

    def connect(self, host: ServerProcess, name: str) -> ScriptedClient:
        self.step(_("{name} connects").format(name=name))
        return host.client(name)

    def send(self, client: ScriptedClient, data: bytes | str, note: str = "") -> None:
        """`client` sends `data` (a str gets its b"\\n"); recorded as a step."""
        raw = data if isinstance(data, bytes) else data.encode("utf-8") + b"\n"
        self.step(_("{name} sends {data}").format(name=client.name, data=shorten(raw)) + (f" {note}" if note else ""))
        client.send_bytes(raw)

    def join(self, host: ServerProcess, *nicks: str) -> list[ScriptedClient]:
        """Connect and join each nick in turn (`/join NICK` over UDP), waiting for the welcome and the others' notices."""
        with self.setting_up("joining"):
            return host.join(*nicks, step=self.step)

    def fake_server(self) -> FakeServer:
        """A scripted server of the grader's (the lab's transport, 127.0.0.1, port 0) for a student's client;
        for lab 5 one that speaks numbered lines and acknowledgements (ReliableFakeServer)."""
        server = (ReliableFakeServer(step=self.step) if self.lab.reliable
                  else FakeServer(self.lab.transport, step=self.step))
        self.fake_servers.append(server)
        self.step(_("the grader's server listens on 127.0.0.1 port {port} ({transport})").format(
            port=server.port, transport=self.lab.transport.upper()))
        return server

    def student_client(self, server: FakeServer, name: str | None = None, *options: str) -> StudentClient:
        """Run the submission's client.py against `server`, as a person would, with `--name name` if given."""
        client = StudentClient(self.lab, self.target, server.port, name, step=self.step, options=options)
        self.student_clients.append(client)
        server.attach(client)
        self.step(_("you run: {command}").format(command=f"python {client.command}"))
        return client

    def busy_share_while_idle(self, host: ServerProcess, window: float = 0.3) -> float:
        """The share of one core the server is busy over `window` seconds in which it should be idle.

        A measurement window, not a synchronisation: nothing is waited for. A server spinning in
        `except: continue` or on b"" scores near 1 (on Linux even with every core busy, see
        ServerProcess.busy_seconds); one that only waits on sockets scores near 0.
        """
        self.step(_("nothing happens for {seconds} s: the server should rest (its busy time is measured)").format(
            seconds=f"{window:g}"))
        before, started = host.busy_seconds(), time.monotonic()
        time.sleep(window)
        after, elapsed = host.busy_seconds(), time.monotonic() - started
        share = 1.0 if before is None or after is None else (after - before) / elapsed
        if share >= 0.5 and not host.spinning:  # say where, for the diagnosis
            event = host.ask("quiet")
            host.spinning = (event or {}).get("busy") or _("a thread that does not even let the grader ask where it is")
        return share

    # --- after the script ------------------------------------------------------------

    def story(self, problem: str, timed_out: bool, rerun: str, error: BaseException | None = None) -> str:
        """The failure report: problem, hint, steps, transcripts, server errors and threads."""
        lang = self.lang
        key = self.hint_key
        if any("NotImplementedError" in problem or host.failure().find("NotImplementedError") >= 0
               for host in self.hosts) or "not implemented yet" in problem or any(
                client.not_implemented() for client in self.student_clients):
            key = "not-implemented"
        elif isinstance(error, NotReached):
            key = None  # this test's hint is about its point, which it never reached
            problem = (f"{label('not-reached', lang)}: " + label("does-not-work-yet", lang).format(
                feature=feature(error.feature_key, lang), test=error.test)
                + f". {label('what-happened', lang)}: {error.error}")
        for host in self.hosts:
            if any(client.closed for client in host.clients):
                host.settle()  # a dying thread or process closes its sockets before it is reported
        findings = [] if key == "not-implemented" else diagnose(self, error, lang, key)
        self.diagnoses = [finding.key for finding in findings]
        # A finding that says how the server is wrong brings its hint; one that only says that it
        # is (silent, closed) leaves the hint to the test, which knows what it was waiting for.
        hinted = [f for f in findings if f.hint_key in HINTS]
        key = next((f.hint_key for f in hinted if f.key not in VAGUE), None) or key or next(
            (f.hint_key for f in hinted), None)
        # What was observed leads, with the hint that follows from it; without a diagnosis, the
        # problem (what the test expected) leads, and the test's own hint follows.
        parts = [f"{label('diagnosis', lang)}: " + "\n  ".join(f.text for f in findings)] if findings else []
        parts.append(f"{label('problem', lang)}: {problem}")
        if key:
            parts.insert(1 if findings else len(parts), f"{label('hint', lang)}: {hint(key, lang)}")
        if self.steps:
            parts.append(f"{label('steps', lang)}:\n" + "\n".join(f"  {n}. {s}" for n, s in enumerate(self.steps, 1)))
        clients = [client for host in self.hosts for client in host.clients]
        if clients:
            parts.append(f"{label('received', lang)}:\n" + "\n".join(
                f"  {client.name}: {describe(client.received)}" for client in clients))
        for client in self.student_clients:
            printed = client.printed + ([client.partial] if client.partial else [])
            parts.append(f"{label('printed', lang)} ({client.name}, "
                         + ngettext("{count} character", "{count} characters", client.chars).format(
                             count=client.chars) + "):"
                         + ("\n  (" + ngettext("{count} earlier line", "{count} earlier lines", len(printed) - 12
                                               ).format(count=len(printed) - 12) + ")"
                            if len(printed) > 12 else "")
                         + "".join(f"\n  {shorten(line)}" for line in printed[-12:])
                         + ("" if printed else " " + _("nothing")))
            stderr = client.stderr.strip().splitlines()
            if stderr:
                parts.append(f"{label('client-stderr', lang)} ({client.name}):\n"
                             + "\n".join(f"  {line}" for line in stderr[-15:]))
        for server in self.fake_servers:
            parts.append(f"{label('server-received', lang)}: {server.transcript()}")
        for host in self.hosts:
            printed, size = host.output_tail()
            if printed.strip():
                lines = printed.strip().splitlines()[-8:]
                parts.append(label("server-printed", lang).format(size=size) + ":\n"
                             + "\n".join(f"  {shorten(line)}" for line in lines))
        errors = [(host, error) for host in self.hosts for error in host.thread_errors]
        if errors:
            parts.append(f"{label('errors', lang)}:\n" + "\n".join(
                f"  {error['thread']}: {error['type']}: {error['message']}"
                + (f" ({host.where(error['traceback'])})" if host.where(error["traceback"]) else "")
                for host, error in errors[:5]))
        if timed_out or "silent" in self.diagnoses:
            stacks = "\n".join(host.stacks() for host in self.hosts if host.process.poll() is None)
            if stacks.strip():
                parts.append(f"{label('threads', lang)}:\n" + "\n".join(f"  {line}" for line in stacks.splitlines()))
        parts.append(f"{label('rerun', lang)}: {rerun}")
        return "\n".join(parts)

    def close(self) -> None:
        for host in self.hosts:
            host.close()
        for client in self.student_clients:
            client.close()
        for server in self.fake_servers:
            server.shutdown()

