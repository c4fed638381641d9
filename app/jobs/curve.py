"""A job's curve points as SVG polylines, so the page can draw training curves without a JS library."""

from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 640, 200, 8


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # "x,y x,y ..." in the SVG's coordinates
    low: float
    high: float
    last: float


def series(
    points: list[dict[str, Any]], *, x: str = "step", skip: tuple[str, ...] = ("epoch",)
) -> list[Series]:
    """One polyline per numeric key (other than `x` and counters), each scaled to its own range."""
    names = sorted(
        {k for p in points for k, v in p.items() if k != x and k not in skip and isinstance(v, int | float)}
    )
    xs = [float(p.get(x, i)) for i, p in enumerate(points)]
    if not xs:
        return []
    x_low, x_high = min(xs), max(xs)
    out = []
    for name in names:
        pairs = [
            (xv, float(p[name]))
            for xv, p in zip(xs, points, strict=True)
            if isinstance(p.get(name), int | float)
        ]
        if not pairs:
            continue
        low, high = min(v for _, v in pairs), max(v for _, v in pairs)
        coords = " ".join(
            f"{_scale(xv, x_low, x_high, PAD, WIDTH - PAD):.1f},{_scale(v, low, high, HEIGHT - PAD, PAD):.1f}"
            for xv, v in pairs
        )
        out.append(Series(name=name, points=coords, low=low, high=high, last=pairs[-1][1]))
    return out


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) / (high - low) * (out_high - out_low)


@dataclass(frozen=True)
class Line:
    label: str
    points: str
    last: float


@dataclass(frozen=True)
class Overlay:
    """One metric of several runs on shared axes, so two training runs can be compared by eye."""

    name: str
    low: float
    high: float
    lines: list[Line]


def overlay(
    runs: list[tuple[str, list[dict[str, Any]]]], *, x: str = "step", skip: tuple[str, ...] = ("epoch",)
) -> list[Overlay]:
    """One chart per metric any run reported; each run's line is scaled to the range of all runs."""
    numeric = {
        k
        for _, points in runs
        for p in points
        for k, v in p.items()
        if k != x and k not in skip and isinstance(v, int | float)
    }
    charts = []
    for name in sorted(numeric):
        traces = [
            (
                label,
                [
                    (float(p.get(x, i)), float(p[name]))
                    for i, p in enumerate(points)
                    if isinstance(p.get(name), int | float)
                ],
            )
            for label, points in runs
        ]
        values = [pair for _, pairs in traces for pair in pairs]
        x_low, x_high = min(xv for xv, _ in values), max(xv for xv, _ in values)
        low, high = min(v for _, v in values), max(v for _, v in values)
        lines = [
            Line(
                label=label,
                points=" ".join(
                    f"{_scale(xv, x_low, x_high, PAD, WIDTH - PAD):.1f},"
                    f"{_scale(v, low, high, HEIGHT - PAD, PAD):.1f}"
                    for xv, v in pairs
                ),
                last=pairs[-1][1],
            )
            for label, pairs in traces
            if pairs
        ]
        charts.append(Overlay(name=name, low=low, high=high, lines=lines))
    return charts
