"""The leaderboard's SVG charts: well-formed XML, accessible, names escaped, values where they belong,
the same bytes for the same board, and sizes that work from 5 to 60 systems."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from app.leaderboard.ratings import Leaderboard, Rating
from app.leaderboard.svg import axis_ticks, colour, heatmap_svg, interval_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
EVIL = '<script>&"x"'
ROWS = [
    {"system": "mid", "rating": 1003.2, "lower": 990.5, "upper": 1015.0, "rank": 2, "battles": 500},
    {"system": EVIL, "rating": 1050.0, "lower": 1030.0, "upper": 1071.25, "rank": 1, "battles": 480},
    {"system": "low", "rating": 946.8, "lower": 925.0, "upper": 968.0, "rank": 3, "battles": 510},
    {"system": "no-bootstrap", "rating": 1000.0, "lower": None, "upper": None, "rank": 2, "battles": 9},
]


def number(element: ET.Element | None, name: str) -> float:
    assert element is not None
    return float(element.get(name, "nan"))


def child(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
    title, desc = root.find("svg:title", NS), root.find("svg:desc", NS)
    assert title is not None and desc is not None and title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    width, height = number(root, "width"), number(root, "height")
    assert root.get("viewBox") == f"0 0 {width:.0f} {height:.0f}"
    return root


def test_interval_plot_is_accessible_sorted_and_escapes_names() -> None:
    svg = interval_svg(ROWS)
    root = parse(svg)
    assert "<script" not in svg and "&lt;script&gt;&amp;&quot;x&quot;" in svg
    groups = root.findall(".//svg:g[@class='system']", NS)
    labels = [g.findall("svg:text", NS)[1].text for g in groups]
    assert labels == [EVIL, "mid", "no-bootstrap", "low"]  # by rating; the name read back intact
    hovers = [child(g, "svg:title").text for g in groups]
    assert hovers[0] == f"1. {EVIL}: 1050, 95% interval 1030 to 1071, 480 battles"
    assert "no interval" in hovers[2]
    assert [g.findall("svg:text", NS)[0].text for g in groups] == ["1", "2", "2", "3"]


def test_interval_plot_puts_dots_and_whiskers_on_the_axis_scale() -> None:
    root = parse(interval_svg(ROWS))
    axis = child(root, ".//svg:g[@class='axis']")
    # Tick labels and their x positions define the scale; every drawn value must sit on it.
    ticks = [
        (float(t.text or ""), number(t, "x"))
        for t in axis.findall("svg:text", NS)
        if t.text != "Rating (Elo scale)"
    ]
    values, positions = zip(*ticks, strict=True)
    slope, intercept = np.polyfit(values, positions, 1)
    assert np.allclose(np.polyval([slope, intercept], values), positions, atol=0.06)
    assert min(values) <= 925.0 and max(values) >= 1071.25  # the axis covers every interval

    def to_value(x: float) -> float:
        return (x - intercept) / slope

    by_name = {r["system"]: r for r in ROWS}
    for group in root.findall(".//svg:g[@class='system']", NS):
        row = by_name[group.findall("svg:text", NS)[1].text or ""]
        assert to_value(number(group.find("svg:circle", NS), "cx")) == pytest.approx(row["rating"], abs=0.1)
        whisker = group.find("svg:path", NS)
        if row["lower"] is None:
            assert whisker is None
            continue
        assert whisker is not None
        drawn = re.match(r"M([\d.]+) [\d.]+H([\d.]+)", whisker.get("d", ""))
        assert drawn is not None
        start, end = (float(v) for v in drawn.groups())
        assert to_value(start) == pytest.approx(row["lower"], abs=0.1)
        assert to_value(end) == pytest.approx(row["upper"], abs=0.1)
    # Rows go down the chart in rating order.
    heights = [number(g.find("svg:circle", NS), "cy") for g in root.findall(".//svg:g[@class='system']", NS)]
    assert heights == sorted(heights)


def test_same_board_same_bytes_and_a_board_works_as_input() -> None:
    assert interval_svg(ROWS) == interval_svg(list(reversed(ROWS)))
    board = Leaderboard(
        [Rating("b", 990.0, 980.0, 1000.0, 2, 10), Rating("a", 1010.0, 1000.0, 1020.0, 1, 10)]
    )
    assert interval_svg(board) == interval_svg(
        [
            {"system": "a", "rating": 1010.0, "lower": 1000.0, "upper": 1020.0, "rank": 1, "battles": 10},
            {"system": "b", "rating": 990.0, "lower": 980.0, "upper": 1000.0, "rank": 2, "battles": 10},
        ]
    )
    assert interval_svg([]) == "" and heatmap_svg([], []) == ""


def test_characters_xml_cannot_hold_do_not_break_the_chart() -> None:
    rows = [{"system": "bad\x00name\x1b", "rating": 1000.0, "lower": 990.0, "upper": 1010.0, "rank": 1}]
    root = parse(interval_svg(rows))
    label = root.findall(".//svg:g[@class='system']/svg:text", NS)[1].text
    assert label == "bad\ufffdname\ufffd"
    parse(heatmap_svg(["ok", "bad\x07"], [[None, 0.5], [0.5, None]]))


def test_heatmap_cells_hold_the_right_rate_colour_and_hover() -> None:
    systems = [EVIL, "b", "c"]
    matrix = [[None, 0.8, 0.5], [0.2, None, None], [0.5, None, None]]
    battles = [[0, 40, 10], [40, 0, 0], [10, 0, 0]]
    svg = heatmap_svg(systems, matrix, battles=battles)
    root = parse(svg)
    assert "<script" not in svg
    labels = root.findall(".//svg:g[@class='labels']/svg:text", NS)
    assert [t.text for t in labels] == [EVIL, EVIL, "b", "b", "c", "c"]  # row and column label each
    cells = child(root, ".//svg:g[@class='cells']")
    rects = cells.findall(".//svg:rect", NS)
    assert len(rects) == 9
    xs = sorted({number(r, "x") for r in rects})
    ys = sorted({number(r, "y") for r in rects})
    found = {}
    for group in cells.findall("svg:g", NS):
        rect = child(group, "svg:rect")
        i, j = ys.index(number(rect, "y")), xs.index(number(rect, "x"))
        text = group.find("svg:text", NS)
        found[(i, j)] = (
            child(group, "svg:title").text,
            rect.get("fill"),
            None if text is None else text.text,
        )
    assert found[(0, 1)] == (f"{EVIL} vs b: won 80.0% of 40 battles", colour(0.8), "80")
    assert found[(1, 0)] == (f"b vs {EVIL}: won 20.0% of 40 battles", colour(0.2), "20")
    assert found[(0, 2)][1:] == ("#f7f7f7", "50")
    assert found[(1, 2)] == ("b vs c: never met", "#e5e5e5", None)
    assert len(found) == 6  # the diagonal has no hover


def test_the_colour_scale_diverges_around_half() -> None:
    assert colour(0.5) == "#f7f7f7" and colour(0.0) == "#b2182b" and colour(1.0) == "#2166ac"
    red, blue = colour(0.3), colour(0.7)
    assert int(red[1:3], 16) > int(red[5:7], 16) and int(blue[5:7], 16) > int(blue[1:3], 16)
    assert colour(-1) == colour(0) and colour(2) == colour(1)


@pytest.mark.parametrize("n", [5, 20, 60])
def test_sizes_work_from_5_to_60_systems(n: int) -> None:
    names = [f"system-{k:02d}-with-a-rather-long-name-indeed" for k in range(n)]
    rng = np.random.default_rng(n)
    rows = [
        {"system": s, "rating": r, "lower": r - 15, "upper": r + 15, "rank": k + 1}
        for k, (s, r) in enumerate(zip(names, sorted(rng.normal(1000, 80, n), reverse=True), strict=True))
    ]
    intervals = parse(interval_svg(rows))
    assert 640 <= number(intervals, "width") <= 900
    assert 22 * n <= number(intervals, "height") <= 22 * n + 80
    matrix = [[None if i == j else 0.5 for j in range(n)] for i in range(n)]
    heatmap = parse(heatmap_svg(names, matrix))
    assert 300 <= number(heatmap, "width") <= 1400 and number(heatmap, "height") <= 1450
    assert number(heatmap.find(".//svg:g[@class='cells']", NS), "font-size") >= 7
    shown = [t.text or "" for t in heatmap.findall(".//svg:g[@class='labels']/svg:text", NS)]
    assert all(len(t) <= 24 for t in shown) and shown[0].endswith("\u2026")


def test_axis_ticks_are_round_and_cover_the_range() -> None:
    assert axis_ticks(925, 1071.25) == [925, 950, 975, 1000, 1025, 1050, 1075]
    assert axis_ticks(1000, 1000) == [990, 995, 1000, 1005, 1010]
    ticks = axis_ticks(998.2, 1001.7)
    assert ticks[0] <= 998.2 and ticks[-1] >= 1001.7 and len(ticks) <= 10


def test_the_legend_fits_beside_a_small_grid() -> None:
    root = parse(heatmap_svg(["a", "b"], [[None, 0.6], [0.4, None]]))
    legend = root.findall(".//svg:g[@class='legend']/svg:rect", NS)
    assert len(legend) == 5
    assert max(number(r, "x") + number(r, "width") for r in legend) <= number(root, "width")
