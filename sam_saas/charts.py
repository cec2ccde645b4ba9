"""Tiny server-side SVG charts: no CDN, no JavaScript, readable in print.

Each builder returns safe markup: an ``<svg role="img">`` with a ``<title>`` and ``<desc>``,
visible text labels and values, and every bar or point wrapped in ``<a href>`` to the filtered
changelist behind it (with its own ``<title>`` as the tooltip). All text is escaped here.
Geometry uses floats (pixels); the amounts shown are formatted by the caller.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-friendly (Okabe–Ito) with distinct lightness, so greyscale print still separates
# them; the values are printed as text anyway.
PALETTE = ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9", "#999999")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12"'

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | Decimal | float
    href: str | None = None
    value_label: str | None = None  # default: the value
    title: str | None = None  # tooltip; default "label: value_label"


@dataclass(frozen=True)
class Segment:
    label: str
    value: int
    href: str | None = None
    color: int = 0


@dataclass(frozen=True)
class Point:
    value: int | Decimal | float
    href: str | None = None
    title: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point]


def _link(href: str | None, inner: str) -> str:
    if not href:
        return inner
    return f'<a href="{escape(href)}">{inner}</a>'


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(title: str, description: str, width: int, height: int, body: list[str]) -> SafeString:
    n = next(_ids)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sam-chart" role="img" '
        f'aria-labelledby="sam-chart-{n}-title sam-chart-{n}-desc" '
        f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" {FONT}>'
        f'<title id="sam-chart-{n}-title">{escape(title)}</title>'
        f'<desc id="sam-chart-{n}-desc">{escape(description)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every part escaped above


def _empty(title: str, text: str, width: int) -> SafeString:
    body = [f'<text x="0" y="20" fill="currentColor">{escape(text)}</text>']
    return _svg(title, text, width, 32, body)


def bar_chart(
    title: str,
    bars: list[Bar],
    *,
    width: int = 640,
    label_width: int = 190,
    empty_text: str = "No data yet.",
    color: int = 0,
) -> SafeString:
    """Horizontal bars, one per row, with the label on the left and the value on the right."""
    if not bars or all(float(b.value) <= 0 for b in bars):
        return _empty(title, empty_text, width)
    row, top = 24, 6
    shown_values = [b.value_label if b.value_label is not None else f"{b.value}" for b in bars]
    value_width = max(60, 7 * max(len(v) for v in shown_values) + 12)
    area = max(150, width - label_width - value_width)
    width = label_width + area + value_width
    peak = max(float(b.value) for b in bars) or 1.0
    body = []
    for i, (bar, shown) in enumerate(zip(bars, shown_values, strict=True)):
        y = top + i * row
        tooltip = bar.title or f"{bar.label}: {shown}"
        length = max(0.0, float(bar.value)) / peak * area
        rect = (
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[color % len(PALETTE)]}"><title>{escape(tooltip)}</title></rect>'
        )
        label = (
            f'<text x="{label_width - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
            f'fill="currentColor">{escape(_short(bar.label))}<title>{escape(bar.label)}</title>'
            "</text>"
        )
        value = (
            f'<text x="{label_width + length + 6:.1f}" y="{y + row / 2 + 4:.1f}" '
            f'fill="currentColor">{escape(shown)}</text>'
        )
        body.append(_link(bar.href, rect + label + value))
    height = top * 2 + len(bars) * row
    description = "; ".join(
        f"{b.label}: {b.value_label if b.value_label is not None else b.value}" for b in bars
    )
    return _svg(title, description, width, height, body)


def stacked_bar_chart(
    title: str,
    rows: list[tuple[str, list[Segment]]],
    legend: list[tuple[str, str | None]],
    *,
    width: int = 640,
    label_width: int = 190,
    empty_text: str = "No data yet.",
) -> SafeString:
    """One horizontal bar per row, split into coloured segments; each segment is a link.
    ``legend`` lists (label, href) per colour index, drawn under the bars."""
    totals = [sum(s.value for s in segments) for _, segments in rows]
    if not rows or not any(totals):
        return _empty(title, empty_text, width)
    row, top = 26, 6
    total_width = 60
    area = width - label_width - total_width
    peak = max(totals) or 1
    body = []
    for i, ((label, segments), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * row
        x = float(label_width)
        body.append(
            f'<text x="{label_width - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
            f'fill="currentColor">{escape(_short(label))}<title>{escape(label)}</title></text>'
        )
        for segment in segments:
            if segment.value <= 0:
                continue
            length = segment.value / peak * area
            tooltip = f"{label}: {segment.label}: {segment.value}"
            inner = (
                f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
                f'fill="{PALETTE[segment.color % len(PALETTE)]}" stroke="#fff" stroke-width="1">'
                f"<title>{escape(tooltip)}</title></rect>"
            )
            if length >= 22:
                inner += (
                    f'<text x="{x + length / 2:.1f}" y="{y + row / 2 + 4:.1f}" '
                    f'text-anchor="middle" fill="#fff" font-size="11">{segment.value}</text>'
                )
            body.append(_link(segment.href, inner))
            x += length
        body.append(
            f'<text x="{x + 6:.1f}" y="{y + row / 2 + 4:.1f}" fill="currentColor">{total}</text>'
        )
    legend_y = top + len(rows) * row + 10
    x = 0.0
    for index, (name, href) in enumerate(legend):
        item = (
            f'<rect x="{x:.1f}" y="{legend_y}" width="12" height="12" '
            f'fill="{PALETTE[index % len(PALETTE)]}"></rect>'
            f'<text x="{x + 16:.1f}" y="{legend_y + 10}" fill="currentColor">{escape(name)}</text>'
        )
        body.append(_link(href, item))
        x += 16 + 7 * len(name) + 14
    height = legend_y + 20
    description = "; ".join(
        f"{label}: " + ", ".join(f"{s.label} {s.value}" for s in segments)
        for label, segments in rows
    )
    return _svg(title, description, width, height, body)


def line_chart(
    title: str,
    x_labels: list[str],
    series: list[Series],
    *,
    width: int = 640,
    height: int = 220,
    empty_text: str = "No data yet.",
) -> SafeString:
    """Lines over evenly spaced x labels (dates); every point is a link with a tooltip."""
    values = [float(p.value) for s in series for p in s.points]
    if not x_labels or not values:
        return _empty(title, empty_text, width)
    left, right, top, bottom = 56, 24, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(values) or 1.0
    peak *= 1.1
    count = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_w / 2 if count == 1 else i * plot_w / (count - 1))

    def py(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    body = []
    for step in range(5):  # gridlines and y labels
        v = peak * step / 4
        y = py(v)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="0.15"></line>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="currentColor" '
            f'font-size="11">{round(v)}</text>'
        )
    step = max(1, -(-(count - 1) // 4))  # at most five labels, so dates never overlap
    ticks = sorted({0, count - 1, *range(0, count, step)})
    if len(ticks) > 2 and ticks[-1] - ticks[-2] < step / 2:
        ticks.pop(-2)
    for i in ticks:
        anchor = (
            "start"
            if i == 0 and count > 1
            else ("end" if i == count - 1 and count > 1 else "middle")
        )
        body.append(
            f'<text x="{px(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" '
            f'fill="currentColor" font-size="11">{escape(x_labels[i])}</text>'
        )
    for index, line in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        dash = DASHES[index % len(DASHES)]
        coords = " ".join(
            f"{px(i):.1f},{py(float(p.value)):.1f}" for i, p in enumerate(line.points)
        )
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"'
            f"{dash_attr}></polyline>"
        )
        for i, point in enumerate(line.points):
            dot = (
                f'<circle cx="{px(i):.1f}" cy="{py(float(point.value)):.1f}" r="4" '
                f'fill="{color}"><title>{escape(point.title or f"{line.name}: {point.value}")}'
                "</title></circle>"
            )
            body.append(_link(point.href, dot))
    x = float(left)
    legend_y = height - 14
    for index, line in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        dash = DASHES[index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<line x1="{x:.1f}" x2="{x + 20:.1f}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
            f'stroke="{color}" stroke-width="2"{dash_attr}></line>'
            f'<text x="{x + 26:.1f}" y="{legend_y}" fill="currentColor">{escape(line.name)}</text>'
        )
        x += 26 + 7 * len(line.name) + 18
    description = "; ".join(
        f"{line.name}: " + ", ".join(f"{x_labels[i]} {p.value}" for i, p in enumerate(line.points))
        for line in series
    )
    return _svg(title, description, width, height, body)
