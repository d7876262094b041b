"""A graded test's script: the servers it starts, the steps it takes, the hint for a failure.

A grader test receives a `Scenario` (the `scenario` fixture), starts the submission's server
through it, and records its steps as it goes. When the test fails, the scenario tells the
story: the steps it got through, what each client received (bytes as repr), the problem,
the hint, errors in the server's threads and, after a timeout, where those threads were.
"""
from __future__ import annotations

from grader.catalog import Lab
from grader.harness import WAIT, ScriptedClient, describe, shorten
from grader.hints import hint, label
from grader.sandbox import ServerProcess, SubmissionError


class Scenario:
    def __init__(self, lab: Lab, target: str, lang: str = "en", hint_key: str | None = None):
        self.lab = lab
        self.target = target
        self.lang = lang
        self.hint_key = hint_key
        self.steps: list[str] = []
        self.hosts: list[ServerProcess] = []

    # --- writing the script ----------------------------------------------------------

    def step(self, text: str) -> None:
        self.steps.append(text)

    def hint(self, key: str) -> None:
        """The hint to show if the test fails from here on."""
        self.hint_key = key

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
        self.step(f"the server started on port {host.address[1]}" + (f" ({extras})" if extras else ""))
        return host

    def connect(self, host: ServerProcess, name: str) -> ScriptedClient:
        self.step(f"{name} connects")
        return host.client(name)

    def send(self, client: ScriptedClient, data: bytes | str, note: str = "") -> None:
        """`client` sends `data` (a str gets its b"\\n"); recorded as a step."""
        raw = data if isinstance(data, bytes) else data.encode("utf-8") + b"\n"
        self.step(f"{client.name} sends {shorten(raw)}" + (f" {note}" if note else ""))
        client.send_bytes(raw)

    def join(self, host: ServerProcess, *nicks: str) -> list[ScriptedClient]:
        """Connect and join each nick in turn (`/join NICK` over UDP), waiting for the welcome and the others' notices."""
        joined: list[ScriptedClient] = []
        for nick in nicks:
            client = host.client(nick)
            client.send_line(f"/join {nick}" if self.lab.transport == "udp" else nick)
            self.step(f"{nick} connects and asks for the nickname {nick!r}")
            client.expect(f"* welcome {nick}")
            for earlier in joined:
                earlier.expect(f"* {nick} joined")
            joined.append(client)
        return joined

    # --- after the script ------------------------------------------------------------

    def story(self, problem: str, timed_out: bool, rerun: str) -> str:
        """The failure report: problem, hint, steps, transcripts, server errors and threads."""
        lang = self.lang
        key = self.hint_key
        if any("NotImplementedError" in problem or host.failure().find("NotImplementedError") >= 0
               for host in self.hosts) or "not implemented yet" in problem:
            key = "not-implemented"
        parts = [f"{label('problem', lang)}: {problem}"]
        if key:
            parts.append(f"{label('hint', lang)}: {hint(key, lang)}")
        if self.steps:
            parts.append(f"{label('steps', lang)}:\n" + "\n".join(f"  {n}. {s}" for n, s in enumerate(self.steps, 1)))
        clients = [client for host in self.hosts for client in host.clients]
        if clients:
            parts.append(f"{label('received', lang)}:\n" + "\n".join(
                f"  {client.name}: {describe(client.received)}" for client in clients))
        errors = [(host, error) for host in self.hosts for error in host.thread_errors]
        if errors:
            parts.append(f"{label('errors', lang)}:\n" + "\n".join(
                f"  {error['thread']}: {error['type']}: {error['message']}"
                + (f" ({host.where(error['traceback'])})" if host.where(error["traceback"]) else "")
                for host, error in errors[:5]))
        if timed_out:
            stacks = "\n".join(host.stacks() for host in self.hosts if host.process.poll() is None)
            if stacks.strip():
                parts.append(f"{label('threads', lang)}:\n" + "\n".join(f"  {line}" for line in stacks.splitlines()))
        parts.append(f"{label('rerun', lang)}: {rerun}")
        return "\n".join(parts)

    def close(self) -> None:
        for host in self.hosts:
            host.close()


def timed_out(problem: str) -> bool:
    """Whether a failure message says a wait ran out of time (then the threads are worth a look)."""
    return "s passed" in problem or f"within {WAIT:g} s" in problem
