"""Charts as inline SVG elements (lxml): nothing to fetch, nothing to run, works offline.

Presentation attributes only (no ``style``), so the console's Content-Security-Policy needs no
inline-style exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree
from lxml.builder import E

BAR = "#3b6ea5"
MUTED = "#9aa5b1"


def _svg(width: int, height: int, label: str) -> etree._Element:
    return E.svg(
        {
            "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}",
            "role": "img", "aria-label": label, "class": "chart",
        },
        E.title(label),
    )


def columns(values: Sequence[int], labels: Sequence[str], label: str, *, width: int = 240,
            height: int = 48) -> etree._Element:
    """A small column chart (one column per value, oldest left); each column has a tooltip."""
    svg = _svg(width, height, label)
    top = max(values, default=0) or 1
    step = width / max(len(values), 1)
    for i, (value, name) in enumerate(zip(values, labels, strict=True)):
        h = 0 if not value else max(1.0, (height - 2) * value / top)
        svg.append(
            E.rect(
                {
                    "x": f"{i * step + 1:.1f}", "y": f"{height - h:.1f}",
                    "width": f"{max(step - 2, 1):.1f}", "height": f"{h:.1f}",
                    "fill": BAR if value else MUTED,
                },
                E.title(f"{name}: {value}"),
            )
        )
    svg.append(
        E.line({"x1": "0", "y1": str(height - 0.5), "x2": str(width), "y2": str(height - 0.5),
                "stroke": MUTED, "stroke-width": "1"})
    )
    return svg


def bars(items: Sequence[tuple[str, int]], label: str, *, width: int = 560) -> etree._Element:
    """Horizontal bars with their names and counts written out (readable without hovering)."""
    row, name_width = 22, 190
    height = max(len(items), 1) * row + 4
    svg = _svg(width, height, label)
    top = max((n for _, n in items), default=0) or 1
    span = width - name_width - 70
    for i, (name, value) in enumerate(items):
        y = i * row + 2
        w = max(1.0, span * value / top)
        svg.append(E.text({"x": "0", "y": str(y + 15), "font-size": "13"}, name))
        svg.append(
            E.rect(
                {"x": str(name_width), "y": str(y + 3), "width": f"{w:.1f}",
                 "height": str(row - 6), "fill": BAR},
                E.title(f"{name}: {value}"),
            )
        )
        svg.append(
            E.text({"x": f"{name_width + w + 6:.1f}", "y": str(y + 15), "font-size": "13"},
                   str(value))
        )
    return svg
