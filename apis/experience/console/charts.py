"""Charts drawn on the server as inline SVG: no chart library, no script, nothing from a CDN.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says what a
screen reader needs, every bar labelled with its value in text (the reading never depends on
colour), and the same numbers are in a table next to it on the page. Styling comes from
classes in ``static/console.css`` (the Content-Security-Policy allows no inline style).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
BAR_AREA_HEIGHT = 160
LABEL_HEIGHT = 36
_IDS = itertools.count()


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str, tone: str = "info") -> Markup:
    """Vertical bars, one per ``(label, value)``, each with its value written above it."""
    chart_id = f"chart-{next(_IDS)}"
    height = BAR_AREA_HEIGHT + LABEL_HEIGHT
    top = max((value for _, value in bars), default=0) or 1
    slot = WIDTH / max(len(bars), 1)
    bar_width = max(min(slot * 0.7, 48), 2)
    # Label every bar when they fit, else every k-th so labels never overlap.
    label_every = max(1, int(len(bars) / (WIDTH / 44)) + (1 if len(bars) > WIDTH / 44 else 0))
    parts = []
    for index, (label, value) in enumerate(bars):
        bar_height = (value / top) * (BAR_AREA_HEIGHT - 18)
        x = index * slot + (slot - bar_width) / 2
        y = BAR_AREA_HEIGHT - bar_height
        parts.append(
            f'<rect class="bar bar-{escape(tone)}" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
            f'height="{bar_height:.1f}"><title>{escape(label)}: {_number(value)} {escape(unit)}</title></rect>'
        )
        if value:
            parts.append(
                f'<text class="value" x="{x + bar_width / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                f"{_number(value)}</text>"
            )
        if index % label_every == 0:
            centre = min(max(x + bar_width / 2, 18), WIDTH - 18)  # a label at the edge stays whole
            parts.append(
                f'<text class="label" x="{centre:.1f}" y="{BAR_AREA_HEIGHT + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    total = sum(value for _, value in bars)
    desc = f"{len(bars)} bars, {_number(total)} {unit} in all, highest {_number(top if bars else 0)}."
    # Every value interpolated above is a number or passed through escape().
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="xMinYMin meet"><title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>'
        f'<line class="axis" x1="0" y1="{BAR_AREA_HEIGHT}" x2="{WIDTH}" y2="{BAR_AREA_HEIGHT}"/>'
        + "".join(parts)
        + "</svg>"
    )


def sla_chart(title: str, rows: Sequence[tuple[str, float | None, float, bool | None]]) -> Markup:
    """Horizontal bars of p95 per workflow against a target mark; met or missed written out."""
    chart_id = f"chart-{next(_IDS)}"
    row_height = 30
    label_width = 170
    status_width = 110
    plot = WIDTH - label_width - status_width
    height = max(len(rows), 1) * row_height + 8
    top = max([1.0, *(max(p95 or 0, target) for _, p95, target, _ in rows)]) * 1.1
    parts = []
    for index, (workflow, p95, target, met) in enumerate(rows):
        y = index * row_height + 4
        parts.append(f'<text class="label" x="0" y="{y + 17}">{escape(workflow)}</text>')
        if p95 is not None:
            width = max(p95 / top * plot, 1)
            tone = "ok" if met else "bad"
            parts.append(
                f'<rect class="bar bar-{tone}" x="{label_width}" y="{y + 4}" width="{width:.1f}" height="16">'
                f"<title>{escape(workflow)}: p95 {_number(p95)} s, target {_number(target)} s</title></rect>"
            )
        target_x = label_width + target / top * plot
        parts.append(
            f'<line class="target" x1="{target_x:.1f}" y1="{y}" x2="{target_x:.1f}" y2="{y + 24}">'
            f"<title>target {_number(target)} s</title></line>"
        )
        verdict = "no data" if p95 is None else ("✓ met" if met else "✗ missed")
        reading = "—" if p95 is None else f"{_number(p95)} s"
        parts.append(
            f'<text class="value" x="{WIDTH - status_width + 6}" y="{y + 17}">'
            f"{escape(reading)} {escape(verdict)}</text>"
        )
    missed = sum(1 for _, p95, _, met in rows if p95 is not None and not met)
    desc = f"{len(rows)} workflows; {missed} miss their target. The vertical mark is each target."
    # Every value interpolated above is a number or passed through escape().
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="xMinYMin meet"><title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>' + "".join(parts) + "</svg>"
    )
