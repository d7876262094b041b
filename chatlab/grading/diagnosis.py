"""What went wrong, from what was observed: the diagnosis that leads a failure report.

A test knows what it checks; when it fails, the student needs to know what their server
actually did. `diagnose()` looks at the evidence a failed scenario leaves behind (the
failed wait and what the waiting client got instead, every client's transcript, the
server's dead threads, its exit, its output, its silence) and returns findings, most
telling first, each naming the likely mistake and the hint that follows from it. The
test's own hint is only the fallback when nothing specific was observed.

Like CS50's check50, which chooses its help from the program's actual output, and unlike a
hint attached to the test that happened to run: one missing notice can fail five tests,
and each of them should say "the notice never came", not five unrelated things.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

from chatlab.grading.hints import diagnosis_text
from chatlab.harness.waiting import ExpectationError, shorten

REPLACED = "\ufffd"   # U+FFFD: what PROTOCOL.md puts for an undecodable byte or a control character
CHAT_LINE = re.compile(r"^\[(?P<nick>[^\]]+)\] (?P<text>.*)$", re.S)
PROTOCOL_LINE = re.compile(r"^(\* |! |\[[^\]]+\] )")  # how every line a server sends starts
WORD = re.compile(r"\w+")
TRACEBACK = re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)+\S.*$", re.M)
CLIENT_FRAME = re.compile(r'File "([^"]*client\.py)", line (\d+)')
THREAD = re.compile(r"^Exception in thread (?P<name>.+?):?$", re.M)
ERROR_WORDS = re.compile(r"error|exception|traceback|errno|ошибка", re.I)


@dataclass
class Finding:
    """One thing observed: `key` names it (and its hint: hints.DIAGNOSES), `text` says it in the report's language."""
    key: str
    text: str
    hint_key: str | None


# Most telling first: a dead thread or process explains everything after it; what a client got
# instead says how the server is wrong; silence and a closed connection only say that it is.
PRIORITY = ("thread-died", "process-exited", "client-crashed", "client-exited", "echoed-to-sender", "crlf-kept",
            "replaced", "merged", "split", "interleaved", "near-miss", "printed-error", "spinning", "closed", "silent")


VAGUE = ("silent", "closed")  # findings that say that the server is wrong, not how: the test's hint explains them
CONTENT = ("echoed-to-sender", "crlf-kept", "replaced", "merged", "split", "interleaved", "near-miss")  # what a line looked like


def diagnose(scenario, error: BaseException | None, lang: str = "en", topic: str | None = None) -> list[Finding]:
    """The findings for a failed scenario, most telling first (an empty list: nothing specific seen).

    When several things were wrong with the lines (a server that relays each recv() as a message
    both splits and merges), the one the test is about (its hint, `topic`) leads among them.
    """
    findings: dict[str, Finding] = {}

    def found(key: str, hint_key: str | None = None, **facts) -> None:
        findings.setdefault(key, Finding(key, diagnosis_text(key, lang).format(**facts), hint_key or key))

    clients = {client.name: client for host in scenario.hosts for client in host.clients}
    for host in scenario.hosts:
        _server_itself(host, clients, found)
    failed = error if isinstance(error, ExpectationError) else getattr(error, "error", None)  # NotReached.error
    if isinstance(failed, ExpectationError):
        _the_failed_wait(failed, clients, found)
    for name, client in clients.items():
        _transcript(name, client.texts(), clients, found)
    for host in scenario.hosts:
        _what_the_server_printed(host, found)
    for client in getattr(scenario, "student_clients", ()):
        _client_crash(client, found)
    if "spinning" in findings:
        findings.pop("silent", None)  # it was silent on its sockets, not idle
    def rank(finding: Finding) -> float:
        on_topic = finding.key in CONTENT and finding.hint_key == topic
        return PRIORITY.index(CONTENT[0]) - 0.5 if on_topic else PRIORITY.index(finding.key)
    return sorted(findings.values(), key=rank)


def _server_itself(host, clients: dict, found) -> None:
    """A dead thread, an exited process: whatever else was seen follows from these."""
    ports = {_port(client): name for name, client in clients.items()}
    for event in host.thread_errors:
        if event["type"] == "NotImplementedError":
            continue  # a stub: "not implemented yet" says it all
        served = ports.get(event.get("port"))
        found("thread-died", thread=event["thread"], error=f"{event['type']}: {event['message']}",
              where=host.where(event["traceback"]) or "?", client=served or "?")
        break
    failure = host.failure()
    if getattr(host, "exit_code", None) is not None or "exited with code" in failure:  # a process that died
        found("process-exited", why=failure)
    spin = host.spinning
    if spin:
        found("spinning", "busy-loop", where=spin)


def _the_failed_wait(error: ExpectationError, clients: dict, found) -> None:
    """What the waiting client got instead of what it wanted, read the way a person would."""
    who = error.client.name if error.client else "?"
    if error.kind == "silent":
        found("silent", client=who)
    elif error.kind == "closed":
        found("closed", client=who)
    elif error.kind == "exited" and hasattr(error.client, "fate"):
        found("client-exited", client=who, fate=error.client.fate(wait=1.0))
    wanted = [line.decode("utf-8", errors="replace") for line in error.wanted]
    seen = [line.decode("utf-8", errors="replace") for line in error.seen]
    if error.kind == "unexpected":  # the whole list was wrong: compare what is missing with what came instead
        wanted, seen = [line for line in wanted if line not in seen], [line for line in seen if line not in wanted]
    for line in wanted:
        _compare(line, seen, who, clients, found)


