"""Collections and who may see or change them.

A private collection is its owner's alone; an unlisted one is also readable by whoever has its
secret link (`share_token`); a public one by anyone. Only the owner changes a collection. To
anyone else a collection they may not read does not exist (404, never "forbidden"), so its
existence is not given away. Making a collection private again changes its secret link and
feed URL, so the old ones stop working.
"""

from __future__ import annotations

import datetime as dt

from paperfeed.errors import InvalidInput, NotFound, PermissionDenied
from paperfeed.models import VISIBILITIES, Collection, Paper, User
from paperfeed.store import Store
from paperfeed.store.papers import utcnow

MAX_NAME = 100
MAX_DESCRIPTION = 2_000
MAX_COLLECTIONS = 500  # per user
MAX_TOKEN = 64


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a collection needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"collection names have at most {MAX_NAME} characters")
    return name


def check_description(description: str) -> str:
    description = description.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"descriptions have at most {MAX_DESCRIPTION:,} characters")
    return description


def check_visibility(visibility: str) -> str:
    visibility = visibility.strip().lower()
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility is one of {', '.join(VISIBILITIES)}")
    return visibility


def can_read(collection: Collection, viewer: User | None, *, by_link: bool = False) -> bool:
    if viewer is not None and viewer.id == collection.user_id:
        return True
    if collection.visibility == "public":
        return True
    return by_link and collection.visibility == "unlisted"


class Collections:
    def __init__(self, store: Store) -> None:
        self.store = store

    def of(self, user: User) -> list[Collection]:
        """The user's collections, the default one ("Saved") first; it is made on first use."""
        self.store.collections.default_for(user.id)
        return self.store.collections.of_user(user.id)

    def public_of(self, user_id: int) -> list[Collection]:
        return self.store.collections.public_of_user(user_id)

    def default(self, user: User) -> Collection:
        return self.store.collections.default_for(user.id)

    def create(self, user: User, name: str, description: str = "", visibility: str = "private") -> Collection:
        name, description = check_name(name), check_description(description)
        visibility = check_visibility(visibility)
        if len(self.of(user)) >= MAX_COLLECTIONS:
            raise InvalidInput(f"at most {MAX_COLLECTIONS} collections per user")
        return self.store.collections.create(user.id, name, description, visibility)

    def readable(self, collection_id: int, viewer: User | None) -> Collection:
        """A collection `viewer` may read by its number (unlisted ones only by their link)."""
        collection = self.store.collections.get(collection_id)
        if collection is None or not can_read(collection, viewer):
            raise NotFound(f"no collection {collection_id}")
        return collection

    def shared(self, token: str) -> Collection:
        """A collection by its secret link: unlisted and public ones (and private ones never)."""
        collection = self.store.collections.by_share_token(token) if len(token) <= MAX_TOKEN else None
        if collection is None or collection.visibility == "private":
            raise NotFound("no such collection")
        return collection

    def by_feed_token(self, token: str) -> Collection:
        collection = self.store.collections.by_feed_token(token) if len(token) <= MAX_TOKEN else None
        if collection is None:
            raise NotFound("no such feed")
        return collection

    def own(self, collection_id: int, user: User) -> Collection:
        """A collection `user` may change: their own."""
        collection = self.readable(collection_id, user)
        if collection.user_id != user.id:
            raise PermissionDenied("only its owner changes a collection")
        return collection

    def find_own(self, user: User, ref: str) -> Collection:
        """One of the user's collections by number or name (as the CLI names them)."""
        ref = ref.strip()
        mine = self.of(user)
        for collection in mine:
            if ref.isdigit() and collection.id == int(ref):
                return collection
        for collection in mine:
            if collection.name.casefold() == ref.casefold():
                return collection
        raise NotFound(f"{user.name} has no collection {ref!r}")

    def update(
        self,
        user: User,
        collection_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
    ) -> Collection:
        collection = self.own(collection_id, user)
        new_visibility = check_visibility(visibility) if visibility is not None else collection.visibility
        return self.store.collections.update(
            collection.id,
            name=check_name(name) if name is not None else collection.name,
            description=check_description(description) if description is not None else collection.description,
            visibility=new_visibility,
            new_tokens=new_visibility == "private" and collection.visibility != "private",
        )

    def delete(self, user: User, collection_id: int) -> Collection:
        collection = self.own(collection_id, user)
        if collection.is_default:
            raise InvalidInput(f"“{collection.name}” is your default collection and stays")
        self.store.collections.delete(collection.id)
        return collection

    def add(self, user: User, collection_id: int, paper: Paper, now: dt.datetime | None = None) -> bool:
        """Save the paper into one of the user's collections; False when it was there already."""
        collection = self.own(collection_id, user)
        return self.store.collections.add(collection, [paper.id], now or utcnow()) == 1

    def remove(self, user: User, collection_id: int, paper: Paper) -> bool:
        return self.store.collections.remove(self.own(collection_id, user), paper.id)

    def paper_ids(self, collection: Collection, *, limit: int | None = None, offset: int = 0) -> list[int]:
        return self.store.collections.paper_ids(collection.id, limit=limit, offset=offset)

    def memberships(self, user: User | None, paper_ids: list[int]) -> dict[int, set[int]]:
        if user is None:
            return {paper_id: set() for paper_id in paper_ids}
        return self.store.collections.memberships(user.id, paper_ids)
