"""The 30-day turnover chart as server-rendered SVG: no script, no CDN, crisp on a phone."""

from __future__ import annotations

from datetime import date, timedelta
from xml.sax.saxutils import escape

from ..money import format_minor

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM = 600, 180, 8, 22


def turnover_svg(
    totals: dict[date, int], today: date, currency: int, days: int = 30, title: str = ""
) -> str:
    """One bar per trading day (settled amount in minor units), oldest on the left."""
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    top = max((totals.get(d, 0) for d in span), default=0) or 1
    slot = (WIDTH - PAD_LEFT) / days
    plot = HEIGHT - PAD_BOTTOM - 14
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, d in enumerate(span):
        amount = totals.get(d, 0)
        h = round(plot * amount / top, 1)
        x = round(PAD_LEFT + i * slot + 1, 1)
        y = round(HEIGHT - PAD_BOTTOM - h, 1)
        label = escape(f"{d.isoformat()}: {format_minor(amount, currency)}")
        parts.append(
            f'<rect x="{x}" y="{y}" width="{round(slot - 2, 1)}" height="{h}" '
            f'fill="#2f7d4f"><title>{label}</title></rect>'
        )
        if (days - 1 - i) % 7 == 0:  # a label a week, the last one for today
            last = i == days - 1
            at = round(x + slot - 2 if last else x + slot / 2, 1)
            anchor = "end" if last else "middle"
            parts.append(f'<text x="{at}" y="{HEIGHT - 6}" font-size="11" fill="#555" '
                         f'text-anchor="{anchor}">{d:%m-%d}</text>')  # fmt: skip
    parts.append(
        f'<text x="{PAD_LEFT}" y="11" font-size="11" fill="#555">'
        f"{escape(format_minor(top, currency))}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
