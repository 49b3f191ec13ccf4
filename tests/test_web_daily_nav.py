"""Getting around the daily pages: a pager of page numbers and a date picker."""

from __future__ import annotations

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
