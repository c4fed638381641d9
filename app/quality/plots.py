"""The quality page's charts as server-rendered SVG: alpha per measure against Krippendorff's
thresholds, rates with Wilson intervals (side, length, gold), agreement against reliability weight per
annotator, and the time-on-task histogram with its outlier cut-offs.

Same house style as `app.leaderboard.svg` (its tag and escaping helpers): no JavaScript, every name
escaped, an accessible <title>/<desc> per chart and a hover <title> per mark.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from app.leaderboard.svg import _clip, _format, _label_width, _svg, _tag, _text
from app.quality.agreement import RELIABLE, TENTATIVE

ACCENT = "#2563eb"
WARN = "#b45309"
BAD = "#dc2626"
OK = "#15803d"
MUTED = "#6b7280"
FONT = 12.0


def _axis_group(content: str) -> str:
    return _tag(
        "g",
        content,
        class_="axis",
        font_size=11.0,
        text_anchor="middle",
        fill="currentColor",
        stroke="currentColor",
    )


def _x_axis(ticks: Sequence[float], x: Any, top: float, bottom: float, label: str, fmt: str = "{:g}") -> str:
    parts = [
        _tag("line", x1=x(t), y1=top, x2=x(t), y2=bottom, stroke_opacity=0.12)
        + _tag("line", x1=x(t), y1=bottom, x2=x(t), y2=bottom + 5)
        + _tag("text", _text(fmt.format(t)), x=x(t), y=bottom + 18, stroke="none")
        for t in ticks
    ]
    parts.append(_tag("line", x1=x(ticks[0]), y1=bottom, x2=x(ticks[-1]), y2=bottom))
    parts.append(_tag("text", _text(label), x=(x(ticks[0]) + x(ticks[-1])) / 2, y=bottom + 36, stroke="none"))
    return _axis_group("".join(parts))


def alpha_svg(rows: Sequence[dict[str, Any]], *, chart_id: str = "alphas") -> Markup:
    """One bar per measure (kind or aspect) from 0 (or the lowest alpha) to 1, with the 0.667 and 0.8
    thresholds as dashed lines; undefined alphas are listed with "n/a"."""
    if not rows:
        return Markup("")
    names = [str(r["label"]) for r in rows]
    row_height, top, name_left = 24.0, 24.0, 12.0
    plot_left = name_left + _label_width(names, 40, FONT) + 16
    width = max(640.0, plot_left + 440)
    plot_right = width - 60
    bottom = top + row_height * len(rows)
    lowest = min([0.0] + [r["alpha"] for r in rows if r["alpha"] is not None])
    low = math.floor(lowest * 5) / 5
    ticks = [round(low + 0.2 * k, 1) for k in range(round((1 - low) / 0.2) + 1)]

    def x(value: float) -> float:
        return plot_left + (value - low) / (1 - low) * (plot_right - plot_left)

    body = [_x_axis(ticks, x, top, bottom, "Krippendorff's alpha")]
    # The two labels face away from each other: the lines are close.
    for threshold, name, anchor, shift in (
        (TENTATIVE, "tentative 0.667", "end", -3),
        (RELIABLE, "0.8 reliable", "start", 3),
    ):
        body.append(
            _tag(
                "line",
                x1=x(threshold),
                y1=top - 6,
                x2=x(threshold),
                y2=bottom,
                stroke=MUTED,
                stroke_dasharray="4 3",
            )
            + _tag(
                "text",
                _text(name),
                x=x(threshold) + shift,
                y=top - 10,
                font_size=10.0,
                text_anchor=anchor,
                fill=MUTED,
            )
        )
    for k, row in enumerate(rows):
        middle = top + row_height * (k + 0.5)
        alpha = row["alpha"]
        colour = {"reliable": OK, "tentative": WARN, "unreliable": BAD}.get(row["band"], MUTED)
        hover = (
            f"{row['label']}: alpha {alpha:.3f} ({row['band']})"
            if alpha is not None
            else f"{row['label']}: undefined"
        )
        hover += f", {row['pairable_units']} units with 2+ values, {row['level']}"
        parts = [_tag("title", _text(hover))]
        parts.append(_tag("text", _text(_clip(str(row["label"]), 40)), x=name_left, y=middle + 4))
        if alpha is not None:
            start, end = sorted((x(0.0), x(alpha)))
            parts.append(
                _tag("rect", x=start, y=middle - 7, width=max(end - start, 1.0), height=14.0, fill=colour)
            )
            parts.append(_tag("text", f"{alpha:.2f}", x=max(x(alpha), x(0.0)) + 6, y=middle + 4))
        else:
            parts.append(_tag("text", "n/a", x=x(0.0) + 6, y=middle + 4, fill=MUTED))
        body.append(_tag("g", "".join(parts), class_="measure", font_size=FONT, fill="currentColor"))
    description = (
        f"Krippendorff's alpha for {len(rows)} measures; dashed lines at 0.667 (tentative) and 0.8 "
        "(reliable). "
        "Green bars are reliable, amber tentative, red unreliable."
    )
    return _svg(width, bottom + 48, chart_id, "Agreement per measure", description, "".join(body))


@dataclass(frozen=True)
class RateRow:
    label: str
    rate: dict[str, Any]
    highlight: bool = False


def rates_svg(
    rows: Sequence[RateRow],
    *,
    title: str,
    axis_label: str,
    reference: float | None = 0.5,
    reference_label: str = "50%",
    chart_id: str,
) -> Markup:
    """One row per group: its rate as a dot and its Wilson 95% interval as a whisker on a 0-100% axis,
    a dashed reference line (no bias at 50%, or a threshold); rows without votes are left out."""
    rows = [r for r in rows if r.rate["n"]]
    if not rows:
        return Markup("")
    names = [r.label for r in rows]
    row_height, top, name_left = 22.0, 24.0, 12.0
    plot_left = name_left + _label_width(names, 28, FONT) + 16
    width = max(640.0, plot_left + 420)
    plot_right = width - 90
    bottom = top + row_height * len(rows)

    def x(value: float) -> float:
        return plot_left + value * (plot_right - plot_left)

    body = [_x_axis([0.0, 0.25, 0.5, 0.75, 1.0], x, top, bottom, axis_label, "{:.0%}")]
    if reference is not None:
        body.append(
            _tag(
                "line",
                x1=x(reference),
                y1=top - 6,
                x2=x(reference),
                y2=bottom,
                stroke=MUTED,
                stroke_dasharray="4 3",
            )
            + _tag(
                "text",
                _text(reference_label),
                x=x(reference),
                y=top - 10,
                font_size=10.0,
                text_anchor="middle",
                fill=MUTED,
            )
        )
    for k, row in enumerate(rows):
        middle = top + row_height * (k + 0.5)
        rate = row.rate
        colour = BAD if row.highlight else ACCENT
        hover = (
            f"{row.label}: {rate['rate']:.1%} of {rate['n']} "
            f"(95% interval {rate['low']:.1%} to {rate['high']:.1%})"
        )
        parts = [_tag("title", _text(hover))]
        if k % 2 == 0:
            parts.append(
                _tag(
                    "rect",
                    x=0.0,
                    y=middle - row_height / 2,
                    width=width,
                    height=row_height,
                    fill="currentColor",
                    fill_opacity=0.04,
                )
            )
        parts.append(_tag("text", _text(_clip(row.label, 28)), x=name_left, y=middle + 4))
        x0, x1 = x(rate["low"]), x(rate["high"])
        whisker = (
            f"M{_format(x0)} {_format(middle)}H{_format(x1)}"
            f"M{_format(x0)} {_format(middle - 5)}V{_format(middle + 5)}"
            f"M{_format(x1)} {_format(middle - 5)}V{_format(middle + 5)}"
        )
        parts.append(_tag("path", d=whisker, stroke=colour, stroke_width=1.5, fill="none"))
        parts.append(_tag("circle", cx=x(rate["rate"]), cy=middle, r=4.0, fill=colour))
        parts.append(
            _tag(
                "text", f"{rate['rate']:.0%} (n={rate['n']})", x=plot_right + 10, y=middle + 4, font_size=11.0
            )
        )
        body.append(_tag("g", "".join(parts), class_="rate", font_size=FONT, fill="currentColor"))
    description = (
        f"{title}: {len(rows)} rows, dots are rates and whiskers Wilson 95% intervals; red rows are flagged."
    )
    return _svg(width, bottom + 48, chart_id, title, description, "".join(body))


def annotator_scatter_svg(rows: Sequence[dict[str, Any]], *, chart_id: str = "annotators") -> Markup:
    """Each annotator as a dot: agreement with the rest (x) against reliability weight (y); flagged
    annotators in red. Annotators without both numbers are left out; hover names them."""
    points = [r for r in rows if r["alpha_vs_rest"] is not None and r["dawid_skene_weight"] is not None]
    if not points:
        return Markup("")
    width, height = 640.0, 360.0
    left, right, top, bottom = 64.0, 24.0, 20.0, 52.0
    lowest = min([0.0] + [p["alpha_vs_rest"] for p in points])
    low = math.floor(lowest * 5) / 5
    x_ticks = [round(low + 0.2 * k, 1) for k in range(round((1 - low) / 0.2) + 1)]
    y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    base = height - bottom

    def x(value: float) -> float:
        return left + (value - low) / (1 - low) * (width - left - right)

    def y(value: float) -> float:
        return base - value * (base - top)

    body = [_x_axis(x_ticks, x, top, base, "Agreement with the others (alpha vs rest)")]
    y_axis = [
        _tag("line", x1=left, y1=y(t), x2=width - right, y2=y(t), stroke_opacity=0.12)
        + _tag("text", f"{t:g}", x=left - 8, y=y(t) + 4, stroke="none", text_anchor="end")
        for t in y_ticks
    ]
    y_axis.append(_tag("line", x1=left, y1=top, x2=left, y2=base))
    y_axis.append(
        _tag(
            "text",
            "Reliability weight (Dawid-Skene)",
            transform=f"translate({_format(16.0)} {_format((top + base) / 2)}) rotate(-90)",
            stroke="none",
            text_anchor="middle",
        )
    )
    body.append(
        _tag("g", "".join(y_axis), class_="axis", font_size=11.0, fill="currentColor", stroke="currentColor")
    )
    for p in points:
        flagged = bool(p["flags"])
        hover = (
            f"{p['annotator']}: alpha vs rest {p['alpha_vs_rest']:.2f}, "
            f"weight {p['dawid_skene_weight']:.2f}, {p['votes']} votes"
            + (f"; flagged: {', '.join(f['code'] for f in p['flags'])}" if flagged else "")
        )
        body.append(
            _tag(
                "g",
                _tag("title", _text(hover))
                + _tag(
                    "circle",
                    cx=x(p["alpha_vs_rest"]),
                    cy=y(p["dawid_skene_weight"]),
                    r=5.0,
                    fill=BAD if flagged else ACCENT,
                    fill_opacity=0.75,
                ),
                class_="annotator",
            )
        )
    description = (
        f"{len(points)} annotators: agreement with the others against reliability weight; flagged ones "
        "in red, trustworthy annotators sit top right."
    )
    return _svg(width, height, chart_id, "Annotators: agreement and reliability", description, "".join(body))


def time_svg(histogram: dict[str, Any], *, chart_id: str = "times") -> Markup:
    """Time on task per vote on a log axis: bars per bin, the part of each bin that is an outlier in
    red, and the fast and slow cut-offs as dashed lines."""
    bins = histogram["bins"]
    if not bins:
        return Markup("")
    width, height = 640.0, 280.0
    left, right, top, bottom = 56.0, 24.0, 28.0, 52.0
    base = height - bottom
    lo, hi = math.log10(bins[0]["low_ms"]), math.log10(bins[-1]["high_ms"])
    fast, slow = histogram.get("fast_below_ms"), histogram.get("slow_above_ms")
    for cut in (fast, slow):
        if cut:
            lo, hi = min(lo, math.log10(max(cut, 1))), max(hi, math.log10(max(cut, 1)))
    tallest = max(b["count"] for b in bins)

    def x(ms: float) -> float:
        return left + (math.log10(max(ms, 1)) - lo) / (hi - lo) * (width - left - right)

    def y(count: float) -> float:
        return base - count / tallest * (base - top)

    decades = [10.0**k for k in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
    ticks = decades if len(decades) >= 2 else [10**lo, 10**hi]

    def seconds(ms: float) -> str:
        return f"{ms / 1000:.3g} s"

    axis = [
        _tag("line", x1=x(t), y1=top, x2=x(t), y2=base, stroke_opacity=0.12)
        + _tag("line", x1=x(t), y1=base, x2=x(t), y2=base + 5)
        + _tag("text", _text(seconds(t)), x=x(t), y=base + 18, stroke="none")
        for t in ticks
    ]
    axis.append(_tag("line", x1=left, y1=base, x2=width - right, y2=base))
    axis.append(
        _tag("text", "Time on task (log scale)", x=(left + width - right) / 2, y=base + 36, stroke="none")
    )
    axis.append(
        _tag("text", _text(str(tallest)), x=left - 8, y=y(tallest) + 4, stroke="none", text_anchor="end")
    )
    axis.append(_tag("text", "0", x=left - 8, y=base + 4, stroke="none", text_anchor="end"))
    axis.append(
        _tag(
            "text",
            "Votes",
            transform=f"translate({_format(16.0)} {_format((top + base) / 2)}) rotate(-90)",
            stroke="none",
        )
    )
    body = [_axis_group("".join(axis))]
    for b in bins:
        x0, x1 = x(b["low_ms"]), x(b["high_ms"])
        hover = (
            f"{seconds(b['low_ms'])} to {seconds(b['high_ms'])}: {b['count']} votes, {b['outliers']} outliers"
        )
        bar = _tag(
            "rect",
            x=x0 + 0.5,
            y=y(b["count"]),
            width=max(x1 - x0 - 1, 1.0),
            height=base - y(b["count"]),
            fill=ACCENT,
        )
        if b["outliers"]:
            bar += _tag(
                "rect",
                x=x0 + 0.5,
                y=y(b["outliers"]),
                width=max(x1 - x0 - 1, 1.0),
                height=base - y(b["outliers"]),
                fill=BAD,
            )
        body.append(_tag("g", _tag("title", _text(hover)) + bar, class_="bin"))
    cuts = []
    for cut, name in ((fast, "too fast below"), (slow, "too slow above")):
        if cut:
            body.append(
                _tag("line", x1=x(cut), y1=top - 4, x2=x(cut), y2=base, stroke=BAD, stroke_dasharray="4 3")
            )
            cuts.append(f"{name} {seconds(cut)}")
    if cuts:
        # One legend line: the two cut-offs can be close enough for labels at the lines to collide.
        legend = "Dashed lines and red: outliers, " + ", ".join(cuts)
        body.append(_tag("text", _text(legend), x=left, y=top - 12, font_size=11.0, fill=BAD))
    total = sum(b["count"] for b in bins)
    description = (
        f"Histogram of {total} votes' time on task on a log scale; red parts are outliers beyond the "
        "dashed cut-offs."
    )
    return _svg(width, height, chart_id, "Time on task", description, "".join(body))
