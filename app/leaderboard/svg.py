"""Leaderboard charts as server-rendered SVG: ratings with their 95% intervals, and the win-rate heatmap.

No JavaScript and no plotting library: elements built from the numbers, every user-supplied name
escaped, coordinates rounded to 0.1 px so that the same board always gives the same bytes. Each chart
is an accessible image (role="img", a <title> and a <desc>), and each row or cell has a <title> that
browsers show on hover.
"""

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from markupsafe import Markup

from app.leaderboard.ratings import Leaderboard
from app.leaderboard.tables import rating_rows

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
ACCENT = "#2563eb"
# Characters XML 1.0 forbids anywhere, even escaped: one in a system's name would break the page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A diverging scale, red (0%) through near-white (50%) to blue (100%): ColorBrewer's RdBu.
_SCALE = (
    (0.0, (178, 24, 43)),
    (0.25, (239, 138, 98)),
    (0.5, (247, 247, 247)),
    (0.75, (103, 169, 207)),
    (1.0, (33, 102, 172)),
)


def _text(value: object) -> str:
    """Escaped for XML text and for double-quoted attribute values."""
    return escape(_NOT_XML.sub("\ufffd", str(value)), {'"': "&quot;", "'": "&#39;"})


def _format(value: object) -> str:
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text[:-2] if text.endswith(".0") else text
    return _text(value)


def _tag(name: str, content: str = "", /, **attributes: object) -> str:
    """<name a="v"...>content</name>; `content` is markup already (use `_text` for text). Attribute
    names are keywords: a trailing _ is dropped (class_) and other underscores become dashes."""
    pairs = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{_format(value)}"' for key, value in attributes.items()
    )
    return f"<{name}{pairs}>{content}</{name}>" if content else f"<{name}{pairs}/>"


def _svg(width: float, height: float, chart_id: str, title: str, description: str, body: str) -> Markup:
    heading = _tag("title", _text(title), id=f"{chart_id}-title") + _tag(
        "desc", _text(description), id=f"{chart_id}-desc"
    )
    return Markup(
        _tag(
            "svg",
            heading + body,
            xmlns=SVG_NAMESPACE,
            role="img",
            aria_labelledby=f"{chart_id}-title {chart_id}-desc",
            width=float(round(width)),
            height=float(round(height)),
            viewBox=f"0 0 {round(width)} {round(height)}",
            class_="leaderboard-chart",
            font_family="system-ui, sans-serif",
        )
    )


def _clip(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _label_width(names: Sequence[str], limit: int, font_size: float) -> float:
    # An estimate: an average glyph is about 0.6 em wide. Long names are clipped; hovers show them whole.
    return max((min(len(n), limit) for n in names), default=0) * 0.6 * font_size


def axis_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten), the first at or below `low` and the
    last at or above `high`."""
    if not high > low:
        low, high = low - 10, high + 10
    raw = (high - low) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [k * step for k in range(math.floor(low / step), math.ceil(high / step) + 1)]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def interval_svg(
    board: Leaderboard | Sequence[Mapping[str, Any]],
    *,
    title: str = "Ratings with 95% confidence intervals",
    chart_id: str = "intervals",
) -> Markup:
    """One row per system, best first: its rating as a dot and its 95% interval as a whisker on a
    shared rating axis, with its rank and name. Takes a board or the rows `tables.to_json` stores
    (system, rating, lower, upper, rank, battles); a row without interval ends gets the dot alone.
    Empty markup when there are no rows."""
    rows = rating_rows(board) if isinstance(board, Leaderboard) else list(board)
    rows = sorted(rows, key=lambda r: (-r["rating"], str(r["system"])))
    if not rows:
        return Markup("")
    names = [str(r["system"]) for r in rows]
    row_height, top, bottom, name_left = 22.0, 10.0, 46.0, 40.0
    plot_left = name_left + _label_width(names, 32, 12) + 12
    width = max(640.0, plot_left + 420)
    plot_right = width - 24
    axis_y = top + row_height * len(rows)
    values = [v for r in rows for v in (r["rating"], r.get("lower"), r.get("upper")) if _present(v)]
    ticks = axis_ticks(min(values), max(values))

    def x(value: float) -> float:
        return plot_left + (value - ticks[0]) / (ticks[-1] - ticks[0]) * (plot_right - plot_left)

    axis = [
        _tag("line", x1=x(t), y1=top, x2=x(t), y2=axis_y, stroke_opacity=0.15)
        + _tag("line", x1=x(t), y1=axis_y, x2=x(t), y2=axis_y + 5)
        + _tag("text", f"{round(t, 6):g}", x=x(t), y=axis_y + 18, stroke="none")
        for t in ticks
    ]
    axis.append(_tag("line", x1=plot_left, y1=axis_y, x2=plot_right, y2=axis_y))
    axis.append(
        _tag("text", "Rating (Elo scale)", x=(plot_left + plot_right) / 2, y=axis_y + 38, stroke="none")
    )
    body = [
        _tag(
            "g",
            "".join(axis),
            class_="axis",
            font_size=11.0,
            text_anchor="middle",
            fill="currentColor",
            stroke="currentColor",
        )
    ]
    for k, row in enumerate(rows):
        middle = top + row_height * (k + 0.5)
        rank, lower, upper = row.get("rank", k + 1), row.get("lower"), row.get("upper")
        has_interval = _present(lower) and _present(upper)
        interval = f"95% interval {lower:.0f} to {upper:.0f}" if has_interval else "no interval"
        battles = f", {row['battles']} battles" if "battles" in row else ""
        parts = [_tag("title", _text(f"{rank}. {row['system']}: {row['rating']:.0f}, {interval}{battles}"))]
        if k % 2 == 0:  # banded rows, to follow a name across to its whisker
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
        parts.append(
            _tag("text", _text(rank), x=name_left - 8, y=middle + 4, text_anchor="end", fill_opacity=0.7)
        )
        parts.append(_tag("text", _text(_clip(str(row["system"]), 32)), x=name_left, y=middle + 4))
        if has_interval:
            x0, x1 = x(lower), x(upper)
            whisker = (
                f"M{_format(x0)} {_format(middle)}H{_format(x1)}"
                f"M{_format(x0)} {_format(middle - 5)}V{_format(middle + 5)}"
                f"M{_format(x1)} {_format(middle - 5)}V{_format(middle + 5)}"
            )
            parts.append(_tag("path", d=whisker, stroke=ACCENT, stroke_width=1.5, fill="none"))
        parts.append(_tag("circle", cx=x(row["rating"]), cy=middle, r=4.0, fill=ACCENT))
        body.append(_tag("g", "".join(parts), class_="system", font_size=12.0, fill="currentColor"))
    best = rows[0]
    description = (
        f"{len(rows)} systems by rating, best first; the highest rated is {best['system']} at "
        f"{best['rating']:.0f}. Dots are ratings, whiskers 95% bootstrap intervals."
    )
    return _svg(width, axis_y + bottom, chart_id, title, description, "".join(body))


def colour(rate: float) -> str:
    """The diverging scale's colour for a win rate in [0, 1], as #rrggbb."""
    rate = min(1.0, max(0.0, rate))
    for (left, low), (right, high) in itertools.pairwise(_SCALE):
        if rate <= right:
            t = (rate - left) / (right - left)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))
    raise AssertionError("unreachable: the rate is clamped to [0, 1]")


