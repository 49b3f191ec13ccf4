"""Pages that show the field: topics and their papers, trends, the topic map; topic feeds; and
the `insight` helper every template gets (a paper's TL;DR and topic).

The map page draws every placed paper on a canvas (static/map.js); it reads the points from
/map/points.json once and asks /map/search.json which papers a search matches.
"""

from __future__ import annotations

import datetime as dt
import gzip
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from paperfeed.core import PaperFeed
from paperfeed.errors import NotFound
from paperfeed.insight import tldr
from paperfeed.models import Paper, RankedPaper
from paperfeed.store.topics import Topic
from paperfeed.web.deps import CoreDep, TemplatesDep
from paperfeed.web.security import current_user, require_user
from paperfeed.web.ui import charts

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PER_PAGE = 20
RISING_SHOWN = 10
CHART_TOPICS = 6
SPARK_WEEKS = 12


class InsightView:
    """What templates ask of a paper beyond its record: its TL;DR and its topic."""

    def __init__(self, core: PaperFeed) -> None:
        self.core = core

    @staticmethod
    def tldr(paper: Paper) -> str:
        return tldr(paper.abstract)

    def topic(self, paper: Paper) -> Topic | None:
        return self.core.insight.topic_of(paper)


def template_context(request: Request) -> dict[str, Any]:
    return {"insight": InsightView(request.app.state.core)}


def install(app: FastAPI) -> None:
    templates: Jinja2Templates = app.state.templates
    templates.context_processors.append(template_context)
    templates.env.globals.update(
        sparkline=charts.sparkline, weekly_chart=charts.weekly_chart, legend=charts.legend
    )
    app.include_router(router)


def _topic_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise NotFound(f"there is no topic {text[:40]!r}")
    return int(text)


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "")
    return min(int(text), 500) if text.isdigit() and int(text) >= 1 else 1


# --- topics -----------------------------------------------------------------------------------


@router.get("/topics")
def topics_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    topics = core.insight.topics()
    trends = core.insight.trends(weeks=SPARK_WEEKS)
    rising = {r.topic.id for r in trends.rising}
    context = {"topics": topics, "trends": trends, "rising": rising, "nav": "topics"}
    return templates.TemplateResponse(request, "topics.html", context)


@router.get("/topics/{topic_id}")
def topic_page(topic_id: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    sort = "upvoted" if request.query_params.get("sort") == "upvoted" else "newest"
    page = core.insight.topic_page(
        _topic_id(topic_id), sort=sort, page=_page_number(request), per_page=PER_PAGE
    )
    user = current_user(request)
    followed = user is not None and any(t.id == page.topic.id for t in core.insight.followed(user.id))
    base = f"/topics/{page.topic.id}?sort={sort}&"
    context = {
        "page": page,
        "followed": followed,
        "prev_url": f"{base}page={page.page - 1}" if page.page > 1 else None,
        "next_url": f"{base}page={page.page + 1}" if page.page < page.pages else None,
        "first_rank": (page.page - 1) * page.per_page + 1,
        "nav": "topics",
    }
    return templates.TemplateResponse(request, "topic.html", context)


@router.post("/topics/{topic_id}/follow")
def follow_topic(
    topic_id: str, request: Request, core: CoreDep, follow: Annotated[str, Form()] = "1"
) -> Response:
    user = require_user(request)
    topic = core.insight.follow(user.id, _topic_id(topic_id), follow == "1", dt.datetime.now(dt.UTC))
    return RedirectResponse(f"/topics/{topic.id}", status_code=303)


# --- trends -----------------------------------------------------------------------------------


@router.get("/trends")
def trends_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    trends = core.insight.trends()
    rising = trends.rising[:RISING_SHOWN]
    charted = [r.topic for r in rising[:CHART_TOPICS]]
    if not charted:  # nothing rising: chart the largest topics instead
        charted = sorted((r.topic for r in trends.scores), key=lambda t: -t.size)[:CHART_TOPICS]
    series = [(t.label, trends.series[t.id].counts) for t in charted]
    context = {
        "trends": trends,
        "rising": rising,
        "charted_rising": bool(rising),
        "series": series,
        "nav": "trends",
    }
    return templates.TemplateResponse(request, "trends.html", context)


# --- the map ----------------------------------------------------------------------------------


@router.get("/map")
def map_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    context = {"topic_count": len(core.insight.topics()), "nav": "map"}
    return templates.TemplateResponse(request, "map.html", context)


@router.get("/map/points.json")
def map_points(request: Request, core: CoreDep) -> Response:
    """Every placed paper as parallel columns; gzipped when the browser accepts it (100,000
    papers are about 10 MB of JSON, 3 MB compressed)."""
    data = core.insight.map_data()
    body = {
        "ids": data.ids,
        "urls": data.url_ids,
        "titles": data.titles,
        "topic": data.topic_index,
        "x": data.xs,
        "y": data.ys,
        "topics": [{"id": t.id, "label": t.label, "x": t.x, "y": t.y, "size": t.size} for t in data.topics],
    }
    content = orjson.dumps(body)
    headers = {"Cache-Control": "private, max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        content = gzip.compress(content, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(content, media_type="application/json", headers=headers)


@router.get("/map/search.json")
def map_search(core: CoreDep, q: str = "") -> Response:
    return JSONResponse({"ids": core.insight.map_matches(q[:500])})


# --- feeds ------------------------------------------------------------------------------------


@router.get("/feeds/topics/{topic_id}.{fmt}", response_class=Response)
def topic_feed(topic_id: str, fmt: str, request: Request, core: CoreDep) -> Response:
    from paperfeed.digest.links import Links
    from paperfeed.web.feeds import FEED_ITEMS, render_feed

    if fmt not in ("rss", "atom"):
        raise NotFound("feeds are .rss or .atom")
    page = core.insight.topic_page(_topic_id(topic_id), sort="newest", per_page=FEED_ITEMS)
    topic = page.topic
    return render_feed(
        request,
        fmt,  # type: ignore[arg-type]
        title=f"paperfeed: {topic.label}",
        description=f"The newest papers of the topic “{topic.label}” on paperfeed.",
        page_url=f"{Links(core.settings).base_url}/topics/{topic.id}",
        items=[RankedPaper(paper=p, score=0.0) for p in page.papers],
    )
