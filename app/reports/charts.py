"""Bar and line charts rendered on the server as inline SVG: no CDN, no JavaScript library, and
the same picture in the browser, a PDF or a saved page. Every label is escaped (labels come from
users: établissement names, certification titles)."""
from __future__ import annotations

import math

from markupsafe import Markup, escape

PALETTE = ["#2f6fb0", "#3f9b5a", "#d08a1e", "#b83b3b", "#7a55b3", "#2a9d9a"]
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def nice_scale(maximum: float, ticks: int = 5) -> tuple[float, float]:
    """(top of the axis, step): a round step so that tick labels read 0, 5, 10… or 0, 200…"""
    if maximum <= 0:
        return float(ticks), 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    # Charts show numbers of dossiers: whole steps only.
    step = max(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 1)
    return step * math.ceil(maximum / step), step


def _fmt(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if float(value).is_integer() else f"{value:.1f}"


def _short(label: str, size: int = 22) -> str:
    label = str(label)
    return label if len(label) <= size else label[: size - 1] + "…"


class _Frame:
    """Plot area, y axis with grid lines, x labels and legend shared by both charts."""

    def __init__(self, labels, series, title, width, height):
        self.labels = [str(x) for x in labels]
        self.series = [(str(name), [v or 0 for v in values]) for name, values in series]
        self.title, self.width, self.height = title, width, height
        rotate = len(self.labels) > 6 or any(len(x) > 12 for x in self.labels)
        self.rotate = rotate
        self.left, self.right, self.top = 56, 16, 40
        self.bottom = 110 if rotate else 56
        self.plot_w = width - self.left - self.right
        self.plot_h = height - self.top - self.bottom
        peak = max([v for _, vs in self.series for v in vs] or [0])
        self.ymax, self.ystep = nice_scale(peak)

    def y(self, value):
        return self.top + self.plot_h - (value / self.ymax) * self.plot_h

    def open(self, kind):
        parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="oc-chart oc-chart-{kind}" '
                  f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} '
                  f'{self.height}" role="img" aria-label="{escape(self.title)}">'),
                 f"<title>{escape(self.title)}</title>",
                 (f'<text x="{self.left}" y="18" font-size="14" font-weight="bold" {FONT}>'
                  f"{escape(self.title)}</text>")]
        value = 0.0
        while value <= self.ymax + 1e-9:
            y = self.y(value)
            parts.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.width - self.right}" '
                         f'y2="{y:.1f}" stroke="#e2e2e2"/>')
            parts.append(f'<text x="{self.left - 6}" y="{y + 4:.1f}" font-size="11" '
                         f'text-anchor="end" fill="#555" {FONT}>{_fmt(value)}</text>')
            value += self.ystep
        base = self.top + self.plot_h
        parts.append(f'<line x1="{self.left}" y1="{base}" x2="{self.width - self.right}" '
                     f'y2="{base}" stroke="#888"/>')
        return parts

    def x_label(self, x, label):
        y = self.top + self.plot_h + 14
        text = escape(_short(label))
        if self.rotate:
            return (f'<text x="{x:.1f}" y="{y}" font-size="11" fill="#333" text-anchor="end" '
                    f'transform="rotate(-35 {x:.1f} {y})" {FONT}><title>{escape(label)}</title>'
                    f"{text}</text>")
        return (f'<text x="{x:.1f}" y="{y}" font-size="11" fill="#333" text-anchor="middle" '
                f"{FONT}><title>{escape(label)}</title>{text}</text>")

    def legend(self):
        parts, x = [], self.left
        y = self.height - 12
        for i, (name, _) in enumerate(self.series):
            color = PALETTE[i % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
            parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" {FONT}>{escape(name)}</text>')
            x += 24 + 7 * len(name)
        return parts


def bar_chart(labels, series, title="", width=760, height=340) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series."""
    f = _Frame(labels, series, title, width, height)
    parts = f.open("bar")
    n = max(len(f.labels), 1)
    slot = f.plot_w / n
    bar_w = max(min(slot * 0.8 / max(len(f.series), 1), 48), 2)
    for i, label in enumerate(f.labels):
        x0 = f.left + i * slot + (slot - bar_w * len(f.series)) / 2
        for j, (name, values) in enumerate(f.series):
            value = values[i] if i < len(values) else 0
            y = f.y(value)
            h = f.top + f.plot_h - y
            parts.append(f'<rect class="oc-bar" x="{x0 + j * bar_w:.1f}" y="{y:.1f}" '
                         f'width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} — '
                         f"{escape(name)} : {_fmt(value)}</title></rect>")
        parts.append(f.x_label(f.left + i * slot + slot / 2, label))
    parts += f.legend()
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels, series, title="", width=760, height=340) -> Markup:
    """One polyline per series over ordered labels (months)."""
    f = _Frame(labels, series, title, width, height)
    parts = f.open("line")
    n = len(f.labels)
    step = f.plot_w / max(n - 1, 1)

    def x(i):
        return f.left + (i * step if n > 1 else f.plot_w / 2)
    every = max(1, math.ceil(n / 18))  # at most ~18 x labels
    for i, label in enumerate(f.labels):
        if i % every == 0 or i == n - 1:
            parts.append(f.x_label(x(i), label))
    for j, (name, values) in enumerate(f.series):
        color = PALETTE[j % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{f.y(v):.1f}" for i, v in enumerate(values[:n]))
        parts.append(f'<polyline class="oc-line" fill="none" stroke="{color}" stroke-width="2" '
                     f'points="{points}"/>')
        for i, v in enumerate(values[:n]):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{f.y(v):.1f}" r="3" fill="{color}">'
                         f"<title>{escape(f.labels[i])} — {escape(name)} : {_fmt(v)}</title>"
                         "</circle>")
    parts += f.legend()
    parts.append("</svg>")
    return Markup("".join(parts))
