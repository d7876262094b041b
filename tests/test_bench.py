"""`chatlab bench` runs on a small load and counts right; no figure here is a timed assertion."""
import asyncio
import json
import threading

from grader.bench import BenchServer, main as bench_command
from grader.bench_load import hold_idle, run_load
from grader.bench_peer import AsyncioChatPeer


def test_chatlab_bench_runs_a_small_load_and_writes_its_table_json_and_plot(tmp_path, capsys):
    figures, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    assert bench_command(["lab3", "--clients", "3,6", "--messages", "4", "--repeat", "1",
                          "--json", str(figures), "--png", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "[8/8]" in out and "asyncio peer" in out and "ratio" in out
    records = json.loads(figures.read_text())["records"]
    assert {(r["server"], r["regime"], r["clients"]) for r in records} == {
        (server, regime, n) for server in ("lab3 (solutions)", "asyncio peer")
        for regime in ("interactive", "saturated") for n in (3, 6)}
    for record in records:
        assert record["lost"] == 0 and record["duplicated"] == 0, record
        assert record["lines_per_second"] > 0 and record["p99_ms"] >= record["p50_ms"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG")


class FaultyPeer(AsyncioChatPeer):
    """Loses c0's line 1 for everyone and sends c1's line 2 to everyone twice."""

    def broadcast(self, text, sender=None):
        if text.startswith("[c0] 1 "):
            return
        super().broadcast(text, sender)
        if text.startswith("[c1] 2 "):
            super().broadcast(text, sender)


def serve_in_a_thread(peer):
    listening, address = threading.Event(), []
    thread = threading.Thread(target=lambda: asyncio.run(peer.serve(lambda where: (address.extend(where),
                                                                                    listening.set()))),
                              daemon=True)
    thread.start()
    assert listening.wait(10)
    return tuple(address)


def test_the_load_counts_each_lost_and_duplicated_line_exactly():
    address = serve_in_a_thread(FaultyPeer())
    result = run_load(address, clients=4, messages=5, regime="saturated", deadline=30, quiet=2)
    assert (result.expected, result.lost, result.duplicated) == (4 * 3 * 5, 3, 3)
    assert result.delivered == result.expected - 3 == len(result.latencies)


def test_a_bench_server_answers_each_stats_request_in_turn():
    server = BenchServer(["peer"])
    try:
        first, second = server.stats(), server.stats()
    finally:
        server.close()
    assert second["cpu_seconds"] >= first["cpu_seconds"] > 0
    assert first["peak_rss_mib"] is None or first["peak_rss_mib"] > 1


def test_idle_clients_stay_connected_while_two_others_talk():
    server = BenchServer(["lab3", "solutions"])
    try:
        result = hold_idle(server.address, idle=40, lines=20, deadline=60)
    finally:
        server.close()
    assert (result.still_connected, result.relayed) == (40, 20)


def test_a_server_that_cannot_serve_gets_a_clear_error_not_a_hang(capsys):
    assert bench_command(["lab3", "--target", "labs", "--clients", "3", "--messages", "2", "--repeat", "1"]) == 2
    assert "not implemented yet: ChatServer.serve_forever" in capsys.readouterr().err
