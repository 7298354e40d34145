"""Charts drawn on the server as inline SVG (no chart script in the browser): a bar chart and a trend line."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 260, 48, 56, 16


def _nice(largest: float) -> float:
    """A round axis maximum at or above the largest value (1, 2 or 5 times a power of ten)."""
    if largest <= 0:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= largest)


def _frame(title: str, body: list[str], maximum: float, unit: str) -> Markup:
    plot_h = HEIGHT - BOTTOM - TOP
    grid = []
    for i in range(5):
        value = maximum * i / 4
        y = TOP + plot_h - plot_h * i / 4
        grid.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="#dde2e8"/>'
                    f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                    f'{value:.3g}{escape(unit)}</text>')  # fmt: skip
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>' + "".join(grid) + "".join(body) + "</svg>"
    )


def bar_chart(title: str, labels: list[str], values: list[float | None], unit: str = "") -> Markup:
    """Vertical bars, one per label (None draws no bar)."""
    shown = [v or 0 for v in values]
    maximum = _nice(max(shown, default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(labels), 1)
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step + step * 0.15
        h = plot_h * (value or 0) / maximum
        y = TOP + plot_h - h
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="#2f6fb0">'
            f"<title>{escape(label)}: {escape(value if value is not None else '-')}</title></rect>"
        )
        body.append(f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                    f'font-size="11" fill="#333">{escape(label[:10])}</text>')  # fmt: skip
    return _frame(title, body, maximum, unit)


def trend_chart(title: str, labels: list[str], series: dict[str, list[float | None]], unit: str = "") -> Markup:
    """One line per series over the labels (months or quarters)."""
    colours = ["#2f6fb0", "#c0392b", "#27864a", "#b7791f"]
    everything = [v for values in series.values() for v in values if v is not None]
    maximum = _nice(max(everything, default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(labels) - 1, 1)
    body = []
    for n, (name, values) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        points = [(LEFT + i * step, TOP + plot_h - plot_h * v / maximum) for i, v in enumerate(values) if v is not None]
        if points:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')  # fmt: skip
            body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
        body.append(
            f'<rect x="{LEFT + n * 150}" y="{HEIGHT - 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + n * 150 + 14}" y="{HEIGHT - 9}" font-size="11">{escape(name)}</text>'
        )
    for i, label in enumerate(labels):
        body.append(f'<text x="{LEFT + i * step:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                    f'fill="#333">{escape(label)}</text>')  # fmt: skip
    return _frame(title, body, maximum, unit)
