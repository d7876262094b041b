"""`chatlab bench`'s pictures: labs 3 and 4 against the number of clients, lab 5 against the loss rate."""
from __future__ import annotations

from matplotlib.figure import Figure

from chatlab.i18n import _

COLOURS = ["#1f6fb4", "#c2571a", "#2ca02c"]  # one per contender, in the order they run


def bench_plot(records) -> Figure:
    """`chatlab bench`'s picture: lines delivered per second and p99 latency against the number of clients.

    One line per server and regime (solid: interactive, dashed: saturated), from bench Records.
    """
    figure = Figure(figsize=(11, 4.2))
    throughput, latency = figure.subplots(1, 2)
    series: dict[tuple, list] = {}
    for record in records:
        series.setdefault((record.server, record.regime), []).append(record)
    colours = dict(zip(dict.fromkeys(r.server for r in records), COLOURS))
    for (server, regime), points in series.items():
        points.sort(key=lambda r: r.clients)
        style = {"color": colours[server], "linestyle": "-" if regime == "interactive" else "--", "marker": "o",
                 "label": f"{server}, {regime}"}
        throughput.plot([r.clients for r in points], [r.lines_per_second for r in points], **style)
        latency.plot([r.clients for r in points], [r.p99_ms for r in points], **style)
    counts = sorted({r.clients for r in records})
    for axes, title in ((throughput, _("lines delivered per second (higher is better)")),
                        (latency, _("p99 latency, ms (lower is better)"))):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(counts, [str(n) for n in counts])
        axes.minorticks_off()
        axes.set_xlabel(_("clients"))
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="both", alpha=0.3)
    throughput.legend(fontsize=8)
    return figure


def loss_plot(records) -> Figure:
    """`chatlab bench lab5`'s picture: goodput, and data datagrams per delivered line, against the loss rate.

    One line per contender, from reliable.LossRecords; on the right, dashed and dotted, what
    stop-and-wait expects, 1 / (1 - p)², and the least any sender needs, 1 / (1 - p).
    """
    figure = Figure(figsize=(11, 4.2))
    goodput, cost = figure.subplots(1, 2)
    names = list(dict.fromkeys(r.server for r in records))
    for name, colour in zip(names, COLOURS):
        points = sorted((r for r in records if r.server == name), key=lambda r: r.loss)
        style = {"color": colour, "marker": "o", "label": name}
        goodput.plot([100 * r.loss for r in points], [r.lines_per_second for r in points], **style)
        cost.plot([100 * r.loss for r in points], [r.datagrams_per_line for r in points], **style)
    highest = max(r.loss for r in records)
    rates = [highest * step / 50 for step in range(51)]
    cost.plot([100 * p for p in rates], [1 / (1 - p) ** 2 for p in rates], "--", color="0.4",
              label=_("stop-and-wait expects 1/(1-p)²"))
    cost.plot([100 * p for p in rates], [1 / (1 - p) for p in rates], ":", color="0.4", label=_("least possible 1/(1-p)"))
    for axes, title in ((goodput, _("lines delivered per second (higher is better)")),
                        (cost, _("data datagrams sent per line delivered (lower is better)"))):
        axes.set_xlabel(_("datagrams lost each way, %"))
        axes.set_title(title, fontsize=10)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    goodput.set_yscale("log")
    return figure
