"""Threaded comments on papers, written in Markdown.

Markdown is rendered by markdown-it-py with raw HTML turned off, then the HTML goes through
nh3 (an allow-list sanitiser) as the last word: only text-formatting tags survive, no
attribute but a link's href and title, links only to http, https and mailto addresses, and
every link gets rel="nofollow noopener ugc". Comments are rendered when shown, so a stricter
policy applies to old comments too.

Deleting a comment (its author) or hiding it (an admin) keeps its place in the thread, so the
replies below it still make sense; it disappears altogether once nothing visible hangs on it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

from paperfeed import tex
from paperfeed.community.accounts import RateLimiter, RateRule, require_admin
from paperfeed.errors import InvalidInput, NotFound, PermissionDenied
from paperfeed.models import Comment, Paper, User
from paperfeed.store import Store
from paperfeed.store.papers import utcnow

MAX_BODY = 10_000
COMMENTS_PER_USER = RateRule(20, dt.timedelta(minutes=10), "comments in a short time")

# Bare http(s) addresses become links too (not bare domain names: "e.g." is no link).
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable(
    ["strikethrough", "table", "linkify"]
)
_MARKDOWN.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
# Formulas are taken out before Markdown (which would eat "\(" and "_") and put back as math spans.
_FORMULA = "\ue000{}\ue001"
_FORMULA_RE = re.compile("\ue000(\\d+)\ue001")
_CLEANER = nh3.Cleaner(
    tags={
        "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
        "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    },
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="nofollow noopener ugc",
    strip_comments=True,
)  # fmt: skip


def render_markdown(text: str) -> str:
    """Safe HTML for a comment body; formulas become math spans (escaped, typeset by KaTeX)."""
    formulas: list[tex.Piece] = []
    if "$" in text or "\\" in text:
        parts = []
        for piece in tex.pieces(text):
            if piece.math:
                formulas.append(piece)
                parts.append(_FORMULA.format(len(formulas) - 1))
            else:
                parts.append(piece.text)
        text = "".join(parts)
    html = _CLEANER.clean(_MARKDOWN.render(text))
    if not formulas:
        return html

    def formula(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(formulas):
            return ""
        return tex.math_span(formulas[index].text, formulas[index].display)

    return _FORMULA_RE.sub(formula, html)


def check_body(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\x00", "").strip()
    if not body:
        raise InvalidInput("the comment is empty")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"comments have at most {MAX_BODY:,} characters (this one has {len(body):,})")
    return body


def build_thread(flat: list[Comment], viewer: User | None) -> list[Comment]:
    """The comments as trees (oldest first at every level), as `viewer` may see them."""
    is_admin = bool(viewer and viewer.is_admin)
    by_id = {c.id: c for c in flat}
    roots: list[Comment] = []
    for comment in flat:
        comment.replies = []
    for comment in flat:
        parent = by_id.get(comment.parent_id) if comment.parent_id is not None else None
        (parent.replies if parent else roots).append(comment)

    def visible(comment: Comment) -> bool:
        comment.replies = [reply for reply in comment.replies if visible(reply)]
        shown = not comment.deleted and (not comment.hidden or is_admin)
        comment.html = render_markdown(comment.body) if shown else ""
        if not shown:
            comment.body = ""  # a removed comment's text must not leak through any interface
        return shown or bool(comment.replies)

    return [root for root in roots if visible(root)]


class Comments:
    def __init__(self, store: Store, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self.limiter = RateLimiter(store, clock)

    def thread(self, paper: Paper, viewer: User | None) -> list[Comment]:
        return build_thread(self.store.community.comments_of(paper.id), viewer)

    def get(self, comment_id: int, viewer: User | None) -> Comment:
        """One comment as `viewer` may see it (with its rendered body)."""
        comment = self.store.community.comment(comment_id)
        if comment is None or comment.deleted or (comment.hidden and not (viewer and viewer.is_admin)):
            raise NotFound(f"no comment {comment_id}")
        comment.html = render_markdown(comment.body)
        return comment

    def add(self, user: User, paper: Paper, body: str, parent_id: int | None = None) -> Comment:
        body = check_body(body)
        bucket = f"comment:user:{user.id}"
        ticket = self.limiter.take((bucket, COMMENTS_PER_USER))
        try:
            comment = self.store.community.add_comment(
                paper_id=paper.id, user_id=user.id, parent_id=parent_id, body=body, now=self.clock()
            )
        except BaseException:
            self.limiter.give_back(ticket)  # only comments posted count
            raise
        comment.html = render_markdown(comment.body)
        return comment

    def _own(self, user: User, comment_id: int, action: str) -> Comment:
        comment = self.store.community.comment(comment_id)
        if comment is None or comment.deleted:
            raise NotFound(f"no comment {comment_id}")
        if comment.user_id != user.id:
            raise PermissionDenied(f"you can only {action} your own comments")
        return comment

    def edit(self, user: User, comment_id: int, body: str) -> Comment:
        self._own(user, comment_id, "edit")
        if not self.store.community.edit_comment(comment_id, user.id, check_body(body), self.clock()):
            raise PermissionDenied("this comment can no longer be edited")
        return self.get(comment_id, user)

    def delete(self, user: User, comment_id: int) -> Comment:
        comment = self._own(user, comment_id, "delete")
        self.store.community.delete_comment(comment_id, user.id, self.clock())
        return comment

    def set_hidden(self, admin: User, comment_id: int, hidden: bool) -> Comment:
        require_admin(admin)
        if not self.store.community.set_comment_hidden(comment_id, hidden):
            raise NotFound(f"no comment {comment_id}")
        comment = self.store.community.comment(comment_id)
        assert comment is not None
        return comment
