"""`badge.svg`: the overall status as a small two-part badge for READMEs and dashboards.

Text as well as colour (never colour alone), a `<title>` and `aria-label` for screen readers,
and colours dark enough for white text (contrast 4.5:1 or more).
"""

from __future__ import annotations

from html import escape

from notify.site.status import Overall

_COLOURS = {  # background behind white 11px text
    "ok": "#1a7f37",
    "maintenance": "#0b5cad",
    "minor": "#9a6700",
    "major": "#bc4c00",
    "critical": "#cf222e",
}
_LABEL_COLOUR = "#444d56"
_CHAR = 6.6  # average width of an 11px Verdana/DejaVu character
_PAD = 10


def _width(text: str) -> int:
    return int(len(text) * _CHAR + 2 * _PAD)


def badge_svg(overall: Overall, label: str = "status") -> str:
    """The badge: `label` on the left, the overall status's description on the right."""
    value = overall.description.lower()
    left, right = _width(label), _width(value)
    total = left + right
    colour = _COLOURS.get(overall.tone, _COLOURS["major"])
    words = escape(f"{label}: {value}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{words}">'
        f"<title>{words}</title>"
        f'<rect width="{left}" height="20" fill="{_LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{_PAD}" y="14">{escape(label)}</text>'
        f'<text x="{left + _PAD}" y="14">{escape(value)}</text>'
        "</g></svg>\n"
    )
