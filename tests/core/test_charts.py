from __future__ import annotations

import xml.etree.ElementTree as ET

from practice.core.charts import Point, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bar_chart_has_a_bar_label_and_value_per_point_and_names_itself():
    root = parse(bar_chart("Trials", "Trial bookings each week.",
                           [Point("Mar 2", 3, "3"), Point("Mar 9", 0, "0"), Point("Mar 16", 5, "5")],
                           axis_label="Bookings"))
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Trials" and desc.text == "Trial bookings each week."
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = root.findall(f"{SVG}rect[@class='bar']")
    assert [b.find(f"{SVG}title").text for b in bars] == ["Mar 2: 3", "Mar 9: 0", "Mar 16: 5"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[2] > heights[0] > heights[1] == 0
    assert [t.text for t in root.findall(f"{SVG}text[@class='label']")] == ["Mar 2", "Mar 9", "Mar 16"]
    assert [t.text for t in root.findall(f"{SVG}text[@class='value']")] == ["3", "0", "5"]
    assert root.find(f"{SVG}text[@class='axis-label']").text == "Bookings"


def test_negative_bars_go_below_the_axis():
    root = parse(bar_chart("Revenue", "d", [Point("a", 10, "$10"), Point("b", -5, "-$5")], axis_label="USD"))
    axis_y = float(root.find(f"{SVG}line[@class='axis']").get("y1"))
    up, down = root.findall(f"{SVG}rect[@class='bar']")
    assert float(up.get("y")) + float(up.get("height")) == axis_y
    assert float(down.get("y")) == axis_y and float(down.get("height")) > 0


def test_line_chart_skips_weeks_without_a_value():
    root = parse(line_chart("Conversion", "d", [Point("a", 0.5, "50%"), Point("b", None, "none"),
                                                Point("c", 1.0, "100%")], axis_label="Share"))
    points = root.findall(f"{SVG}circle[@class='point']")
    assert [p.find(f"{SVG}title").text for p in points] == ["a: 50%", "c: 100%"]
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 2
    assert len(root.findall(f"{SVG}text[@class='label']")) == 3


def test_text_is_escaped():
    svg = bar_chart("<script>alert(1)</script>", "a & b", [Point("<b>", 1, '"1"')], axis_label="x<y")
    root = parse(svg)
    assert "<script>" not in svg
    assert root.find(f"{SVG}title").text == "<script>alert(1)</script>"
    assert root.find(f"{SVG}text[@class='label']").text == "<b>"


def test_empty_chart_is_still_valid_svg():
    root = parse(bar_chart("Flags", "None raised.", [], axis_label="Times"))
    assert root.findall(f"{SVG}rect") == []
