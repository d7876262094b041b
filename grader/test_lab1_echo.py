"""Lab 1, TCP echo (PROTOCOL.md, "Lab 1"): every byte back, in order, until the client half-closes."""
import sys

import pytest

from chatlab.catalog import find_lab, target_dir
from chatlab.harness.clients import LineClient
from chatlab.i18n import _
from chatlab.sandbox.script import StartedScript

LAB = find_lab("lab1")


def echo_of(scenario, host, payload: bytes) -> bytes:
    """Send `payload` (reading meanwhile), half-close, and return every byte that came back."""
    client = scenario.connect(host, "client")
    scenario.send(client, payload, _("then shutdown(SHUT_WR)"))
    client.half_close()
    client.expect_closed()
    return bytes(client.stream)


@pytest.mark.points(2, hint="echo-tail")
def test_a_line_comes_back_unchanged(scenario):
    host = scenario.server()
    client = scenario.connect(host, "client")
    scenario.send(client, "hello, echo")
    client.expect("hello, echo")


@pytest.mark.points(2, hint="echo-loop")
def test_line_after_line_on_one_connection_each_comes_back(scenario):
    host = scenario.server()
    client = scenario.connect(host, "client")
    for number, line in enumerate(("first line", "second line", "third line")):
        scenario.send(client, line, _("(after the echo of the line before)") if number else "")
        client.expect(line)


@pytest.mark.points(3, hint="echo-tail")
def test_fourteen_kilobytes_of_cyrillic_come_back_whole_after_a_half_close(scenario):
    host = scenario.server()
    payload = "Привет, мир! ".encode() * 1100
    received = echo_of(scenario, host, payload)
    assert received == payload, _("{got} of {sent} bytes came back").format(got=len(received), sent=len(payload))


@pytest.mark.points(2, hint="sendall")
def test_echo_is_complete_when_send_is_allowed_to_send_only_a_few_bytes(scenario):
    host = scenario.server(faults={"send_cap": 7})
    payload = b"sendall, not send: " * 50
    received = echo_of(scenario, host, payload)
    assert received == payload, _("{got} of {sent} bytes came back").format(got=len(received), sent=len(payload))


@pytest.mark.points(3, hint="one-client")
def test_two_clients_are_served_at_the_same_time(scenario):
    host = scenario.server()
    first = scenario.connect(host, "first")
    second = scenario.connect(host, "second")
    scenario.send(second, "second, while first is still connected")
    second.expect("second, while first is still connected")
    scenario.send(first, "first")
    first.expect("first")


@pytest.mark.points(2, hint="one-client")
def test_clients_one_after_another_are_all_served(scenario):
    host = scenario.server()
    for number in range(3):
        client = scenario.connect(host, f"client{number}")
        scenario.send(client, f"number {number}")
        client.expect(f"number {number}")
        client.close()


@pytest.mark.points(2, hint="busy-loop")
def test_the_server_rests_after_clients_close_or_reset(scenario):
    host = scenario.server()
    polite = scenario.connect(host, "polite")
    scenario.send(polite, "bye")
    polite.expect("bye")
    scenario.step(_("polite closes its connection (FIN)"))
    polite.close()
    rude = scenario.connect(host, "rude")
    scenario.send(rude, "bye")
    rude.expect("bye")
    scenario.step(_("rude resets its connection (RST: SO_LINGER 1, 0)"))
    rude.reset()
    survivor = scenario.connect(host, "survivor")
    scenario.send(survivor, "still served")
    survivor.expect("still served")
    share = scenario.busy_share_while_idle(host)
    assert share < 0.5, _("the server used {share} of a core while nobody was sending anything").format(
        share=f"{share:.0%}")


@pytest.mark.points(1, hint="reuseaddr")
def test_the_server_restarts_on_the_same_port_at_once(scenario):
    first = scenario.server()
    port = first.address[1]
    client = scenario.connect(first, "client")
    scenario.send(client, "hello")
    client.expect("hello")
    scenario.step(_("the server process is killed with the client connected (so the server's side closes first "
                    "and its port is left in TIME_WAIT), then started again on the same port"))
    first.kill()
    client.expect_closed()
    second = scenario.server(options={"port": port})
    again = scenario.connect(second, "again")
    scenario.send(again, "hello again")
    again.expect("hello again")


@pytest.mark.points(1, hint="stop")
@pytest.mark.skipif(sys.platform == "win32", reason="not-checkable-sigint")  # not checkable here (hints.LABELS)
def test_ctrl_c_stops_the_server_run_as_a_script_with_a_client_connected(scenario):
    script = target_dir(scenario.target) / LAB.stem / "server.py"
    scenario.step(_("{command} runs as a person would start it").format(command=f"python {LAB.stem}/server.py --port 0"))
    with StartedScript(script) as server:
        client = LineClient(("127.0.0.1", server.port), "client")
        try:
            client.send_line("hello")
            client.expect("hello")
            scenario.step(_("Ctrl+C (SIGINT) with the client connected"))
            assert server.interrupt_and_wait(2.0), _("the server was still running 2 s after Ctrl+C")
        finally:
            client.close()


@pytest.mark.points(1, hint="stop")
def test_shutdown_makes_serve_forever_return_promptly(scenario):
    host = scenario.server()
    client = scenario.connect(host, "client")
    scenario.send(client, "hello")
    client.expect("hello")
    scenario.step(_("the grader calls shutdown() with the client connected"))
    problem = host.stop()
    assert not problem, problem
