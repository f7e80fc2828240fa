"""The 30-day turnover chart: one bar a day, the tallest is the best day, today labelled."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from pi_agent.web.chart import turnover_svg

TODAY = date(2026, 11, 20)


def test_one_bar_per_day_scaled_to_the_best_day() -> None:
    totals = {TODAY: 5840, TODAY - timedelta(days=3): 11680, TODAY - timedelta(days=40): 99999}
    svg = turnover_svg(totals, TODAY, 978, title="Umsatz <30 Tage>")
    root = ET.fromstring(svg)  # well-formed, title escaped
    ns = "{http://www.w3.org/2000/svg}"
    bars = root.findall(f"{ns}rect")
    assert len(bars) == 30  # the day 40 days ago is outside
    heights = [float(b.get("height")) for b in bars]
    assert heights[-1] * 2 == heights[-4] and max(heights) == heights[-4]
    assert bars[-1].find(f"{ns}title").text == "2026-11-20: 58.40"
    labels = [t.text for t in root.findall(f"{ns}text")]
    assert "11-20" in labels and "116.80" in labels  # today, and the scale's top
    assert re.search(r'text-anchor="end">11-20<', svg)  # today's label stays inside


def test_an_empty_month_draws_flat_bars() -> None:
    svg = turnover_svg({}, TODAY, 156)
    assert svg.count('height="0.0"') == 30
