"""The topic map in a real browser: Playwright drives Debian's Chromium against `paperfeed serve`
over the demo data with topics built. The map renders, hovering a dot shows its title, clicking
opens the paper, the search lights up matching papers, and wheel and drag zoom and pan.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import demo_instance, serving
from test_browser import SCREENSHOTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[str]:
    env, core = demo_instance(tmp_path_factory.mktemp("map-data"), models_dir)
    core.insight.rebuild()
    core.close()
    with serving(env) as base:
        yield base



@pytest.fixture
def page(browser: object, map_server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(map_server + "/map")
    tab.wait_for_selector("#topic-map[data-ready=true]")
    tab.errors = errors
    yield tab
    assert errors == [], errors  # a Content-Security-Policy violation would be one
    context.close()


def _canvas_point(page: object, index: int) -> tuple[float, float]:
    box = page.locator("#topic-map").bounding_box()  # type: ignore[attr-defined]
    x, y = page.evaluate(f"paperMap.screenOf({index})")  # type: ignore[attr-defined]
    return box["x"] + x, box["y"] + y


def _a_lone_paper(page: object) -> int:
    """A paper drawn well apart from every other, so the pointer can only mean it."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => {
          const m = paperMap; let best = 0, bestGap = -1;
          for (let i = 0; i < m.count; i += 7) {
            const [x, y] = m.screenOf(i); let gap = Infinity;
            if (x < 20 || y < 20 || x > m.width - 20 || y > m.height - 20) continue;
            for (let j = 0; j < m.count; j++) {
              if (j === i) continue;
              const [u, v] = m.screenOf(j); gap = Math.min(gap, Math.hypot(u - x, v - y));
            }
            if (gap > bestGap) { bestGap = gap; best = i; }
          }
          return best;
        }"""
    )


def test_the_map_draws_every_placed_paper_with_topic_labels(page: object) -> None:
    count = page.evaluate("paperMap.count")  # type: ignore[attr-defined]
    assert count == 707
    status = page.locator("#map-status").inner_text()  # type: ignore[attr-defined]
    assert status.startswith("707 papers in ")
    # Something was painted: the canvas holds coloured pixels.
    painted = page.evaluate(  # type: ignore[attr-defined]
        """() => { const c = document.getElementById('topic-map');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 707
    page.screenshot(path=str(SCREENSHOTS / "map-01-rendered.png"))  # type: ignore[attr-defined]


def test_hovering_a_paper_shows_its_title_and_clicking_opens_it(page: object) -> None:
    index = _a_lone_paper(page)
    title = page.evaluate(f"paperMap.titles[{index}]")  # type: ignore[attr-defined]
    x, y = _canvas_point(page, index)
    page.mouse.move(x, y)  # type: ignore[attr-defined]
    tip = page.locator("#map-tip")  # type: ignore[attr-defined]
    tip.wait_for(state="visible")
    assert tip.locator("strong").inner_text() == title
    page.screenshot(path=str(SCREENSHOTS / "map-02-hover.png"))  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.mouse.click(x, y)  # type: ignore[attr-defined]
    assert "/papers/" in page.url  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text() == title  # type: ignore[attr-defined]


def test_searching_lights_up_the_matching_papers(page: object, map_server: str) -> None:
    expected = set(
        httpx.get(map_server + "/map/search.json", params={"q": "speculative decoding"}).json()["ids"]
    )
    assert expected
    page.fill("#map-query", "speculative decoding")  # type: ignore[attr-defined]
    page.press("#map-query", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#topic-map[data-matched]")  # type: ignore[attr-defined]
    assert page.locator("#map-status").inner_text() == f"{len(expected)} papers match"  # type: ignore[attr-defined]
    lit = set(page.evaluate("paperMap.ids.filter((id, i) => paperMap.matched[i] === 1)"))  # type: ignore[attr-defined]
    assert lit == expected
    # A lit paper is drawn in the highlight colour, an unlit one is not.
    first_lit = page.evaluate("paperMap.matched.indexOf(1)")  # type: ignore[attr-defined]
    colour = page.evaluate(  # type: ignore[attr-defined]
        f"""() => {{ const [x, y] = paperMap.screenOf({first_lit}); const r = paperMap.ratio;
                    const d = document.getElementById('topic-map').getContext('2d')
                      .getImageData(Math.floor(x * r), Math.floor(y * r), 1, 1).data; return Array.from(d); }}"""
    )
    # (within a few shades: the dot's edge is antialiased and a neighbour may overlap it)
    assert all(abs(got - want) <= 24 for got, want in zip(colour, [255, 200, 0, 255], strict=True)), colour
    page.screenshot(path=str(SCREENSHOTS / "map-03-search.png"))  # type: ignore[attr-defined]


def test_the_wheel_zooms_around_the_pointer_and_dragging_pans(page: object) -> None:
    box = page.locator("#topic-map").bounding_box()  # type: ignore[attr-defined]
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)  # type: ignore[attr-defined]
    page.mouse.wheel(0, -600)  # type: ignore[attr-defined]
    page.wait_for_function("paperMap.scale > 1.5")  # type: ignore[attr-defined]
    before = page.evaluate("[paperMap.tx, paperMap.ty]")  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    page.mouse.move(centre[0] + 120, centre[1] + 60, steps=6)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]
    after = page.evaluate("[paperMap.tx, paperMap.ty]")  # type: ignore[attr-defined]
    assert after[0] - before[0] == pytest.approx(120, abs=2)
    assert after[1] - before[1] == pytest.approx(60, abs=2)
    assert "/map" in page.url  # type: ignore[attr-defined]  # a drag is not a click
    page.screenshot(path=str(SCREENSHOTS / "map-04-zoomed.png"))  # type: ignore[attr-defined]
