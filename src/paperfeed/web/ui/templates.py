"""The Jinja2 environment of the pages: filters for dates, highlighting and LaTeX, and what every
template gets (the user, the CSRF token, the community and library views of papers)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import jinja2
from fastapi import Request
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from paperfeed import tex
from paperfeed.core import PaperFeed
from paperfeed.models import Collection, Comment, Note, Paper, RankedPaper, Submission, User, VoteState
from paperfeed.web.flash import read_flash
from paperfeed.web.security import csrf_token, current_user

# --- templates ------------------------------------------------------------------------------


def short_date(day: dt.date | None) -> str:
    return f"{day:%b} {day.day}, {day.year}" if day else ""


def long_date(day: dt.date | None) -> str:
    return f"{day:%A, %B} {day.day}, {day.year}" if day else ""


def highlight(title: str, query: str) -> Markup:
    """The title, escaped, with the query's words in <mark>."""
    return Markup(PaperFeed.highlight_title(title, query))


def tex_html(text: str, limit: int | None = None, query: str = "") -> Markup:
    """A title or abstract with its formulas as math spans (KaTeX typesets them in the browser),
    cut after about `limit` characters; with a query, its words in <mark>."""
    mark_text = (lambda run: PaperFeed.highlight_title(run, query)) if query else None
    return Markup(tex.to_html(text, limit=limit, mark_text=mark_text))


def is_web_url(url: str) -> bool:
    """Only http(s) links are rendered: an imported `javascript:` URL must never become a link."""
    return url.lower().startswith(("https://", "http://"))


def link_label(url: str) -> str:
    """A link's address without its scheme, e.g. github.com/org/repo."""
    return url.split("://", 1)[-1].removeprefix("www.").rstrip("/")


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, closing full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("paperfeed.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship in the package and change only with an upgrade, which restarts the
        # server: checking every template's file time on every render took a tenth of the
        # server's CPU under load.
        auto_reload=False,
    )
    env.filters.update(
        short_date=short_date,
        long_date=long_date,
        highlight=highlight,
        tex=tex_html,
        plain=tex.plain,
        link_label=link_label,
        sentence=sentence,
    )
    env.tests["web_url"] = is_web_url
    env.filters["when"] = when
    templates = Jinja2Templates(env=env)
    templates.context_processors.append(template_context)
    return templates


# --- what every template gets -------------------------------------------------------------------


class CommunityView:
    """The community side of papers as templates ask for it. `load(papers)` fetches the vote
    counts, submitters and comment counts of a whole listing in three queries; a paper not loaded is fetched alone."""

    def __init__(self, core: PaperFeed, user: User | None) -> None:
        self.core = core
        self.user = user
        self._votes: dict[int, VoteState] = {}
        self._submissions: dict[int, Submission | None] = {}
        self._suspended: set[str] | None = None
        self._comment_counts: dict[int, int] = {}

    def load(self, items: list[Paper] | list[RankedPaper]) -> str:
        papers = [getattr(item, "paper", item) for item in items]
        ids = [paper.id for paper in papers if paper.id not in self._votes]
        if ids:
            self._votes.update(self.core.vote_states(ids, self.user))
            submissions = self.core.submissions_for(ids)
            self._submissions.update({paper_id: submissions.get(paper_id) for paper_id in ids})
            self._comment_counts.update(self.core.comment_counts(ids))
        return ""

    def vote(self, paper: Paper) -> VoteState:
        if paper.id not in self._votes:
            self.load([paper])
        return self._votes[paper.id]

    def submission(self, paper: Paper) -> Submission | None:
        if paper.id not in self._submissions:
            self.load([paper])
        return self._submissions[paper.id]

    def comment_count(self, paper: Paper) -> int:
        if paper.id not in self._comment_counts:
            self.load([paper])
        return self._comment_counts[paper.id]

    def suspended(self, name: str) -> bool:
        """Whether the user of that name is suspended (asked by admins only)."""
        if self._suspended is None:
            self._suspended = self.core.suspended_names(self.user) if self.user else set()
        return name.casefold() in self._suspended

    def comments(self, paper: Paper) -> list[Comment]:
        return self.core.comments(paper, self.user)


class LibraryView:
    """The viewer's collections and which of them hold each paper, as templates ask for them;
    `load(papers)` fetches a whole listing's memberships in one query."""

    def __init__(self, core: PaperFeed, user: User | None) -> None:
        self.core = core
        self.user = user
        self._collections: list[Collection] | None = None
        self._held: dict[int, set[int]] = {}

    def collections(self) -> list[Collection]:
        if self._collections is None:
            self._collections = self.core.collections(self.user) if self.user else []
        return self._collections

    def load(self, items: list[Paper] | list[RankedPaper]) -> str:
        ids = [getattr(item, "paper", item).id for item in items]
        missing = [paper_id for paper_id in ids if paper_id not in self._held]
        if missing:
            self._held.update(self.core.memberships(self.user, missing))
        return ""

    def holding(self, paper: Paper) -> list[Collection]:
        """The viewer's collections holding the paper."""
        if self.user is None:
            return []
        if paper.id not in self._held:
            self.load([paper])
        return [c for c in self.collections() if c.id in self._held[paper.id]]

    def note(self, paper: Paper) -> Note | None:
        return self.core.note(self.user, paper)


def template_context(request: Request) -> dict[str, Any]:
    user = current_user(request)
    core = request.app.state.core
    return {
        "current_user": user,
        "csrf_token": csrf_token(request),
        "community": CommunityView(core, user),
        "library": LibraryView(core, user),
        # called by the page layout only, so a fragment (an upvote button) leaves the message unread
        "flash": partial(read_flash, request),
    }


def when(moment: dt.datetime | None) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}, {moment:%H:%M} UTC" if moment else ""
