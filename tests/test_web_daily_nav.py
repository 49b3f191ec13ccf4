"""Getting around the daily pages: a pager of page numbers and a date picker."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from paperfeed.web.ui.pages import page_numbers


@pytest.fixture(scope="module")
def client(site) -> TestClient:
    return site[1]


@pytest.mark.parametrize(
    ("current", "pages", "shown"),
    [
        (1, 1, [1]),
        (1, 12, [1, 2, 3, None, 12]),
        (5, 12, [1, None, 3, 4, 5, 6, 7, None, 12]),
        (12, 12, [1, None, 10, 11, 12]),
        (3, 5, [1, 2, 3, 4, 5]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_the_pager_shows_first_last_and_the_pages_around_the_current_one(current, pages, shown):
    assert page_numbers(current, pages) == shown


def test_a_long_day_has_numbered_pages(site) -> None:
    core, client = site
    busiest = max((core.day(day) for day in _days(core)), key=lambda page: page.total)
    assert busiest.pages >= 6
    url = f"/day/{busiest.day.isoformat()}"
    page = client.get(url, params={"page": "4"}).text
    pager = page.split('<nav class="pagination"')[1].split("</nav>")[0]
    assert '<span class="current" aria-current="page">4</span>' in pager
    linked = [int(n) for n in re.findall(r'href="' + re.escape(url) + r'\?page=(\d+)" aria-label', pager)]
    assert linked == [1, 2, 3, 5, 6, busiest.pages][: len(linked)] and linked[-1] == busiest.pages


def test_the_date_picker_goes_to_the_chosen_day(client: TestClient) -> None:
    page = client.get("/").text
    picker = page.split('<form class="day-picker"')[1].split("</form>")[0]
    assert 'action="/day"' in picker and 'type="date"' in picker and 'name="day"' in picker
    assert '<label for="day-picker-day">' in picker
    chosen = client.get("/day", params={"day": "2025-12-31"}, follow_redirects=False)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/day/2025-12-31"
    assert client.get("/day", params={"day": "yesterday"}).status_code == 404


def _days(core) -> list:
    page = core.day()
    days = [page.day]
    while page.prev_day and len(days) < 30:
        page = core.day(page.prev_day)
        days.append(page.day)
    return days


def test_week_and_month_views_list_the_papers_of_the_whole_period(site) -> None:
    core, client = site
    days = _days(core)
    busiest = max((core.day(day) for day in days), key=lambda page: page.total).day
    monday = busiest - dt.timedelta(days=busiest.weekday())
    in_week = sum(core.day(day).total for day in days if monday <= day <= monday + dt.timedelta(days=6))
    in_month = sum(
        core.day(day).total for day in days if (day.year, day.month) == (busiest.year, busiest.month)
    )

    day_page = client.get(f"/day/{busiest.isoformat()}").text
    views = day_page.split('<nav class="view-links"')[1].split("</nav>")[0]
    assert f'href="/week/{monday.isoformat()}"' in views and f'href="/month/{busiest:%Y-%m}"' in views

    week = client.get(f"/week/{busiest.isoformat()}").text  # any day of the week names it
    assert f"<h1>Week of {monday:%b} {monday.day}, {monday.year}</h1>" in week
    assert f"{in_week} paper" in week
    assert f'href="/week/{(monday - dt.timedelta(days=7)).isoformat()}">← Previous week</a>' in week
    assert f'href="/week/{monday.isoformat()}?page=2"' in week  # paged like a day

    month = client.get(f"/month/{busiest:%Y-%m}").text
    assert f"<h1>{busiest:%B %Y}</h1>" in month and f"{in_month} paper" in month
    assert client.get("/month/2025-13").status_code == 404
    assert client.get("/month/december").status_code == 404


def test_a_period_holds_the_papers_listed_on_its_days_most_upvoted_first(core) -> None:
    from helpers import add_papers, paper

    add_papers(
        core,
        paper("Before", arxiv_id="2401.00001", listed_on=dt.date(2025, 12, 28)),
        paper("Monday", arxiv_id="2401.00002", listed_on=dt.date(2025, 12, 29)),
        paper("Sunday", arxiv_id="2401.00003", listed_on=dt.date(2026, 1, 4)),
        paper("After", arxiv_id="2401.00004", listed_on=dt.date(2026, 1, 5)),
    )
    voter = core.create_user("voter", "correct horse battery")
    core.toggle_vote(voter, "2401.00003")
    week = core.days(dt.date(2025, 12, 29), dt.date(2026, 1, 4))
    assert [p.title for p in week.papers] == ["Sunday", "Monday"] and week.total == 2
    assert core.days(dt.date(2025, 12, 29), dt.date(2026, 1, 4), page=2, per_page=1).papers[0].title == "Monday"
