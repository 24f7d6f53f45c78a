"""Charts drawn on the server as SVG: no JavaScript, no external service, readable in print.
Colour is never alone: each light also has its own line pattern and its own marker (the shapes
of the page's lights: green a circle, yellow a triangle, red a square), the legend names them,
and each chart's accessible name lists its values with the lights' names."""

from html import escape

from django.utils.safestring import mark_safe

# The lights' shape colours of static/css/site.css (--green-dot …): at least 3:1 on white.
FILL = {"green": "#1a7340", "yellow": "#b38200", "red": "#c0392b"}
DASH = {"green": "", "yellow": "8 4", "red": "2 4"}
MUTED, INK = "#5b6470", "#1d232b"
STRIPES = {"green": (), "yellow": (6.2,), "red": (3.6, 8.8)}  # white stripes across a heat-map bar's part
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 120, 20, 36


def marker(colour, x, y, size=4.5, tip="", fill=None):
    """The light's shape centred on (x, y): a circle, a triangle or a square (polygons, so that
    a chart's rects are only its bars)."""
    title = f"<title>{escape(tip)}</title>" if tip else ""
    fill = fill or FILL[colour]
    if colour == "yellow":
        corners = ((x, y - size * 1.2), (x + size * 1.2, y + size), (x - size * 1.2, y + size))
    elif colour == "red":
        corners = ((x - size, y - size), (x + size, y - size), (x + size, y + size), (x - size, y + size))
    else:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{fill}">{title}</circle>'
    points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in corners)
    return f'<polygon points="{points}" fill="{fill}">{title}</polygon>'


def _frame(title, x_labels, summary=""):
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    name = f"{title}{summary}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
        f'aria-label="{escape(name)}"><title>{escape(title)}</title>'
    ]
    for percent in (0, 20, 40, 60, 80, 100):
        y = TOP + plot_h - plot_h * percent / 100
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#d9dde3" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{percent}%</text>'
        )
    step = plot_w / max(len(x_labels), 1)
    for index, label in enumerate(x_labels):
        x = LEFT + step * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" fill="{INK}">'
            f"{escape(label)}</text>"
        )
    return parts, plot_w, plot_h, step


def colour_trend(stage_labels, shares, legend, title):
    """Lines of each colour's share (percent) per stage. `shares` maps colour -> list of
    percentages in stage order; `legend` maps colour -> its translated name."""
    summary = ""
    for colour in ("green", "yellow", "red"):
        if values := shares.get(colour):
            pairs = zip(stage_labels, values, strict=False)
            summary += f"; {legend[colour]}: " + ", ".join(f"{label} {value}%" for label, value in pairs)
    parts, plot_w, plot_h, step = _frame(title, stage_labels, summary)
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
            parts.append(marker(colour, x, y, tip=f"{legend[colour]} {value}%"))
        # The legend: each line with its pattern and its marker, then the light's name.
        legend_y = TOP + 14 + row * 20
        legend_x = LEFT + plot_w + 14
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 24}" y2="{legend_y - 4}" '
            f'stroke="{FILL[colour]}" stroke-width="2.5"{dash}/>'
        )
        parts.append(marker(colour, legend_x + 12, legend_y - 4, size=4))
        parts.append(
            f'<text x="{legend_x + 30}" y="{legend_y}" font-size="12" fill="{INK}">{escape(str(legend[colour]))}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def task_scores(points, *, green_above, red_below, title, score_label, target_label, threshold_labels, legend):
    """Bars of a task's final score per stage against the year's thresholds, each bar in its
    light with the light's shape and name over it, and titled with that stage's target. `points`
    is [(stage number, score or None, light, target)]; `legend` maps a light to its name."""
    summary = "".join(
        f"; {number}: {score}% {legend[colour]}" for number, score, colour, _target in points if score is not None
    )
    parts, plot_w, plot_h, step = _frame(title, [str(number) for number, *_rest in points], summary)
    for value, label, colour in ((green_above, threshold_labels[0], "green"), (red_below, threshold_labels[1], "red")):
        y = TOP + plot_h - plot_h * float(value) / 100
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{FILL[colour]}" '
            f'stroke-width="1.5" stroke-dasharray="6 3"/>'
        )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" font-size="11" fill="{INK}">'
            f"{escape(str(label))} {value}%</text>"
        )
    bar = step * 0.5
    for index, (_number, score, colour, target) in enumerate(points):
        if score is None:
            continue
        height = plot_h * float(score) / 100
        x = LEFT + step * (index + 0.5) - bar / 2
        y = TOP + plot_h - height
        tip = f"{legend[colour]} · {score_label} {score}% · {target_label}: {target}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{FILL[colour]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        # The light's shape in white at the foot of the bar (over it when the bar is too short),
        # and its name with the score over the bar.
        foot = TOP + plot_h - 9
        if height >= 18:
            parts.append(marker(colour, x + bar / 2, foot, size=4, fill="#ffffff"))
        else:
            parts.append(marker(colour, x + bar / 2, y - 20, size=4))
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" fill="{INK}">'
            f"{escape(str(legend[colour]))} {escape(str(score))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def share_bar(shares, legend):
    """A small stacked bar of one heat-map cell's green/yellow/red shares, named by its shares
    ("绿灯 50%, 黄灯 0%, 红灯 50%"). Not by colour alone: green is plain, yellow has one white
    stripe along it, red two, and a white gap parts each part from the next."""
    name = ", ".join(f"{legend[colour]} {float(shares.get(colour, 0))}%" for colour in ("green", "yellow", "red"))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 14" preserveAspectRatio="none" '
        f'class="share-bar" role="img" aria-label="{escape(name)}">'
    ]
    x = 0.0
    for colour in ("green", "yellow", "red"):
        width = float(shares.get(colour, 0))
        if width:
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="14" fill="{FILL[colour]}">'
                f"<title>{escape(str(legend[colour]))} {width}%</title></rect>"
            )
            for stripe in STRIPES[colour]:
                parts.append(f'<rect x="{x:.1f}" y="{stripe}" width="{width:.1f}" height="1.6" fill="#ffffff"/>')
            if x:
                parts.append(f'<rect x="{x - 0.6:.1f}" y="0" width="1.2" height="14" fill="#ffffff"/>')
        x += width
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
