"""Never colour alone (issue 17): every light on every page that shows one carries its name — in
its visible text, a visually hidden text, or an aria-label / title — not only a colour class.
Green, yellow, red and "no score" are each rendered on the board (whole, in summary and as the
htmx department rows), in its earlier-stage dots, in meeting mode, the follow-up queue, a case,
my tasks, a task, the confirmation queue, the heat map, the charts and the other reports."""

import datetime
from html.parser import HTMLParser

import pytest

from reviews import queries
from reviews.models import FollowUp
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, confirm, open_meeting, rate, rating_of, stage_of, submit

pytestmark = pytest.mark.django_db

NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "missing": "未评分"}
LIGHT_CLASSES = {"light", "light-dot", "shape", "count"}
VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base", "embed", "track"}


class _Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.classes = set((self.attrs.get("class") or "").split())
        self.text = []  # the text a screen reader reads: aria-hidden parts left out
        self.hidden = self.attrs.get("aria-hidden") == "true" or (parent is not None and parent.hidden)

    def within(self, element_id):
        node = self
        while node is not None:
            if node.attrs.get("id") == element_id:
                return True
            node = node.parent
        return False


class _Lights(HTMLParser):
    """Every element that shows a light (class light, light-dot, shape, count with a light's
    colour; an SVG chart or heat-map bar) with the name it has for a reader."""

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        element = _Element(tag, attrs, self.stack[-1] if self.stack else None)
        if tag not in VOID:
            self.stack.append(element)
        self.found.append(element)

    def handle_startendtag(self, tag, attrs):
        self.found.append(_Element(tag, attrs, self.stack[-1] if self.stack else None))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            if not self.stack[-1].hidden:
                element.text.append(data)


def name_of(element):
    """What a reader is told: the aria-label, else the text (without aria-hidden parts); and the
    title, which a mouse user sees on hover."""
    return " ".join([element.attrs.get("aria-label") or "", "".join(element.text), element.attrs.get("title") or ""])


def lights_on(html):
    """[(colour, element)] of each light element on the page, its colour from its classes."""
    parser = _Lights()
    parser.feed(html)
    shown = []
    for element in parser.found:
        colours = element.classes & set(NAMES)
        if element.classes & LIGHT_CLASSES and colours:
            if "count" in element.classes and element.within("transitions"):
                continue  # the scorecard's improved/worsened counts are not lights
            shown.append((colours.pop(), element))
        elif element.tag == "svg" and element.classes & {"chart", "share-bar"}:
            shown.append(("chart", element))
        elif element.classes & {"cell-counts"}:
            shown.append(("cell-counts", element))
    return shown


def assert_every_light_is_named(html, expected=()):
    """Each light element names its light; the page shows at least the `expected` colours."""
    seen = set()
    for colour, element in lights_on(html):
        seen.add(colour)
        name = name_of(element)
        if colour == "chart":
            assert any(word in name for word in NAMES.values()), f"chart without the lights' names: {name!r}"
        elif colour == "cell-counts":
            assert all(NAMES[c] in name for c in ("green", "yellow", "red")), f"heat-map counts unnamed: {name!r}"
        else:
            assert NAMES[colour] in name, f"<{element.tag} class={sorted(element.classes)}> named {name!r}"
    assert set(expected) <= seen, (set(expected) - seen, "not shown on the page")


def page(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def world(settings, year, department_a, leader_a, staff_a, leadership, inspector):
    """Department A's four tasks: green, yellow, red and one with no score. Stage 1's meeting is
    closed (cases opened for the yellow and the red one); stage 2's is in session, the fourth
    task without a score; stage 3's is open, so its board shows both earlier stages; stage 3's
    self scores wait for the division leader."""
    settings.LIGHTBOARD_TODAY = datetime.date(2026, 6, 20)  # stage 3 of 2026
    tasks = {
        colour: KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=f"任务{colour}")
        for colour in NAMES
    }
    scores = {"green": 90, "yellow": 70, "red": 50, "missing": 95}
    first, second, third = (stage_of(year, n) for n in (1, 2, 3))
    for colour, task in tasks.items():
        confirm(task, first, scores[colour])
        if colour != "missing":
            confirm(task, second, scores[colour])
            submit(task, third, scores[colour])
    closed = open_meeting(first, leadership)
    for colour, task in tasks.items():
        rate(closed, task, scores[colour], leadership, decision="督办")
    close(closed, leadership)
    FollowUp.objects.filter(rating__meeting=closed).update(inspector=inspector)
    in_session = open_meeting(second, leadership)
    latest = open_meeting(third, leadership)
    return {"tasks": tasks, "closed": closed, "in_session": in_session, "latest": latest}


