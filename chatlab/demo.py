"""`chatlab demo [LAB]`: a live conversation with a lab's server, in one terminal.

Whose server is the command's --target: yours in labs/ by default, the reference with
`--target solutions`.

The server and a few scripted clients run as threads of this process. Each step sends a
line and waits (bounded) until the clients that should hear it have, so the printed
conversation is in a sensible order and the demo ends by itself within seconds.
"""
from __future__ import annotations

import sys
import threading

from chatlab.catalog import DEFAULT_TARGET, Lab
from chatlab.harness.session import LabSession, lab_session
from chatlab.harness.waiting import ExpectationError
from chatlab.i18n import _


class Conversation:
    """Scripted clients of one server, printing every line sent (>>) and received (<<)."""

    def __init__(self, session: LabSession, out=sys.stdout):
        self.session = session
        self.out = out
        self.clients = {}
        self._print_lock = threading.Lock()
        self._finished = False

    def say(self, who: str, arrow: str, text: str) -> None:
        with self._print_lock:
            if not self._finished:
                print(f"  {who:<6} {arrow} {text}", file=self.out, flush=True)

    def connect(self, who: str):
        self.say(who, "--", _("connects"))
        self.clients[who] = self.session.client(who, on_line=lambda name, text: self.say(name, "<<", text))
        return self.clients[who]

    def send(self, who: str, text: str, heard: dict[str, str] | None = None) -> None:
        """`who` sends `text`; wait until each client in `heard` has received its line."""
        self.say(who, ">>", text)
        self.clients[who].send_line(text)
        for listener, line in (heard or {}).items():
            self.clients[listener].expect(line)

    def join(self, who: str, command: str = "{}") -> None:
        """Connect `who` and join with its name; wait for the welcome and the others' notices."""
        self.connect(who)
        others = {name: f"* {who} joined" for name in self.clients if name != who}
        self.send(who, command.format(who), {who: f"* welcome {who}", **others})

    def finish(self) -> None:
        """Stop printing: what clients receive while the session closes is noise."""
        with self._print_lock:
            self._finished = True


def echo_demo(chat: Conversation) -> None:
    chat.connect("ann")
    chat.connect("ben")  # two clients at once: a thread each on the server
    chat.send("ann", "hello, echo", {"ann": "hello, echo"})
    chat.send("ben", "Привет, мир", {"ben": "Привет, мир"})
    chat.send("ann", "bye", {"ann": "bye"})


def two_user_demo(chat: Conversation) -> None:
    chat.join("alice")
    chat.join("bob")
    chat.send("alice", "hi bob, just us two?", {"bob": "[alice] hi bob, just us two?"})
    chat.send("bob", "Привет! yes", {"alice": "[bob] Привет! yes"})
    chat.connect("carol")
    chat.clients["carol"].expect("! chat is full (2 users)")
    chat.clients["carol"].expect_closed()
    chat.send("bob", "/quit", {"bob": "* bye", "alice": "* bob left"})


def multi_user_demo(chat: Conversation, join="{}", leave="/quit") -> None:
    for who in ("alice", "bob", "carol"):
        chat.join(who, join)
    chat.send("alice", "hi everyone", {"bob": "[alice] hi everyone", "carol": "[alice] hi everyone"})
    chat.send("bob", "/users", {"bob": "* users: alice, bob, carol"})
    chat.send("carol", "/msg alice psst, lunch?", {"alice": "[carol -> alice] psst, lunch?"})
    chat.send("bob", leave, {"bob": "* bye", "alice": "* bob left", "carol": "* bob left"})
    chat.send("carol", "Привет, alice!", {"alice": "[carol] Привет, alice!"})


SCRIPTS = {
    "lab1_echo": echo_demo,
    "lab2_two_user_chat": two_user_demo,
    "lab3_multi_user_chat": multi_user_demo,
    "lab4_udp_chat": lambda chat: multi_user_demo(chat, join="/join {}", leave="/leave"),
    "lab5_reliable_udp_chat": lambda chat: multi_user_demo(chat, join="/join {}", leave="/leave"),
}


def run_demo(lab: Lab, target="solutions", out=sys.stdout) -> None:
    """Play `lab`'s script against its server from `target`; raise ExpectationError on a miss."""
    with lab_session(lab, target) as session:
        host, port = session.address
        print(_("{stem}: {title}, the server from {target}/ listens on {address}").format(
            stem=lab.stem, title=_(lab.title), target=target, address=f"{host}:{port}"), file=out)
        print("  " + _("(-- connects, >> sends, << receives)"), file=out, flush=True)
        chat = Conversation(session, out)
        try:
            SCRIPTS[lab.stem](chat)
        finally:
            chat.finish()
    print(_("{stem}: demo finished").format(stem=lab.stem), file=out, flush=True)


def main(lab: Lab, target: str = DEFAULT_TARGET) -> int:
    try:
        run_demo(lab, target)
    except ExpectationError as error:
        print(_("demo stopped: {error}").format(error=error), file=sys.stderr)
        return 1
    return 0
