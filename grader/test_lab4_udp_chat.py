"""Lab 4, multi-user chat over UDP (PROTOCOL.md, "Lab 4"): one datagram is one message.

Members are known by their address (ip, port), join with `/join NICK`, leave with `/leave`
or by staying silent longer than the idle timeout. The server is one thread that relays in
the order datagrams arrive, so a later line that reaches a client proves that everything the
server sent that client before it has arrived too: that is how "must not arrive" is checked
here, with no waiting. Loopback does not lose datagrams at this scale, so nothing may be lost.
"""
import socket
import time
from itertools import permutations

import pytest

from chatlab.catalog import find_lab
from chatlab.harness.waiting import WAIT, describe, lines_must_be, seconds_passed
from chatlab.i18n import _, ngettext

LAB = find_lab("lab4")
# The test that checks each feature other scenarios need before they get to their point
# (Scenario.setting_up): when one of those steps fails, the report points here.
FEATURE_TESTS = {
    "joining": "test_a_stranger_must_join_first_and_a_join_is_welcomed_and_announced_to_the_others",
    "leaving": "test_leave_says_bye_tells_the_others_and_the_member_that_left_gets_nothing_more",
    "quitting": "test_leave_says_bye_tells_the_others_and_the_member_that_left_gets_nothing_more",
    "relaying": "test_a_chat_line_reaches_every_other_member_with_its_author_and_never_the_sender",
}

JOIN_FIRST = "! join first: /join NICK"
INVALID_NICK = "! invalid nickname: use 1-20 letters, digits, _ or -"
TOO_LONG = "! message too long (max 4096 bytes)"


def say(scenario, client, text: str, note: str = "") -> None:
    """`client` sends `text` as one datagram, without a newline (as the reference client does)."""
    scenario.send(client, text.encode("utf-8"), note)


def check(ok: bool, problem: str) -> None:
    """Fail with `problem` alone (a plain assert would add pytest's diff of long lines)."""
    if not ok:
        raise AssertionError(problem)


def chat_from(client, nick: str) -> list[str]:
    """The chat lines `client` received from `nick`, in order."""
    return [line for line in client.texts() if line.startswith(f"[{nick}] ")]


def sizes(name: str, got: list[str], expected: list[str]) -> str:
    """A failure message comparing lines by their size in bytes (the lines are too long to show)."""
    def measure(lines):
        return ", ".join(str(len(line.encode())) for line in lines) or _("none")
    return _("{name} received lines of {got} bytes, expected {expected}: {lines}").format(
        name=name, got=measure(got), expected=measure(expected), lines=describe([line.encode() for line in got]))


@pytest.mark.points(3, hint="udp-join")
def test_a_stranger_must_join_first_and_a_join_is_welcomed_and_announced_to_the_others(scenario):
    host = scenario.server()
    stranger = scenario.connect(host, "stranger")
    say(scenario, stranger, "hello, anyone?")
    stranger.expect(JOIN_FIRST)
    say(scenario, stranger, "/users")
    stranger.expect(JOIN_FIRST)
    alice = scenario.connect(host, "alice")
    say(scenario, alice, "/join alice")
    alice.expect("* welcome alice")
    bob = scenario.connect(host, "bob")
    say(scenario, bob, "/join bob")
    bob.expect("* welcome bob")
    alice.expect("* bob joined")
    say(scenario, bob, "hi alice", _("(a member now: relayed)"))
    alice.expect("[bob] hi alice")
    scenario.step(_("the stranger, who never joined, must have got no chat at all"))
    say(scenario, stranger, "still a stranger")
    stranger.expect(JOIN_FIRST)
    lines_must_be(stranger, stranger.texts(), [JOIN_FIRST] * 3)


