"""`chatlab bench`'s picture: lines delivered per second and p99 latency against the number of clients."""
from __future__ import annotations

from matplotlib.figure import Figure


def bench_plot(records) -> Figure:
    """`chatlab bench`'s picture: lines delivered per second and p99 latency against the number of clients.

    One line per server and regime (solid: interactive, dashed: saturated), from bench Records.
    """
    figure = Figure(figsize=(11, 4.2))
    throughput, latency = figure.subplots(1, 2)
    series: dict[tuple, list] = {}
    for record in records:
        series.setdefault((record.server, record.regime), []).append(record)
    colours = dict(zip(dict.fromkeys(r.server for r in records), ["#1f6fb4", "#c2571a", "#2ca02c"]))
    for (server, regime), points in series.items():
        points.sort(key=lambda r: r.clients)
        style = {"color": colours[server], "linestyle": "-" if regime == "interactive" else "--", "marker": "o",
                 "label": f"{server}, {regime}"}
        throughput.plot([r.clients for r in points], [r.lines_per_second for r in points], **style)
        latency.plot([r.clients for r in points], [r.p99_ms for r in points], **style)
    counts = sorted({r.clients for r in records})
    for axes, title in ((throughput, "lines delivered per second (higher is better)"),
                        (latency, "p99 latency, ms (lower is better)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(counts, [str(n) for n in counts])
        axes.minorticks_off()
        axes.set_xlabel("clients")
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="both", alpha=0.3)
    throughput.legend(fontsize=8)
    return figure