def test_the_board_names_each_light_and_each_earlier_stage(client, world, leadership, monkeypatch, department_a):
    client.force_login(leadership)
    board = f"/reviews/meetings/{world['in_session'].pk}/"
    assert_every_light_is_named(page(client, board), NAMES)
    latest = page(client, f"/reviews/meetings/{world['latest'].pk}/")
    assert_every_light_is_named(latest, NAMES)
    assert "第 1 阶段 红灯" in latest and "第 2 阶段 未评分" in latest  # the earlier-stage dots
    # a large board opens in summary; each department's rows come by htmx
    monkeypatch.setattr(queries, "BOARD_SUMMARY_ABOVE", 0)
    assert_every_light_is_named(page(client, board), NAMES)
    rows = page(client, f"{board}?department={department_a.pk}&part=department", headers={"HX-Request": "true"})
    assert_every_light_is_named(rows, NAMES)


def test_meeting_mode_names_the_light_of_each_task(client, world, leadership):
    client.force_login(leadership)
    meeting = world["in_session"]
    for colour, task in world["tasks"].items():
        html = page(client, f"/reviews/meetings/{meeting.pk}/present/?all=1&rating={rating_of(meeting, task).pk}")
        assert_every_light_is_named(html, [colour])


def test_the_follow_up_queue_and_the_cases_name_their_lights(client, world, inspector):
    client.force_login(inspector)
    assert_every_light_is_named(page(client, "/reviews/followups/"), ["red", "yellow"])
    for case in FollowUp.objects.all():
        assert_every_light_is_named(page(client, f"/reviews/followups/{case.pk}/"), [case.rating.colour])


def test_my_tasks_and_the_task_page_name_their_lights(client, world, staff_a):
    client.force_login(staff_a)
    assert_every_light_is_named(page(client, "/tasks/mine/"), NAMES)
    for colour, task in world["tasks"].items():
        assert_every_light_is_named(page(client, f"/tasks/{task.pk}/"), [colour])


def test_the_confirmation_queue_names_each_self_scores_light(client, world, leader_a):
    client.force_login(leader_a)
    assert_every_light_is_named(page(client, "/reviews/confirmations/"), ["green", "yellow", "red"])


def test_the_reports_name_their_lights(client, world, leadership):
    client.force_login(leadership)
    overview = page(client, "/reports/")
    assert_every_light_is_named(overview, ["green", "yellow", "red", "chart", "cell-counts"])
    assert 'class="share-bar" role="img" aria-label="绿灯' in overview  # the heat-map bars
    assert_every_light_is_named(page(client, "/reports/departments/A/"), NAMES)
    assert_every_light_is_named(page(client, "/reports/years/"), ["green", "yellow", "red", "chart"])
    assert_every_light_is_named(page(client, "/reports/ranking/"), ["green", "yellow", "red"])
    assert_every_light_is_named(page(client, "/reports/warning/"))
    assert_every_light_is_named(page(client, f"/reviews/meetings/{world['closed'].pk}/minutes/"), ["green", "red"])
    for colour in ("green", "yellow", "red"):
        chart = page(client, f"/reports/tasks/{world['tasks'][colour].pk}/")
        assert_every_light_is_named(chart, ["chart"])
        assert NAMES[colour] in chart.split('id="task-chart"')[1].split("</figure>")[0]


def test_the_legend_shows_each_light_with_its_name(client, world, leadership):
    client.force_login(leadership)
    legend = page(client, "/reports/").split('class="legend"')[1].split("</p>")[0]
    for colour, name in NAMES.items():
        assert f'<span class="light {colour}">{name}</span>' in legend
