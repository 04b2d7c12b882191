"""Small server-rendered SVG charts that read without JavaScript: one bar or point per label, its value written
beside it, a title and a description for screen readers. Every piece of text is escaped."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr  # nosec B406  # escapes what we write; nothing is parsed

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 24, 48
_ids = itertools.count(1)


@dataclass(frozen=True)
class Point:
    label: str  # under the bar, e.g. "Mar 2"
    value: float | None  # None: nothing to show for this label (drawn as a gap)
    shown: str  # the value as people read it, e.g. "$1,200" or "25%"


def bar_chart(title: str, description: str, points: list[Point], *, axis_label: str) -> str:
    return _chart(title, description, points, axis_label=axis_label, kind="bar")


def line_chart(title: str, description: str, points: list[Point], *, axis_label: str) -> str:
    return _chart(title, description, points, axis_label=axis_label, kind="line")


def _chart(title: str, description: str, points: list[Point], *, axis_label: str, kind: str) -> str:
    n = next(_ids)
    title_id, desc_id = f"chart-{n}-title", f"chart-{n}-desc"
    values = [p.value for p in points if p.value is not None]
    top = max([v for v in values if v > 0], default=1)
    bottom = min([v for v in values if v < 0], default=0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - bottom)

    zero = y(0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - RIGHT}" y2="{zero:.1f}" stroke="currentColor"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="currentColor"/>',
        f'<text class="axis-label" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(axis_label)}</text>',
    ]
    line: list[str] = []
    for i, p in enumerate(points):
        middle = LEFT + slot * (i + 0.5)
        parts.append(f'<text class="label" x="{middle:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="10">{escape(p.label)}</text>')
        if p.value is None:
            continue
        at = y(p.value)
        if kind == "bar":
            width = slot * 0.7
            parts.append(f'<rect class="bar" x="{middle - width / 2:.1f}" y="{min(at, zero):.1f}" width="{width:.1f}" '
                         f'height="{abs(zero - at):.1f}" fill="currentColor" fill-opacity="0.6">'
                         f'<title>{escape(p.label)}: {escape(p.shown)}</title></rect>')
        else:
            line.append(f"{middle:.1f},{at:.1f}")
            parts.append(f'<circle class="point" cx="{middle:.1f}" cy="{at:.1f}" r="3" fill="currentColor">'
                         f'<title>{escape(p.label)}: {escape(p.shown)}</title></circle>')
        parts.append(f'<text class="value" x="{middle:.1f}" y="{min(at, zero) - 4:.1f}" text-anchor="middle" '
                     f'font-size="10">{escape(p.shown)}</text>')
    if len(line) > 1:
        parts.insert(6, f'<polyline class="line" points={quoteattr(" ".join(line))} fill="none" '
                        f'stroke="currentColor" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)
