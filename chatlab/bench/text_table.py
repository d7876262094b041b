"""The bench's tables: columns as wide as their title or their figures, in any language."""
from __future__ import annotations


def render(columns: list[tuple[str, int, str]], rows: list[list[str]]) -> str:
    """A text table of `rows` (cells already formatted) under `columns`: (title, width, "<" or ">").

    Each column is as wide as its title or `width`, whichever is wider, so that a translated
    title ("потери" for "loss") widens its column instead of pushing the others out of line.
    """
    widths = [max(width, len(title)) for title, width, _ in columns]

    def line(cells: list[str]) -> str:
        return " ".join(f"{cell:{align}{width}}" for cell, width, (_, _, align) in zip(cells, widths, columns))

    header = line([title for title, _, _ in columns])
    return "\n".join([header, "-" * len(header), *map(line, rows)])
