"""Lab 1, TCP echo (PROTOCOL.md, "Lab 1"): every byte back, in order, until the client half-closes."""
import pytest

from grader.catalog import find_lab

LAB = find_lab("lab1")


def echo_of(scenario, host, payload: bytes) -> bytes:
    """Send `payload` (reading meanwhile), half-close, and return every byte that came back."""
    client = scenario.connect(host, "client")
    scenario.send(client, payload, "then shutdown(SHUT_WR)")
    client.half_close()
    client.expect_closed()
    return bytes(client.stream)


@pytest.mark.points(2, hint="echo-tail")
def test_a_line_comes_back_unchanged(scenario):
    host = scenario.server()
    client = scenario.connect(host, "client")
    scenario.send(client, "hello, echo")
    client.expect("hello, echo")


@pytest.mark.points(3, hint="echo-tail")
def test_fourteen_kilobytes_of_cyrillic_come_back_whole_after_a_half_close(scenario):
    host = scenario.server()
    payload = "Привет, мир! ".encode() * 1100
    received = echo_of(scenario, host, payload)
    assert received == payload, f"{len(received)} of {len(payload)} bytes came back"


@pytest.mark.points(2, hint="sendall")
def test_echo_is_complete_when_send_is_allowed_to_send_only_a_few_bytes(scenario):
    host = scenario.server(faults={"send_cap": 7})
    payload = b"sendall, not send: " * 50
    received = echo_of(scenario, host, payload)
    assert received == payload, f"{len(received)} of {len(payload)} bytes came back"


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
