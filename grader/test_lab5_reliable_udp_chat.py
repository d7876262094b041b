"""Lab 5, the chat made reliable over UDP (PROTOCOL.md, "Lab 5"): numbered lines, acknowledgements, retransmission.

The grader's clients speak the lab 5 protocol themselves (chatlab.harness.reliable): each
line they send is "D n text", sent again every 0.2 s until "A n" comes; each line they
receive is acknowledged, and delivered once and in order. Some talk to the server through
a seeded LossyRelay (chatlab.harness.lossy_relay) that loses, duplicates and reorders
datagrams; others send forged datagrams by hand (a duplicate, a line ahead of its turn) or
stop acknowledging, to make one mistake certain instead of likely. Waits through the relay
are patient (a retransmission after a backed-off timeout looks like silence) and long
(LOSSY_WAIT), because at 30 % loss a line may need many tries.
"""
import pytest

from chatlab.catalog import find_lab
from chatlab.harness.lossy_relay import LossyRelay
from chatlab.harness.reliable import ReliableDatagramClient
from chatlab.harness.waiting import describe
from chatlab.i18n import _, ngettext
from grader.chat_scenarios import SPIN_SHARE

LAB = find_lab("lab5")
FEATURE_TESTS = {
    "joining": "test_a_line_is_acknowledged_by_number_and_relayed_as_the_next_numbered_line",
    "relaying": "test_a_line_is_acknowledged_by_number_and_relayed_as_the_next_numbered_line",
}
LOSSY_WAIT = 15.0   # seconds: at 30 % loss a line's round trip fails half the time, and timeouts back off to 1 s
LOSSY_TRIES = 20    # the server's max_tries through the relay: 12 in a row fail once in 3,000 lines at 30 %
LINES = 6           # lines each way in the lossy scenarios


def check(ok: bool, problem: str) -> None:
    """Fail with `problem` alone."""
    if not ok:
        raise AssertionError(problem)


def chat_from(client, nick: str) -> list[str]:
    return [line for line in client.texts() if line.startswith(f"[{nick}] ")]


def raw(scenario, client, data: bytes, note: str = "") -> None:
    """`client` sends one datagram exactly as given (a forged number, a copy, garbage)."""
    scenario.send(client, data, note)


def say(scenario, client, text: str, note: str = "") -> int:
    """`client` sends `text` as its next numbered line, until acknowledged; returns its number."""
    scenario.step(_("{name} sends {datagram}, again every 0.2 s until acknowledged").format(
        name=client.name, datagram=repr(f"D {client.next_seq} {text}")) + (f" {note}" if note else ""))
    client.send_line(text)
    return client.next_seq - 1


def through(scenario, host, relay, nick: str) -> ReliableDatagramClient:
    """A client that talks to the server through `relay`, joined as `nick`."""
    scenario.step(_("{name} talks to the server through the lossy relay and joins").format(name=nick))
    client = ReliableDatagramClient(relay.address, nick)
    host.clients.append(client)  # a failed server cuts its waits short too
    client.send_line(f"/join {nick}")
    client.expect(f"* welcome {nick}", timeout=LOSSY_WAIT, patient=True)
    return client


def in_order_exactly_once(scenario, listener, nick: str, expected: list[str]) -> None:
    """`listener` must have received `expected` from `nick`, each once, in order; the hint follows what came."""
    for line in expected:
        listener.expect(line, timeout=LOSSY_WAIT, patient=True)
    each_once_in_order(scenario, listener, nick, expected)


def each_once_in_order(scenario, listener, nick: str, expected: list[str]) -> None:
    """What `listener` received from `nick` must be `expected`: no copy, no line out of its place."""
    got = chat_from(listener, nick)
    if len(got) > len(set(got)):
        scenario.hint("rudp-duplicate")
        check(False, _("{listener} received a line of {nick} twice: {got}").format(
            listener=listener.name, nick=nick, got=describe(got)))
    if got != expected:
        scenario.hint("rudp-order")
        check(False, _("{listener} received the lines of {nick} out of order: {got}").format(
            listener=listener.name, nick=nick, got=describe(got)))


