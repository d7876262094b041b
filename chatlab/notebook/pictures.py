"""Pictures of what a wiretap captured: a sequence diagram, and a timeline of threads.

Both take the `WireEvent`s of a `chatlab.harness.wiretap.Wiretap` (the server's own recv and send
calls, with the bytes and the thread that made them) and a `names` map from a client's
address to its name. They return matplotlib Figures built without pyplot (no global state,
safe in any thread); `png(figure)` renders one, and the notebooks display that. Their own words
(default titles, the timeline's axis) are in the notebook's language (`chatlab.notebook.language`).
"""
from __future__ import annotations

import io

from matplotlib.figure import Figure

from chatlab.harness.wiretap import WireEvent
from chatlab.notebook.language import words

SERVER = "server"


def label(data: bytes, limit: int = 38) -> str:
    """Bytes as a reader wants them on a picture: decoded, newlines shown as \\n, cut if long."""
    text = data.decode("utf-8", errors="backslashreplace").replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def sequence_diagram(events: list[WireEvent], names: dict[tuple, str], title: str = "") -> Figure:
    """Who sent what to whom, top to bottom in the order the server saw it.

    One lifeline per client and one for the server; each recv() is an arrow into the server,
    each send into a client, labelled with the exact bytes of that one call.
    """
    events = [event for event in events if event.peer in names]
    lanes = list(dict.fromkeys(names.values()))
    middle = len(lanes) // 2
    lanes.insert(middle, SERVER)
    x = {lane: index for index, lane in enumerate(lanes)}
    figure = Figure(figsize=(2.2 * len(lanes) + 1, 0.42 * len(events) + 1.4))
    axes = figure.subplots()
    bottom = len(events) + 0.5
    for lane, position in x.items():
        axes.plot([position, position], [-0.5, bottom], color="0.75", lw=1, zorder=0)
        axes.text(position, -0.8, lane, ha="center", va="bottom", fontsize=11, weight="bold",
                  bbox={"boxstyle": "round", "fc": "#dde8f7" if lane == SERVER else "#f3f3f3", "ec": "0.5"})
    for row, event in enumerate(events, start=1):
        client = x[names[event.peer]]
        start, end = (client, x[SERVER]) if event.inbound else (x[SERVER], client)
        colour = "#1f6fb4" if event.inbound else "#c2571a"
        axes.annotate("", xy=(end, row), xytext=(start, row),
                      arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.4})
        axes.text((start + end) / 2, row - 0.12, label(event.data), ha="center", va="bottom",
                  fontsize=8.5, family="monospace", color=colour,
                  bbox={"fc": "white", "ec": "none", "pad": 0.3})  # readable where it crosses a lifeline
        axes.text(-0.55, row, f"{event.time * 1000:.1f} ms", ha="right", va="center", fontsize=7, color="0.45")
    axes.set_xlim(-1.1, len(lanes) - 0.4)
    axes.set_ylim(bottom, -1.3)
    axes.axis("off")
    axes.set_title(title or words("sequence-title"), fontsize=10)
    return figure


def thread_timeline(events: list[WireEvent], names: dict[tuple, str], title: str = "") -> Figure:
    """Which server thread received or sent which line, and when: one row per thread.

    A row is named after the thread and the client(s) it served, so a student can see the
    reader of alice receive her line and the writers of bob and carol send it on.
    """
    events = [event for event in events if event.peer in names]
    threads = list(dict.fromkeys(event.thread for event in events))
    served = {thread: sorted({names[e.peer] for e in events if e.thread == thread}) for thread in threads}
    colours = dict(zip(dict.fromkeys(names.values()), ["#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]))
    figure = Figure(figsize=(11, 0.55 * len(threads) + 1.6))
    axes = figure.subplots()
    for row, thread in enumerate(threads):
        axes.axhline(row, color="0.9", lw=6, zorder=0)
        for event in (e for e in events if e.thread == thread):
            name = names[event.peer]
            axes.scatter(event.time * 1000, row, marker="o" if event.inbound else ">", s=60,
                         color=colours.get(name, "black"), zorder=2)
            arrow = words("timeline-from") if event.inbound else words("timeline-to")
            axes.annotate(f"{arrow} {name}: {label(event.data, 24)}", (event.time * 1000, row),
                          xytext=(4, 7), textcoords="offset points", fontsize=7, rotation=12)
    axes.set_yticks(range(len(threads)), [f"{thread}\n({', '.join(served[thread])})" for thread in threads],
                    fontsize=8)
    axes.set_ylim(len(threads) - 0.4, -0.8)
    axes.set_xlabel(words("timeline-axis"))
    axes.set_title(title or words("timeline-title"), fontsize=10)
    axes.spines[["top", "right", "left"]].set_visible(False)
    return figure