def _transcript(name: str, texts: list[str], clients: dict, found) -> None:
    """What is wrong in any client's transcript, whatever the test waited for."""
    for index, line in enumerate(texts):
        chat = CHAT_LINE.match(line)
        if chat and chat["nick"] == name and chat["text"] in _sent(clients.get(name)):
            found("echoed-to-sender", "echo-to-sender", author=name, line=shorten(line))
        if line.endswith("\r"):
            found("crlf-kept", "crlf", client=name, line=shorten(line))


def _compare(wanted: str, seen: list[str], who: str, clients: dict, found) -> None:
    chat = CHAT_LINE.match(wanted)
    if chat:
        author = clients.get(chat["nick"])
        if author is not None and chat["text"] in _sent(author) and any(
                text in (wanted, chat["text"]) for text in author.texts()):
            found("echoed-to-sender", "echo-to-sender", author=chat["nick"], line=shorten(wanted))
    for index, line in enumerate(seen):
        if line in (wanted + "\r", wanted + REPLACED):  # a kept '\r', shown as U+FFFD by a server that hides them
            found("crlf-kept", "crlf", client=who, line=shorten(line))
        elif chat and (line.startswith(wanted + REPLACED) or line.endswith(REPLACED + chat["text"])):
            found("merged", "framing-merge", client=who, line=shorten(line), wanted=shorten(wanted))  # '\n' → U+FFFD
        elif REPLACED in line and _same_but_replaced(wanted, line):
            found("replaced", "utf8-split", client=who, line=shorten(line), wanted=shorten(wanted))
        elif chat and line == chat["text"]:
            found("merged", "framing-merge", client=who, line=shorten(line), wanted=shorten(wanted))
        elif chat and len(line) < len(wanted) and wanted.startswith(line) and _split_at(wanted, seen, index):
            found("split", "framing-split", client=who, line=shorten(line), wanted=shorten(wanted))
        elif cut := _cut_into(wanted, line):
            found("interleaved", "send-lock", client=who, line=shorten(line), wanted=shorten(wanted), cut=cut,
                  intruder=shorten(line[cut:]))
        elif line != wanted and _near_miss(wanted, line):
            found("near-miss", "protocol", client=who, line=shorten(line), wanted=shorten(wanted))


def _same_but_replaced(wanted: str, line: str) -> bool:
    """`line` is `wanted` with some letters turned into U+FFFD (decoded before they were whole)."""
    head = line.split("\ufffd", 1)[0]
    return wanted.startswith(head) and not wanted.isascii()


def _split_at(wanted: str, seen: list[str], index: int) -> bool:
    """seen[index] is the start of `wanted`, and the lines after it hold the rest (with or without a prefix)."""
    rest = wanted[len(seen[index]):]
    following = "".join(CHAT_LINE.sub(r"\g<text>", line) for line in seen[index + 1:index + 4])
    return bool(rest) and (following.startswith(rest) or rest.startswith(following) and following != "")


def _cut_into(wanted: str, line: str) -> int:
    """Where another line of the server's landed inside `wanted`: `line` is wanted's start, then a
    line of the protocol's ("* ...", "! ...", "[nick] ..."). 0: it did not."""
    cut = len(os.path.commonprefix([wanted, line]))
    return cut if 0 < cut < min(len(wanted), len(line)) and PROTOCOL_LINE.match(line[cut:]) else 0


def _near_miss(wanted: str, line: str) -> bool:
    """The same words in another format: `bob: hi` for `[bob] hi`, `bob left the chat` for `* bob left`."""
    words = [w.lower() for w in WORD.findall(unicodedata.normalize("NFC", wanted))]
    got = [w.lower() for w in WORD.findall(unicodedata.normalize("NFC", line))]
    return bool(words) and all(word in got for word in words) and len(got) <= len(words) + 3


def _client_crash(client, found) -> None:
    """A student's client that died of an exception, in its main thread or in its receiving thread."""
    tracebacks = TRACEBACK.findall(client.stderr)
    if not tracebacks or client.not_implemented():
        return
    where = [f"{path.rsplit('/', 1)[-1].rsplit(chr(92), 1)[-1]}:{line}" for path, line in CLIENT_FRAME.findall(
        tracebacks[-1])]
    error = [line for line in tracebacks[-1].strip().splitlines() if line and not line.startswith(" ")][-1]
    thread = THREAD.search(client.stderr)
    found("client-crashed", "client-crash", client=client.name, error=error.strip(), where=where[-1] if where else "?",
          thread=thread["name"] if thread else "MainThread")


def _what_the_server_printed(host, found) -> None:
    """`except Exception as e: print(e)` is how most students report errors: show it when it looks like one."""
    tail, _size = host.output_tail()
    lines = [line for line in tail.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_WORDS.search(line)]
    if errors:
        found("printed-error", line=shorten(errors[-1].strip()))


def _sent(client) -> list[str]:
    """What a scripted client sent (a stand-in without a record sent nothing)."""
    return client.sent_texts() if hasattr(client, "sent_texts") else []


def _port(client) -> int | None:
    return getattr(client, "port", None)