@pytest.mark.points(3, hint="nicknames")
def test_a_taken_an_invalid_or_a_second_nickname_is_refused(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    other = scenario.connect(host, "other")
    say(scenario, other, "/join alice")
    other.expect("! nickname taken")
    say(scenario, other, "/join bob smith")
    other.expect(INVALID_NICK)
    say(scenario, other, "/join " + "b" * 21)
    other.expect(INVALID_NICK)
    say(scenario, other, "after three refusals", _("(still not a member)"))
    other.expect(JOIN_FIRST)
    say(scenario, alice, "/join carol")
    alice.expect("! already joined as alice")
    scenario.hint("encoding")
    say(scenario, other, "/join Иван")
    answer = other.expect("* welcome Иван", INVALID_NICK)
    check(answer == "* welcome Иван", "Иван is a valid nickname: letters of any alphabet are allowed (UTF-8)")
    alice.expect("* Иван joined")


@pytest.mark.points(3, hint="echo-to-sender")
def test_a_chat_line_reaches_every_other_member_with_its_author_and_never_the_sender(scenario):
    host = scenario.server()
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    say(scenario, alice, "hello, room")
    bob.expect("[alice] hello, room")
    carol.expect("[alice] hello, room")
    say(scenario, bob, "marker", _("(relayed after alice's line: whatever alice got before it is an echo)"))
    alice.expect("[bob] marker")
    check("[alice] hello, room" not in alice.texts(), "alice, the sender, received her own line back")
    scenario.hint("nicknames")
    say(scenario, bob, "[alice] fake", _("(the server names the real author)"))
    carol.expect("[bob] [alice] fake")


def nc_expect(scenario, nc, wanted: bytes) -> None:
    """Read `nc`'s datagrams (at most 10, each wait bounded) until one is exactly `wanted`."""
    seen, why = [], _("10 other datagrams came first")
    for _attempt in range(10):
        try:
            datagram = nc.recv(65535)
        except socket.timeout:
            why = seconds_passed(WAIT)
            break
        if datagram == wanted:
            return
        seen.append(datagram)
        if datagram == wanted.removesuffix(b"\n"):
            scenario.hint("protocol")
            why = _("the server's datagram did not end with b'\\n'")
            break
        if datagram == wanted.removesuffix(b"\n") + b"\r\n":
            why = _("the sender's b'\\r' was left in")
            break
    raise AssertionError(_("nc expected the datagram {wanted}, but {why}; it received {seen}").format(
        wanted=repr(wanted), why=why, seen=seen))


@pytest.mark.points(2, hint="crlf")
def test_nc_u_style_datagrams_with_a_trailing_newline_or_crlf_work_and_every_answer_ends_in_a_newline(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as nc:
        nc.settimeout(WAIT)
        nc.connect(host.address)
        scenario.step(_('"nc" (a bare UDP socket, like nc -u: it shows every datagram as it is) sends b"/join bob\\n"'))
        nc.send(b"/join bob\n")
        nc_expect(scenario, nc, b"* welcome bob\n")
        alice.expect("* bob joined")
        scenario.send(alice, b"hi bob\r\n", _("(like nc -C)"))
        nc_expect(scenario, nc, b"[alice] hi bob\n")
        scenario.step(_('"nc" sends b"\\n" and b"\\r\\n" (empty lines: ignored), then b"still here\\r\\n"'))
        nc.send(b"\n")
        nc.send(b"\r\n")
        nc.send(b"still here\r\n")
        alice.expect("[bob] still here")
        from_bob = chat_from(alice, "bob")
        check(from_bob == ["[bob] still here"], f"empty lines must be ignored; alice received {from_bob}")


@pytest.mark.points(2, hint="commands")
def test_users_lists_every_member_sorted(scenario):
    host = scenario.server()
    carol, alice, bob = scenario.join(host, "carol", "alice", "bob")
    say(scenario, bob, "/users")
    answer = bob.expect(*[f"* users: {', '.join(names)}" for names in permutations(("alice", "bob", "carol"))])
    check(answer == "* users: alice, bob, carol", f"the members must be sorted by name; bob received {answer!r}")


@pytest.mark.points(3, hint="commands")
def test_msg_reaches_only_its_addressee_and_its_mistakes_are_answered(scenario):
    host = scenario.server()
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    say(scenario, alice, "/msg bob psst, two words")
    bob.expect("[alice -> bob] psst, two words")
    say(scenario, alice, "after the private one", _("(a sentinel: anything for carol before it has arrived)"))
    carol.expect("[alice] after the private one")
    leaked = [line for line in carol.texts() if "psst" in line]
    check(not leaked, f"carol received the private message to bob: {leaked}")
    say(scenario, alice, "/msg nobody hi")
    alice.expect("! no such user: nobody")
    say(scenario, alice, "/msg bob")
    alice.expect("! usage: /msg NICK TEXT")
    say(scenario, alice, "/msg")
    alice.expect("! usage: /msg NICK TEXT")


@pytest.mark.points(3, hint="udp-leave")
def test_leave_says_bye_tells_the_others_and_the_member_that_left_gets_nothing_more(scenario):
    host = scenario.server()
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    say(scenario, carol, "/leave")
    carol.expect("* bye")
    alice.expect("* carol left")
    bob.expect("* carol left")
    say(scenario, alice, "m")
    say(scenario, alice, "sentinel")
    bob.expect("[alice] m")
    bob.expect("[alice] sentinel")
    say(scenario, carol, "am I still in?", _("(its answer comes after anything sent to carol before)"))
    carol.expect(JOIN_FIRST, "[alice] m", "[alice] sentinel")
    leaked = [line for line in carol.texts() if line.startswith("[alice]")]
    check(not leaked, f"carol, who left, still received {leaked}")
    say(scenario, bob, "/users")
    bob.expect("* users: alice, bob")


@pytest.mark.points(3, hint="udp-leave")
def test_a_silent_member_is_forgotten_after_the_idle_timeout_while_a_pinging_one_stays(scenario):
    host = scenario.server(options={"idle_timeout": 0.3})
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.step(_("bob stays silent; alice sends /ping every 0.05 s until she gets \"* bob left\" (at most 40 times)"))
    started = time.monotonic()
    for _ping in range(40):
        alice.send_bytes(b"/ping")
        try:
            alice.expect("* bob left", timeout=0.05)
            break
        except AssertionError as error:
            if alice.aborted:
                raise error from None
    else:
        check("* alice left" not in bob.texts(), _("alice sent /ping every 0.05 s, yet she was forgotten: every "
                                                    "datagram from a member, /ping included, shows it is alive"))
        check(False, _("bob was silent for {seconds} s with idle_timeout=0.3, but alice, who kept pinging, never got "
                       "'* bob left'; she received {seen}").format(seconds=f"{time.monotonic() - started:.1f}",
                                                                   seen=describe(alice.received)))
    carol, = scenario.join(host, "carol")
    scenario.step(_("(alice pinged: she must still be a member, and be told that carol joined)"))
    alice.expect("* carol joined")
    say(scenario, bob, "back again", _("(forgotten: bob must join again)"))
    bob.expect(JOIN_FIRST)
    scenario.hint("protocol")
    pings = [line for line in bob.texts() + alice.texts() if "/ping" in line]
    check(not pings, f"/ping is a keepalive, never answered nor relayed; seen: {pings[:3]}")


@pytest.mark.points(3, hint="key-by-address")
def test_three_clients_on_the_same_ip_are_three_members(scenario):
    host = scenario.server()
    clients = scenario.join(host, "alice", "bob", "carol")
    for speaker in clients:
        say(scenario, speaker, f"from {speaker.name}")
        for listener in clients:
            if listener is not speaker:
                listener.expect(f"[{speaker.name}] from {speaker.name}")


@pytest.mark.points(3, hint="udp-size")
def test_a_2000_byte_message_and_a_1201_byte_cyrillic_one_are_relayed_whole(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    long_ascii = "x" * 1999 + "!"
    cyrillic = "a" + "П" * 600
    say(scenario, alice, long_ascii, _("(2000 bytes)"))
    say(scenario, alice, cyrillic, _("(1201 bytes: byte 1024 is in the middle of a letter)"))
    say(scenario, alice, "the end", _("(a sentinel: anything for bob before it has arrived)"))
    bob.expect("[alice] the end")
    expected = [f"[alice] {long_ascii}", f"[alice] {cyrillic}", "[alice] the end"]
    if any(line.count("\ufffd") > 1 for line in chat_from(bob, "alice")):
        scenario.hint("encoding")  # letters replaced everywhere, not just at a cut: a wrong codec
    lines_must_be(bob, chat_from(bob, "alice"), expected, sizes("bob", chat_from(bob, "alice"), expected))


@pytest.mark.points(3, hint="udp-size")
def test_up_to_4096_bytes_are_relayed_and_a_longer_message_is_refused(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    largest = "z" * 4095 + "."
    say(scenario, alice, largest, _("(4096 bytes: the largest allowed)"))
    scenario.send(alice, largest.encode() + b"\n", _("(4096 bytes and a newline, which does not count)"))
    say(scenario, alice, largest + "!", _("(4097 bytes: too long)"))
    say(scenario, alice, "still here", _("(a sentinel: anything for bob before it has arrived)"))
    bob.expect("[alice] still here")
    expected = [f"[alice] {largest}", f"[alice] {largest}", "[alice] still here"]
    lines_must_be(bob, chat_from(bob, "alice"), expected, sizes("bob", chat_from(bob, "alice"), expected))
    alice.expect(TOO_LONG)


@pytest.mark.points(2, hint="invalid-bytes")
def test_invalid_utf8_is_replaced_and_the_server_goes_on(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.send(alice, b"\xff\xfe ok")
    say(scenario, alice, "after the bad bytes", _("(a sentinel: anything for bob before it has arrived)"))
    bob.expect("[alice] after the bad bytes")
    expected = ["[alice] \ufffd\ufffd ok", "[alice] after the bad bytes"]
    lines_must_be(bob, chat_from(bob, "alice"), expected)


@pytest.mark.points(3, hint="load")
def test_twenty_members_sending_five_lines_each_lose_nothing_and_keep_each_senders_order(scenario):
    host = scenario.server()
    members = scenario.join(host, *[f"user{number:02}" for number in range(20)])
    lines = {member.name: [f"{member.name} line {count}" for count in range(5)] for member in members}
    # 100 datagrams to the server, 95 to each member: a default Linux socket buffer (212,992 bytes) holds
    # 256 small datagrams, so none can be dropped even if no thread runs during the burst (at 400 they were).
    scenario.step(_("each member sends 5 lines, taking turns (100 datagrams)"))
    for count in range(5):
        for member in members:
            member.send_bytes(lines[member.name][count].encode())
    for listener in members:
        wanted = {f"[{speaker}] {line}" for speaker in lines if speaker != listener.name for line in lines[speaker]}
        for _line in range(len(wanted)):  # expect() returns the earliest wanted line still to come
            try:
                wanted.discard(listener.expect(*sorted(wanted)))
            except AssertionError as error:
                why = str(error).split(_(", but "), 1)[-1]
                raise AssertionError(ngettext("{name} expected {count} more line, e.g. {line}, but {why}",
                                              "{name} expected {count} more lines, e.g. {line}, but {why}",
                                              len(wanted)).format(
                    name=listener.name, count=len(wanted), line=repr(min(wanted)), why=why)) from None
    for listener in members:
        for speaker in lines:
            if speaker != listener.name:
                expected = [f"[{speaker}] {line}" for line in lines[speaker]]
                heard = chat_from(listener, speaker)
                check(heard == expected, _("{name} received from {nick}: {lines}").format(
                    name=listener.name, nick=speaker, lines=heard))


@pytest.mark.points(2, hint="control-characters")
def test_control_characters_reach_the_others_as_u_fffd_and_a_tab_as_it_is(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    sent = (  # (the datagram alice sends, a note, what bob must receive)
        (b"hi\x1b[2J\x1b[31m", _("(ESC [2J would clear bob's screen, ESC [31m paint it red)"),
         "[alice] hi\ufffd[2J\ufffd[31m"),
        (b"a\tb\x07\x7f", _("(a tab, then BEL and DEL)"), "[alice] a\tb\ufffd\ufffd"),  # ASCII: codecs are not the point
        (b"x\n[bob] I owe alice 100\n", _("(a newline inside the datagram: '[bob] ...' would look like a line of "
                                          "bob's)"),
         "[alice] x\ufffd[bob] I owe alice 100"),
    )
    for data, note, _wanted in sent:
        scenario.send(alice, data, note)
    say(scenario, alice, "the end", _("(a sentinel: anything for bob before it has arrived)"))
    with scenario.setting_up("relaying"):
        bob.expect("[alice] the end")
    expected = [wanted for _data, _note, wanted in sent] + ["[alice] the end"]
    got = chat_from(bob, "alice")
    check(got == expected, _("bob received {got}, expected {expected}: every control character but tab must "
                             "reach the others as U+FFFD ('\\ufffd')").format(got=got, expected=expected))