def heatmap_svg(
    systems: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    *,
    battles: Sequence[Sequence[int]] | None = None,
    title: str = "Observed win rates, row against column",
    chart_id: str = "heatmap",
) -> Markup:
    """matrix[i][j] (the share of its battles row i won against column j, ties as half; None: never
    met) as a grid of coloured cells with the percentage written in: red below 50, blue above.
    `battles`, when given, adds each pair's number of battles to its hover title. Empty markup when
    there are no systems."""
    n = len(systems)
    if not n:
        return Markup("")
    names = [str(s) for s in systems]
    cell = float(min(44, max(18, round(640 / n))))
    font = max(7.0, round(cell * 0.36, 1))
    grid = _label_width(names, 24, 11) + 14  # the grid's top-left corner, past both label bands
    labels = [
        _tag("text", _text(_clip(name, 24)), x=grid - 6, y=grid + k * cell + cell / 2 + 4, text_anchor="end")
        + _tag(
            "text",
            _text(_clip(name, 24)),
            transform=f"translate({_format(grid + k * cell + cell / 2 + 4)} {_format(grid - 6)}) rotate(-90)",
        )
        for k, name in enumerate(names)
    ]
    cells = []
    for i, row_name in enumerate(names):
        for j, column_name in enumerate(names):
            # A cell 1 px short of its pitch: the gap draws the grid without a stroke on every rect.
            box = {"x": grid + j * cell, "y": grid + i * cell, "width": cell - 1, "height": cell - 1}
            rate = matrix[i][j]
            if i == j:
                cells.append(_tag("rect", **box, fill="#bdbdbd"))
            elif rate is None:
                hover = _tag("title", _text(f"{row_name} vs {column_name}: never met"))
                cells.append(_tag("g", hover + _tag("rect", **box, fill="#e5e5e5")))
            else:
                count = f" of {battles[i][j]} battles" if battles is not None else ""
                hover = _tag("title", _text(f"{row_name} vs {column_name}: won {100 * rate:.1f}%{count}"))
                number = _tag(
                    "text",
                    str(round(100 * rate)),
                    x=box["x"] + cell / 2,
                    y=box["y"] + cell / 2 + font * 0.35,
                    # White ink on the dark ends of the scale; the group's dark ink elsewhere.
                    **({"fill": "#fff"} if abs(rate - 0.5) > 0.3 else {}),
                )
                cells.append(_tag("g", hover + _tag("rect", **box, fill=colour(rate)) + number))
    legend_y, swatch = grid + cell * n + 14, 28.0
    legend = [
        _tag("rect", x=grid + k * (swatch + 6), y=legend_y, width=swatch, height=10.0, fill=colour(rate))
        + _tag(
            "text",
            f"{rate:.0%}",
            x=grid + k * (swatch + 6) + swatch / 2,
            y=legend_y + 22,
            text_anchor="middle",
        )
        for k, rate in enumerate((0.0, 0.25, 0.5, 0.75, 1.0))
    ]
    body = (
        _tag("g", "".join(labels), class_="labels", font_size=11.0, fill="currentColor")
        + _tag("g", "".join(cells), class_="cells", font_size=font, text_anchor="middle", fill="#111")
        + _tag("g", "".join(legend), class_="legend", font_size=10.0, fill="currentColor")
    )
    description = (
        f"A {n} by {n} grid: each cell is the percentage of battles the row's system won against the "
        "column's system, ties counted as half; red below 50, blue above, light grey where they never met."
    )
    width = grid + max(cell * n, 5 * (swatch + 6)) + 16  # a small grid is narrower than the legend
    return _svg(width, legend_y + 30, chart_id, title, description, body)
