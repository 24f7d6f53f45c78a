"""Charts drawn on the server as SVG: no JavaScript, no external service, readable in print
(each colour also has its own line pattern, so a black-and-white copy still tells them apart)."""

from html import escape

from django.utils.safestring import mark_safe

FILL = {"green": "#1f8a4c", "yellow": "#b7860b", "red": "#c0392b"}
DASH = {"green": "", "yellow": "8 4", "red": "2 4"}
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 120, 20, 36


def _frame(title, x_labels):
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for percent in (0, 20, 40, 60, 80, 100):
        y = TOP + plot_h - plot_h * percent / 100
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#d9dde3" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6470">{percent}%</text>'
        )
    step = plot_w / max(len(x_labels), 1)
    for index, label in enumerate(x_labels):
        x = LEFT + step * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" fill="#1d232b">'
            f"{escape(label)}</text>"
        )
    return parts, plot_w, plot_h, step


def colour_trend(stage_labels, shares, legend, title):
    """Lines of each colour's share (percent) per stage. `shares` maps colour -> list of
    percentages in stage order; `legend` maps colour -> its translated name."""
    parts, plot_w, plot_h, step = _frame(title, stage_labels)
    for row, colour in enumerate(("green", "yellow", "red")):
        values = shares.get(colour, [])
        points = [
            (LEFT + step * (index + 0.5), TOP + plot_h - plot_h * float(value) / 100)
            for index, value in enumerate(values)
        ]
        dash = f' stroke-dasharray="{DASH[colour]}"' if DASH[colour] else ""
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{FILL[colour]}" stroke-width="2.5"{dash}/>')
        for (x, y), value in zip(points, values, strict=False):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{FILL[colour]}"><title>{escape(str(legend[colour]))} '
                f"{value}%</title></circle>"
            )
        legend_y = TOP + 14 + row * 20
        legend_x = LEFT + plot_w + 14
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 24}" y2="{legend_y - 4}" '
            f'stroke="{FILL[colour]}" stroke-width="2.5"{dash}/>'
        )
        parts.append(f'<text x="{legend_x + 30}" y="{legend_y}" font-size="12">{escape(str(legend[colour]))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def task_scores(points, *, green_above, red_below, title, score_label, target_label, threshold_labels):
    """Bars of a task's final score per stage against the year's thresholds, each bar in its
    light and titled with that stage's target. `points` is [(stage number, score or None, light,
    target)]."""
    parts, plot_w, plot_h, step = _frame(title, [str(number) for number, *_rest in points])
    for value, label, colour in ((green_above, threshold_labels[0], "green"), (red_below, threshold_labels[1], "red")):
        y = TOP + plot_h - plot_h * float(value) / 100
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{FILL[colour]}" '
            f'stroke-width="1.5" stroke-dasharray="6 3"/>'
        )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" font-size="11">{escape(str(label))} {value}%</text>'
        )
    bar = step * 0.5
    for index, (_number, score, colour, target) in enumerate(points):
        if score is None:
            continue
        height = plot_h * float(score) / 100
        x = LEFT + step * (index + 0.5) - bar / 2
        y = TOP + plot_h - height
        tip = f"{score_label} {score}% · {target_label}: {target}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{FILL[colour]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">'
            f"{escape(str(score))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def share_bar(shares, legend):
    """A small stacked bar of one heat-map cell's green/yellow/red shares."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 14" preserveAspectRatio="none" '
        'class="share-bar" aria-hidden="true">'
    ]
    x = 0.0
    for colour in ("green", "yellow", "red"):
        width = float(shares.get(colour, 0))
        if width:
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="14" fill="{FILL[colour]}">'
                f"<title>{escape(str(legend[colour]))} {width}%</title></rect>"
            )
        x += width
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