@pytest.mark.points(3, hint="rudp-protocol")
def test_a_line_is_acknowledged_by_number_and_relayed_as_the_next_numbered_line(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    check(b"A 1" in bob.datagrams,
          _("bob's /join was line 1: the server must answer 'A 1'; it sent {got}").format(got=bob.datagrams))
    check(bob.data_numbers()[:1] == [1],
          _("the welcome must be the server's line 1 to bob; bob got {got}").format(got=bob.datagrams))
    say(scenario, bob, "hello, room")
    alice.expect("[bob] hello, room")
    check(b"D 3 [bob] hello, room" in alice.datagrams,
          _("alice's lines from the server were her welcome (1), bob's join (2), then this one (3): {got}").format(
              got=alice.datagrams))


# Each seed makes the relay's first fates the same for every submission (a flow draws its fates by position):
# carol's /join, the server's "A 1" and welcome, and carol's "A 1" pass; carol's first line is duplicated and
# both copies acknowledged; then, with loss, alice's first line to carol is lost. Later fates depend on when
# retransmissions happen; a reliable server delivers right whatever they are.
@pytest.mark.parametrize("loss, seed", [(0.0, 35), (0.1, 502), (0.3, 3047)], ids=["0%", "10%", "30%"])
@pytest.mark.points(2, hint="rudp-retransmit")
def test_every_line_is_delivered_exactly_once_and_in_order_through_a_lossy_network(scenario, loss, seed):
    host = scenario.server(options={"max_tries": LOSSY_TRIES})
    alice, = scenario.join(host, "alice")
    with LossyRelay(host.address, loss=loss, duplicate=0.1, reorder=0.1, seed=seed) as relay:
        scenario.step((_("the relay loses {loss} of the datagrams each way, duplicates 10 %, reorders 10 % (seed "
                         "{seed}: carol's first line is duplicated, alice's first line lost)") if loss else
                       _("the relay loses {loss} of the datagrams each way, duplicates 10 %, reorders 10 % (seed "
                         "{seed}: carol's first line is duplicated)")).format(loss=f"{loss:.0%}", seed=seed))
        carol = through(scenario, host, relay, "carol")
        alice.expect("* carol joined", timeout=LOSSY_WAIT, patient=True)
        carols, alices = [f"carol {n}" for n in range(LINES)], [f"alice {n}" for n in range(LINES)]
        scenario.step(ngettext("carol sends {lines} line through the relay, alice {lines} directly",
                               "carol sends {lines} lines through the relay, alice {lines} directly", LINES).format(
            lines=LINES))
        for mine, hers in zip(carols, alices):
            carol.send_line(mine)
            alice.send_line(hers)
        in_order_exactly_once(scenario, alice, "carol", [f"[carol] {line}" for line in carols])
        in_order_exactly_once(scenario, carol, "alice", [f"[alice] {line}" for line in alices])


@pytest.mark.points(3, hint="rudp-retransmit")
def test_a_line_that_is_not_acknowledged_is_sent_again_within_a_second(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.step(_("bob stops acknowledging: to the server, every line it sends him is lost"))
    bob.acking = False
    say(scenario, alice, "are you there?")
    wanted = b"D 2 [alice] are you there?"  # bob's line 1 was his welcome
    scenario.step(_("the server must send bob that line again within 1 s (its timeout is at most 1 s)"))
    check(bob.wait_for(lambda got: got.count(wanted) >= 2, timeout=2.0),
          ngettext("bob never acknowledged {line}, yet the server sent it {count} time in 2 s: a line not "
                   "acknowledged must be sent again when its timeout passes",
                   "bob never acknowledged {line}, yet the server sent it {count} times in 2 s: a line not "
                   "acknowledged must be sent again when its timeout passes", bob.datagrams.count(wanted)).format(
              line=repr(wanted), count=bob.datagrams.count(wanted)))
    bob.acking = True
    bob.ack(2)
    scenario.step(_("bob acknowledges it: 'A 2'; then alice sends a sentinel, which bob must get"))
    say(scenario, alice, "sentinel")
    bob.expect("[alice] sentinel")


@pytest.mark.points(3, hint="rudp-duplicate")
def test_a_line_whose_acknowledgement_was_lost_is_acknowledged_again_and_relayed_once(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    raw(scenario, bob, b"D 2 only once", _("(line 2)"))
    raw(scenario, bob, b"D 2 only once", _("(the same again: as if the server's 'A 2' had been lost)"))
    scenario.step(_("the server must acknowledge both copies with 'A 2'"))
    acked = bob.wait_for(lambda got: got.count(b"A 2") >= 2, timeout=2.0)
    bob.next_seq = 3
    say(scenario, bob, "sentinel")
    alice.expect("[bob] sentinel")
    got = chat_from(alice, "bob")
    check(got == ["[bob] only once", "[bob] sentinel"],
          _("alice received {got}: a copy of a line already delivered must not be delivered again").format(
              got=describe(got)))
    check(acked, _("the server answered the two copies of line 2 with {got}: a copy must be acknowledged again "
                   "(its first acknowledgement may have been lost), or bob sends it for ever").format(
        got=bob.datagrams))


@pytest.mark.points(3, hint="rudp-order")
def test_a_line_that_overtakes_the_one_before_it_is_delivered_after_it(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    raw(scenario, bob, b"D 3 second", _("(line 3 overtakes line 2 on the way)"))
    raw(scenario, bob, b"D 2 first", _("(line 2 arrives late)"))
    bob.next_seq = 4
    scenario.step(_("line 3 may be kept until line 2 comes, or dropped and sent again"))
    if not bob.wait_for(lambda got: b"A 3" in got, timeout=1.0):
        raw(scenario, bob, b"D 3 second", _("(line 3 again: the server had not acknowledged it)"))
    say(scenario, bob, "sentinel")
    alice.expect("[bob] sentinel")
    got = chat_from(alice, "bob")
    check(got == ["[bob] first", "[bob] second", "[bob] sentinel"],
          _("alice received {got}: line 3 must be delivered after line 2, once, whatever order they came in").format(
              got=describe(got)))


@pytest.mark.points(3, hint="rudp-ack")
def test_an_acknowledgement_covers_only_lines_delivered(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    before = len(bob.datagrams)
    raw(scenario, bob, b"D 3 second", _("(line 2 was lost on the way)"))
    raw(scenario, bob, b"D 1 /join bob", _("(a copy of line 1: its answer, 'A 1', comes after the answer to line 3)"))
    scenario.step(_("the server must answer line 3 with 'A 1': lines 1 and 2 are not all there, so it cannot say "
                    "'A 3'"))
    check(bob.wait_for(lambda got: sum(d.startswith(b"A ") for d in got[before:]) >= 2, timeout=2.0),
          _("the server did not answer lines 3 and 1 with an acknowledgement each: {got}").format(
              got=bob.datagrams[before:]))
    acks = [d for d in bob.datagrams[before:] if d.startswith(b"A ")]
    check(set(acks) == {b"A 1"}, _("the server answered {acks} while line 2 was missing: bob would never send line 2 "
                                   "again, and it would be lost; 'A n' means every line up to n was delivered").format(
        acks=acks))


@pytest.mark.points(2, hint="key-by-address")
def test_two_clients_on_one_ip_keep_their_numbers_apart(scenario):
    host = scenario.server()
    alice, bob, carol = scenario.join(host, "alice", "bob", "carol")
    raw(scenario, alice, b"D 2 from alice", _("(alice's line 2)"))
    raw(scenario, bob, b"D 2 from bob", _("(bob's line 2: the same number from the same IP, another port)"))
    alice.next_seq = bob.next_seq = 3
    say(scenario, alice, "sentinel a")
    say(scenario, bob, "sentinel b")
    carol.expect("[alice] sentinel a")
    carol.expect("[bob] sentinel b")
    check("[alice] from alice" in carol.texts() and "[bob] from bob" in carol.texts(),
          _("carol received {got}: each address numbers its lines on its own").format(got=describe(carol.texts())))


@pytest.mark.points(3, hint="rudp-give-up")
def test_a_member_that_vanished_is_given_up_after_max_tries_not_retried_for_ever(scenario):
    host = scenario.server(options={"max_tries": 4})
    alice, bob = scenario.join(host, "alice", "bob")
    scenario.step(_("bob vanishes: he acknowledges nothing any more"))
    bob.acking = False
    say(scenario, alice, "anyone?")
    scenario.step(_("after 4 sends of that line to bob (at most 1 s apart) the server must give bob up"))
    alice.expect("* bob left", timeout=6.0, patient=True)
    copies = bob.data_numbers().count(2)
    check(copies <= 4, ngettext("the server sent bob his line 2 {count} time, with max_tries=4",
                                "the server sent bob his line 2 {count} times, with max_tries=4", copies).format(
        count=copies))
    scenario.step(_("bob is forgotten: for 0.5 s no more datagram may reach him"))
    check(not bob.wait_for(lambda got: len(got) > copies + 2, timeout=0.5),
          _("the server kept sending to bob after giving him up: {got}").format(got=describe(bob.datagrams)))


@pytest.mark.points(2, hint="rudp-timer-spin")
def test_the_server_rests_while_idle_and_while_it_waits_for_an_acknowledgement(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    share = scenario.busy_share_while_idle(host)
    check(share < SPIN_SHARE, _("the server kept {share} of a core busy while nothing happened").format(
        share=f"{share:.0%}"))
    bob.acking = False
    say(scenario, alice, "waiting for bob", _("(bob acknowledges nothing: a retransmission timer runs)"))
    share = scenario.busy_share_while_idle(host)
    check(share < SPIN_SHARE, _("the server kept {share} of a core busy while it waited to send bob a line again: a "
                                "timer must sleep until its deadline (select with a timeout, Event.wait), not poll"
                                ).format(share=f"{share:.0%}"))


@pytest.mark.points(3, hint="rudp-timeout")
def test_a_slow_network_is_measured_and_not_flooded_with_copies(scenario):
    host = scenario.server(options={"max_tries": 2 * LOSSY_TRIES})  # a flooding server must not give up first
    alice, = scenario.join(host, "alice")
    with LossyRelay(host.address, loss=0.1, seed=3) as relay:  # seed 3: the join passes, alice's first line is lost
        carol = through(scenario, host, relay, "carol")
        carol.ack_delay = 0.4
        scenario.step(ngettext("carol acknowledges each line 0.4 s late; the relay loses 10 %; alice sends {lines} "
                               "line, each once carol has the one before (so every line waits for its own "
                               "acknowledgement)",
                               "carol acknowledges each line 0.4 s late; the relay loses 10 %; alice sends {lines} "
                               "lines, each once carol has the one before (so every line waits for its own "
                               "acknowledgement)", LINES).format(lines=LINES))
        lines = [f"line {n}" for n in range(LINES)]
        for number, line in enumerate(lines, 2):  # carol's line 1 was her welcome
            alice.send_line(line)
            carol.expect(f"[alice] {line}", timeout=LOSSY_WAIT, patient=True)
            acked = f"A {number}".encode()
            relay.log.wait_for(lambda fates: any(f.to_server and f.data == acked and f.fate != "lost" for f in fates),
                               LOSSY_WAIT)
        each_once_in_order(scenario, carol, "alice", [f"[alice] {line}" for line in lines])
        sent = [f for f in relay.snapshot() if not f.to_server and f.data.startswith(b"D ")]
        most = 3 / (1 - 0.1) * (LINES + 1)
        check(len(sent) <= most, ngettext("the server sent {sent} data datagram to carol for {lines} lines: at 10 % "
                                          "loss the fewest possible is 1 / 0.9 a line; {most} is 3 times that",
                                          "the server sent {sent} data datagrams to carol for {lines} lines: at 10 % "
                                          "loss the fewest possible is 1 / 0.9 a line; {most} is 3 times that",
                                          len(sent)).format(
            sent=len(sent), lines=LINES + 1, most=f"{most:.0f}"))


@pytest.mark.points(2, hint="rudp-bad-datagram")
def test_garbage_a_number_far_ahead_and_an_acknowledgement_for_nothing_do_no_harm(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    bob.acking = False
    say(scenario, alice, "for bob", _("(bob does not acknowledge it yet)"))
    bob.wait_for(lambda got: b"D 2 [alice] for bob" in got)
    raw(scenario, bob, b"hello?", _("(neither data nor an acknowledgement)"))
    raw(scenario, bob, b"D 999999 far ahead", _("(a number far ahead)"))
    raw(scenario, bob, b"A 77", _("(an acknowledgement of a line the server never sent)"))
    scenario.step(_("line 2 to bob is still not acknowledged: the server must send it again"))
    check(bob.wait_for(lambda got: got.count(b"D 2 [alice] for bob") >= 2, timeout=2.0),
          _("after 'A 77' the server stopped sending line 2, which bob never acknowledged: {got}").format(
              got=describe(bob.datagrams)))
    bob.acking = True
    bob.ack(2)
    say(scenario, bob, "sentinel")
    alice.expect("[bob] sentinel")
    got = chat_from(alice, "bob")
    check(got == ["[bob] sentinel"],
          _("alice received {got}: only bob's numbered line in turn is chat").format(got=describe(got)))


@pytest.mark.points(3, bonus=True, hint="rudp-window")
def test_bonus_a_window_sends_several_lines_to_a_member_before_the_first_is_acknowledged(scenario):
    host = scenario.server()
    alice, bob = scenario.join(host, "alice", "bob")
    bob.acking = False
    for number in range(4):
        say(scenario, alice, f"burst {number}")
    scenario.step(_("bob acknowledges nothing: a sliding window still sends him lines 2 to 5"))
    check(bob.wait_for(lambda got: {2, 3, 4, 5} <= set(bob.data_numbers()), timeout=2.0),
          _("bob received only lines {numbers}: stop-and-wait sends one line at a time").format(
              numbers=sorted(set(bob.data_numbers()))))


@pytest.mark.points(2, bonus=True, hint="rudp-fast-retransmit")
def test_bonus_two_repeated_acknowledgements_get_the_missing_line_sent_again_at_once(scenario):
    host = scenario.server()
    alice, = scenario.join(host, "alice")
    scenario.step(_("bob joins and acknowledges his welcome only once it came twice: the server's timeout for "
                    "him backs off to 1 s, and no round-trip sample brings it down (Karn's rule); a server that "
                    "never sends a line again by its timeout sends it once, and bob acknowledges it after 2 s"))
    bob = ReliableDatagramClient(host.address, "bob")
    host.clients.append(bob)
    bob.acking = False
    bob.send_line("/join bob")
    bob.wait_for(lambda got: got.count(b"D 1 * welcome bob") >= 2, timeout=2.0)
    bob.ack(1)
    alice.expect("* bob joined")
    for number in range(3):
        say(scenario, alice, f"line {number}")
    check(bob.wait_for(lambda got: {2, 3, 4} <= set(bob.data_numbers()), timeout=2.0),
          _("bob received only lines {numbers}: stop-and-wait sends one line at a time").format(
              numbers=sorted(set(bob.data_numbers()))))
    raw(scenario, bob, b"A 1", _("(lines 3 and 4 reached bob, line 2 did not: as if it were lost)"))
    raw(scenario, bob, b"A 1", _("(the same again: two acknowledgements in a row that cover nothing new)"))
    say(scenario, bob, "hi", _("(the server reads it after the two 'A 1', and answers it with 'A 2')"))
    missing = b"D 2 [alice] line 0"
    copies = [index for index, data in enumerate(bob.datagrams) if data == missing]
    answer = bob.datagrams.index(b"A 2")
    check(len(copies) >= 2 and copies[1] < answer,
          _("after two repeated 'A 1', bob got the server's 'A 2' before a second copy of {line} (it came only "
            "when its timeout passed, if at all): bob received {got}").format(
              line=repr(missing), got=describe(bob.datagrams[copies[0]:])))
