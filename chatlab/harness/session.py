"""A lab's server under test, with the scripted clients talking to it.

`ServerHost` is what every host shares: the server's address, its clients, and `fail()`,
which cuts every client's wait short once the server is known to have failed.
`LabSession` runs a lab's server in a thread of this process (demo, notebooks, the kit's
tests); the grader's `ServerProcess` (chatlab.sandbox) runs it in a child process instead.
Nothing here sleeps to synchronise: a server reports its port once it listens, and a client
waits for the exact line it expects, up to a timeout.

A student kit (`chatlab release --student-kit`) has no solutions/: there `stand_in` runs the
student's own labs/ once its TODOs are written, and until then says in one line that the
reference is not there (ReferenceMissing), instead of a traceback.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Iterator

from chatlab.catalog import SOLUTIONS_DIR, Lab, lab_file, load_module
from chatlab.harness.clients import ScriptedClient, client_for
from chatlab.harness.waiting import WAIT, ExpectationError
from chatlab.harness.wiretap import Wiretap
from chatlab.i18n import N_, _

NO_REFERENCE = N_("the reference is not in this kit: this cell's outputs were recorded when the kit was built "
                "(reopen the notebook without saving to see them again); once your {file} has no TODO left, "
                "this cell runs yours")


class ReferenceMissing(RuntimeError):
    """The reference solution is not in this kit (a student kit). A notebook shows it as one line."""

    def _render_traceback_(self) -> list[str]:  # IPython prints these lines instead of a traceback
        return [str(self)]


def stand_in(lab: Lab, role: str, target="solutions"):
    """`target`, unless it is the reference and this kit has none: then the student's labs/, once its
    `role` file ("server" or "client") has no TODO left; before that, ReferenceMissing."""
    if str(target) != "solutions" or SOLUTIONS_DIR.is_dir():
        return target
    if "not implemented yet" in lab_file(lab, role, "labs").read_text(encoding="utf-8"):
        raise ReferenceMissing(_(NO_REFERENCE).format(file=f"labs/{lab.stem}/{role}.py"))
    print(_("the reference is not in this kit: running your {file} instead").format(file=f"labs/{lab.stem}/{role}.py"))
    return "labs"


class ServerHost:
    """A server under test, wherever it runs, and the scripted clients talking to it.

    A host that learns its server has failed calls fail(reason): every client's wait is
    then cut short with that reason, so a broken server fails a script at once instead of
    after a timeout.
    """

    def __init__(self, lab: Lab):
        self.lab = lab
        self.address: tuple = ()
        self.clients: list[ScriptedClient] = []
        self.thread_errors: list[dict] = []   # exceptions that ended a thread of the server, where known
        self.spinning = ""                    # where a thread of the server spun, where known
        self._failure = ""

    def failure(self) -> str:
        """Why the server is not serving, or "" while it is."""
        return self._failure

    def fail(self, reason: str) -> None:
        if not self._failure:
            self._failure = reason
        for client in list(self.clients):
            client.abort(self._failure)

    def client(self, name: str, on_line=None) -> "ScriptedClient":
        """Connect a new scripted client (TCP or UDP, as the lab speaks) called `name`."""
        try:
            client = client_for(self.lab)(self.address, name, on_line)
        except OSError as error:
            raise ExpectationError(f"{name} could not connect ({error}); "
                                   f"{self.failure() or 'the server is not listening'}") from None
        client.silence = functools.partial(self.silence, client)
        self.clients.append(client)
        if self._failure:
            client.abort(self._failure)
        return client

    def join(self, *nicks: str, members=(), step=None) -> list["ScriptedClient"]:
        """Connect a client per nick and join it (`/join NICK` over UDP); the join probe for each.

        Each newcomer waits for its welcome, and each of `members` (clients that joined before)
        and of the newcomers before it waits for "* nick joined": after that the room's
        membership is known, so what comes next happens in a known order. `step(text)`, if
        given, is told each step (a scenario's story).
        """
        joined: list[ScriptedClient] = []
        for nick in nicks:
            client = self.client(nick)
            client.send_line(f"/join {nick}" if self.lab.transport == "udp" else nick)
            if step:
                step(_("{nick} connects and asks for the nickname {quoted}").format(nick=nick, quoted=repr(nick)))
            client.expect(f"* welcome {nick}", fail_on="! ")
            for earlier in [*members, *joined]:
                earlier.expect(f"* {nick} joined")
            joined.append(client)
        return joined

    def silence(self, client=None) -> Iterator[str] | None:
        """A probe for a scripted client's wait: yields "" while the server may still send (to
        `client`, if given), or why it will not. None here: a server in this process cannot be
        watched that way."""
        return None

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()


class LabSession(ServerHost):
    """A lab's server running in a daemon thread of this process (demo, the kit's tests).

    The server listens as soon as it is constructed, so clients may connect at once. If
    serve_forever() raises, the error is kept in `errors` and the server is shut down.
    """

    def __init__(self, lab: Lab, target="solutions", host="127.0.0.1", tap=False, **options):
        super().__init__(lab)
        module = load_module(lab, "server", stand_in(lab, "server", target))
        self.server = getattr(module, lab.server_class)(host, 0, **options)
        self.address = tuple(self.server.address)
        # With tap=True, a Wiretap records the server's socket calls (the notebooks draw them). It
        # starts before the server's first recv: a call already blocked when a tap starts goes unseen.
        self.tap = Wiretap(self.address).__enter__() if tap else None
        self.errors: list[BaseException] = []
        self._stopped = False
        self._stop_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"{lab.stem} server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.serve_forever()
        except Exception as error:  # reported by the session, never lost in a thread
            self.errors.append(error)
            self.fail(f"the server failed: {type(error).__name__}: {error}")
            self.stop()

    def stop(self) -> None:
        """Shut the server down, once, however many times it is asked."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.server.shutdown()

    def close(self) -> None:
        self.close_clients()
        self.stop()
        self._thread.join(WAIT)
        if self.tap:
            self.tap.__exit__(None, None, None)


@contextlib.contextmanager
def lab_session(lab: Lab, target="solutions", **options):
    """A LabSession for the duration of a `with` block."""
    session = LabSession(lab, target, **options)
    try:
        yield session
    finally:
        session.close()
