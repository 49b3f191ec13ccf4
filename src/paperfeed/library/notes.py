"""Private notes on papers, written in Markdown and sanitised as comments are.

A note is its writer's alone: no page, feed or API answer shows it to anyone else.
"""

from __future__ import annotations

from collections.abc import Sequence

from paperfeed.community.comments import render_markdown
from paperfeed.errors import InvalidInput
from paperfeed.models import Note, Paper, User
from paperfeed.store import Store

MAX_NOTE = 20_000


def check_note(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"notes have at most {MAX_NOTE:,} characters (this one has {len(body):,})")
    return body


def _rendered(note: Note) -> Note:
    note.html = render_markdown(note.body)
    return note


class Notes:
    def __init__(self, store: Store) -> None:
        self.store = store

    def of(self, user: User | None, paper: Paper) -> Note | None:
        if user is None:
            return None
        note = self.store.notes.of_papers(user.id, [paper.id]).get(paper.id)
        return _rendered(note) if note else None

    def of_papers(self, user: User | None, paper_ids: Sequence[int]) -> dict[int, Note]:
        if user is None:
            return {}
        return {pid: _rendered(note) for pid, note in self.store.notes.of_papers(user.id, paper_ids).items()}

    def write(self, user: User, paper: Paper, body: str) -> Note | None:
        """Write (or replace) the user's note on the paper; an empty note deletes it."""
        body = check_note(body)
        if not body:
            self.store.notes.delete(user.id, paper.id)
            return None
        return _rendered(self.store.notes.put(user.id, paper.id, body))

    def delete(self, user: User, paper: Paper) -> bool:
        return self.store.notes.delete(user.id, paper.id)
