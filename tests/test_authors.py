"""Authors: name keys and honest matching, author pages and their feeds, the JSON API, and
following an author (authorization and CSRF included). The command is in test_cli_usability."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter

import feedparser
import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.errors import NotFound
from paperfeed.library.authors import author_key, index_pattern, index_term, parse, shown_name
from paperfeed.models import PaperRecord
from paperfeed.text import finish_record

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


# --- one written name, one key -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ('K. M\\"uller', "K. Müller"),  # LaTeX escapes are decoded
        ('K. M{\\"u}ller', "K. Müller"),
        ("K. MÜLLER", "K. Müller"),  # case
        ("K. Muller", "K. Müller"),  # accents folded: many sources drop them
        ("Müller, K.", "K. Müller"),  # "Family, Given" order
        ("K.  Müller ", "K. Müller"),  # whitespace
        ("J. D. van der Waals", "van der Waals, J. D."),
        (
            "Johannes Diderik van der Waals",
            "van der Waals, Johannes Diderik",
        ),  # particles stay with the family
        ("María de la Cruz", "de la Cruz, Maria"),
        ("J.R.R. Tolkien", "J. R. R. Tolkien"),  # initials with and without dots and spaces
        ("J R R Tolkien", "J. R. R. Tolkien"),
        ("J.-P. Serre", "J. P. Serre"),  # hyphenated initials
        ("Martin Luther King Jr.", "King, Martin Luther, Jr."),  # suffixes
        ("Jean-Marc Lévy-Leblond", "Levy-Leblond, Jean-Marc"),  # hyphenated family names
        ("王伟", " 王伟"),  # Han script, as written
        ("Plato", "plato"),  # a single-word name
        ("Paweł Łukasz", "Pawel Lukasz"),
    ],
)
def test_spellings_of_one_name_have_one_key(written: str, same_as: str) -> None:
    assert author_key(written) == author_key(same_as)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("J. Smith", "John Smith"),  # an initial is not a given name: joined only on evidence
        ("John Smith", "Jane Smith"),
        ("K. Mueller", "K. Müller"),  # a transliteration: a variant, not the same key
        ("Martin Luther King Jr.", "Martin Luther King"),  # a son is not his father
        ("Wang Wei", "Wei Wang"),  # name order is not guessed
        ("Johannes van der Waals", "Johannes Waals"),  # the particle is part of the family name
        ("Jean-Marc Lévy-Leblond", "Jean-Marc Leblond"),
        ("Plato", "A. Plato"),
    ],
)
def test_different_names_have_different_keys(one: str, other: str) -> None:
    assert author_key(one) != author_key(other)


@pytest.mark.parametrize(
    ("one", "other", "could_be"),
    [
        ("J. Smith", "John Smith", True),
        ("John Smith", "John A. Smith", True),  # a middle name left out
        ("J. Smith", "Jane Smith", True),
        ("John Smith", "Jane Smith", False),
        ("J. A. Smith", "J. B. Smith", False),
        ("K. Mueller", "Klaus Müller", True),  # umlauts and their transliteration
        ("J.-P. Serre", "Jean-Pierre Serre", True),
        ("Martin Luther King Jr.", "M. L. King", False),  # the suffix differs
        ("Plato", "A. Plato", False),  # a single-word name is only itself
        ("Wei Wang", "王伟", False),
    ],
)
def test_which_names_could_be_one_person(one: str, other: str, could_be: bool) -> None:
    assert parse(one).could_be(parse(other)) is could_be
    assert parse(other).could_be(parse(one)) is could_be


SPELLINGS = [
    "John Smith", "J. Smith", "Smith, John", "John A. Smith", "Jane Smith", "J. A. Smith",
    'K. M\\"uller', "Klaus Müller", "K. Muller", "Mueller, Klaus", "K. MÜLLER", "Klaus Muler",
    "J.-P. Serre", "Jean-Pierre Serre", "J. D. van der Waals", "Waals, Johannes Diderik van der",
    "J. Strauß", "Johann Strauss", "Martin Luther King Jr.", "M. L. King", "King, M. L., Jr.",
    "Plato", "A. Plato", "王伟", "Wei Wang", "María de la Cruz", "M. de la Cruz", "Bo Öhrn", "B. Oehrn",
]  # fmt: skip


def test_names_that_could_be_one_person_are_found_by_each_others_index_pattern() -> None:
    """The keyword index is the author pages' only way to papers: a name's pattern must match the
    index term of every name the rules may join to it, and one key must be one term."""
    pairs = list(itertools.combinations(SPELLINGS, 2))
    joinable = [(a, b) for a, b in pairs if parse(a).could_be(parse(b))]
    assert len(joinable) > 20  # the list exercises the rules
    assert [
        (a, b)
        for a, b in joinable
        if not re.fullmatch(index_pattern(parse(a)), index_term(b))
        or not re.fullmatch(index_pattern(parse(b)), index_term(a))
    ] == []
    assert [(a, b) for a, b in pairs if author_key(a) == author_key(b) and index_term(a) != index_term(b)] == []
    # Muller and Mueller are not variants of each other, yet both of Müller: a page sees both.
    assert index_term("Klaus Muller") == index_term("Mueller, Klaus") == index_term("Klaus Müller")


def test_a_names_index_term_is_the_one_its_full_parse_gives() -> None:
    odd = ["", " ", ",", "Smith,", ", John", "van der", "J.", "-", "Jr.", "A B Jr.", "King, Martin, III"]
    for name in [*SPELLINGS, *odd]:
        parsed = parse(name)
        from_parse = (
            f"{parsed.index_family}|{parsed.given[0] if parsed.given else ''}|{parsed.suffix}"
            if parsed.family
            else ""
        )
        assert index_term(name) == from_parse, name


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("John Smith", "Bob Smith"),
        ("John Smith", "Jane Smith"),
        ("J. Smith", "Bob Smith"),
        ("John Smith", "John Smithson"),
        ("John Smith", "Smith Johnson"),  # the surname as a given name
        ("Martin Luther King Jr.", "Martin Luther King"),
        ("Plato", "A. Plato"),
        ("Johannes van der Waals", "Johannes Waals"),
    ],
)
def test_the_index_pattern_of_a_name_leaves_out_other_peoples_names(one: str, other: str) -> None:
    assert not re.fullmatch(index_pattern(parse(one)), index_term(other))
    assert not re.fullmatch(index_pattern(parse(other)), index_term(one))


def test_a_name_is_shown_as_most_often_written_with_accents_and_given_name_first_among_equals() -> None:
    assert shown_name(Counter({"Smith, J.": 3, "J. Smith": 1})) == "Smith, J."
    assert shown_name(Counter({"Müller, Klaus": 1, "Klaus Muller": 1, "Klaus Müller": 1})) == "Klaus Müller"


# --- an author's papers ----------------------------------------------------------------------------


def _days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def authored(core: PaperFeed) -> PaperFeed:
    """John Smith and his co-author Ada Jones; J. Smith who also wrote with Ada Jones; an
    unrelated J. Smith variant with no co-author in common; Jane Smith; Klaus Müller written
    three ways."""
    add_papers(
        core,
        paper("Oldest Smith paper", arxiv_id="2601.00001", published=_days_ago(30),
              authors=["John Smith", "Ada Jones"], categories=["cs.LG"]),
        paper("Middle Smith paper", arxiv_id="2601.00002", published=_days_ago(20),
              authors=["Ada Jones", "Smith, John", "Bo Chen"], categories=["cs.LG", "stat.ML"]),
        paper("Newest Smith paper", arxiv_id="2601.00003", published=_days_ago(10),
              authors=["John Smith"], categories=["cs.CL"]),
        paper("Initials with a known co-author", arxiv_id="2601.00004", published=_days_ago(5),
              authors=["J. Smith", "Ada Jones"], categories=["cs.LG"]),
        paper("John A. Smith alone", arxiv_id="2601.00005", published=_days_ago(4),
              authors=["John A. Smith", "Zed Zander"], categories=["physics.optics"]),
        paper("Jane Smith on her own", arxiv_id="2601.00006", published=_days_ago(3),
              authors=["Jane Smith", "Yu Li"], categories=["q-bio.BM"]),
        paper("Umlaut paper", arxiv_id="2601.00007", published=_days_ago(9),
              authors=['Klaus M\\"uller', "Ada Jones"], categories=["hep-th"]),
        paper("Accentless paper", arxiv_id="2601.00008", published=_days_ago(8),
              authors=["Klaus Muller"], categories=["hep-th"]),
        paper("Transliterated paper", arxiv_id="2601.00009", published=_days_ago(7),
              authors=["Klaus Mueller", "Ada Jones"], categories=["hep-th"]),
    )  # fmt: skip
    return core


def test_an_author_page_lists_every_paper_under_the_name_newest_first(authored: PaperFeed) -> None:
    profile, page = authored.author("John Smith")
    titles = [item.paper.title for item in page.items]
    assert titles == [
        "Initials with a known co-author",  # J. Smith shares Ada Jones with John Smith: joined
        "Newest Smith paper",
        "Middle Smith paper",
        "Oldest Smith paper",
    ]
    assert page.total == 4 and page.ranking == "author"
    assert profile.name == "John Smith"


def test_variants_are_joined_only_on_a_shared_co_author_and_the_others_are_named(authored: PaperFeed) -> None:
    profile, _ = authored.author("John Smith")
    variants = {v.name: (v.joined, v.reason) for v in profile.variants}
    assert variants["J. Smith"] == (True, "shares the co-author Ada Jones")
    assert variants["John A. Smith"] == (False, "no co-author in common")
    assert "Jane Smith" not in variants  # she cannot be John


def test_initials_that_fit_two_people_with_evidence_are_not_joined(core: PaperFeed) -> None:
    add_papers(
        core,
        paper("John and Ada", arxiv_id="2602.00001", published=_days_ago(9), authors=["John Smith", "Ada Jones"]),
        paper("Jane and Ada", arxiv_id="2602.00002", published=_days_ago(8), authors=["Jane Smith", "Ada Jones"]),
        paper("J. and Ada", arxiv_id="2602.00003", published=_days_ago(7), authors=["J. Smith", "Ada Jones"]),
    )  # fmt: skip
    profile, page = core.author("J. Smith")
    assert [item.paper.title for item in page.items] == ["J. and Ada"]
    reasons = {v.name: (v.joined, v.reason) for v in profile.variants}
    assert reasons["John Smith"][0] is False and reasons["John Smith"][1].startswith("ambiguous")
    assert reasons["Jane Smith"][0] is False


def test_two_names_on_one_paper_are_two_people(core: PaperFeed) -> None:
    add_papers(
        core,
        paper("Father and son", arxiv_id="2603.00001", published=_days_ago(9), authors=["J. Smith", "John Smith"]),
        paper("Son alone", arxiv_id="2603.00002", published=_days_ago(8), authors=["J. Smith"]),
    )  # fmt: skip
    profile, page = core.author("John Smith")
    assert [item.paper.title for item in page.items] == ["Father and son"]
    assert [(v.name, v.joined, v.reason) for v in profile.variants] == [
        ("J. Smith", False, "both names are on one paper: two people")
    ]


def test_accents_and_latex_escapes_are_one_author_and_a_transliteration_needs_evidence(
    authored: PaperFeed,
) -> None:
    for asked in ("Klaus Muller", "Klaus Müller", 'Klaus M\\"uller', "MÜLLER, KLAUS"):
        profile, page = authored.author(asked)
        assert [item.paper.title for item in page.items] == [
            "Transliterated paper",  # Mueller shares Ada Jones with Müller
            "Accentless paper",
            "Umlaut paper",
        ], asked
    profile, _ = authored.author("Klaus Müller")
    assert [(v.name, v.joined) for v in profile.variants] == [("Klaus Mueller", True)]


def test_co_authors_and_categories_are_counted_over_the_authors_papers(authored: PaperFeed) -> None:
    profile, _ = authored.author("John Smith")
    assert profile.coauthors == [("Ada Jones", 3), ("Bo Chen", 1)]
    assert profile.categories == [("cs.LG", 3), ("cs.CL", 1), ("stat.ML", 1)]


def test_an_author_page_is_paginated(authored: PaperFeed) -> None:
    _, first = authored.author("John Smith", page=1, per_page=3)
    _, second = authored.author("John Smith", page=2, per_page=3)
    assert [i.paper.title for i in second.items] == ["Oldest Smith paper"]
    assert first.pages == 2 and len(first.items) == 3


def test_a_name_nobody_wrote_is_not_found(authored: PaperFeed) -> None:
    with pytest.raises(NotFound):
        authored.author("Nobody Atall")
    with pytest.raises(NotFound):
        authored.author("...")


def test_an_author_page_shown_before_sees_papers_added_or_hidden_since(authored: PaperFeed) -> None:
    authored.author("John Smith")
    authored.store.papers.set_hidden(authored.paper("2601.00003").id, True)
    add_papers(
        authored, paper("A later paper", arxiv_id="2601.00010", published=TODAY, authors=["John Smith"])
    )
    _, page = authored.author("John Smith")
    titles = [item.paper.title for item in page.items]
    assert titles[0] == "A later paper" and "Newest Smith paper" not in titles


def test_an_author_page_and_the_digest_read_only_papers_of_names_that_could_be_the_authors(
    core: PaperFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_papers(
        core,
        paper("By John Smith", arxiv_id="2604.00001", published=_days_ago(3), authors=["John Smith", "Ada Jones"]),
        paper("By J. Smith", arxiv_id="2604.00002", published=_days_ago(2), authors=["Ada Jones", "J. Smith"]),
        paper("By Smith as a given name", arxiv_id="2604.00003", published=_days_ago(1), authors=["Smith Johnson"]),
        paper("By a Smithson", arxiv_id="2604.00004", published=_days_ago(1), authors=["John Smithson"]),
        paper("By Bob Smith", arxiv_id="2604.00005", published=_days_ago(1), authors=["Bob Smith"]),
        paper("By a Smith-Jones", arxiv_id="2604.00006", published=_days_ago(1), authors=["J. Smith-Jones"]),
    )  # fmt: skip
    read: list[int] = []
    author_listings = core.store.papers.author_listings

    def recorded(ids, **kwargs):
        ids = list(ids)
        read.extend(ids)
        return author_listings(ids, **kwargs)

    monkeypatch.setattr(core.store.papers, "author_listings", recorded)
    _, page = core.author("John Smith")
    assert [item.paper.title for item in page.items] == ["By J. Smith", "By John Smith"]
    new = core.authors.new_papers("John Smith", since=_days_ago(30), first_seen_after=None, limit=10)
    assert [core.store.papers.get(i).title for i in new] == ["By J. Smith", "By John Smith"]
    assert {core.store.papers.get(i).title for i in read} == {"By John Smith", "By J. Smith"}


def _add_unindexed(core: PaperFeed, *records: PaperRecord) -> None:
    """Papers into the store as an import writes them, before the keyword index is synced."""
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, [finish_record(r) for r in records])


def test_an_author_page_shows_a_new_paper_once_indexed_and_drops_a_hidden_one_at_once(
    authored: PaperFeed,
) -> None:
    _add_unindexed(authored, paper("Not yet indexed", arxiv_id="2601.00011", authors=["John Smith"]))
    authored.store.papers.set_hidden(authored.paper("2601.00003").id, True)
    titles = [item.paper.title for item in authored.author("John Smith")[1].items]
    assert "Not yet indexed" not in titles and "Newest Smith paper" not in titles
    authored.sync_indexes()
    assert "Not yet indexed" in [item.paper.title for item in authored.author("John Smith")[1].items]


def test_an_author_page_shown_before_sees_a_paper_another_process_indexed(authored: PaperFeed) -> None:
    authored.author("John Smith")
    _add_unindexed(authored, paper("Indexed elsewhere", arxiv_id="2601.00012", authors=["John Smith"]))
    type(authored.keyword)(authored.keyword.path).sync(authored.store)  # as the importer's process does
    assert "Indexed elsewhere" in [item.paper.title for item in authored.author("John Smith")[1].items]


# --- the author page ---------------------------------------------------------------------------


def test_the_author_page_shows_papers_co_authors_categories_and_the_variants_left_apart(
    authored: PaperFeed,
) -> None:
    text = Visitor(authored).get("/authors/John%20Smith").text
    assert '<h1 class="author-name">John Smith</h1>' in text
    order = [
        text.index(t) for t in ("Initials with a known co-author", "Newest Smith paper", "Oldest Smith paper")
    ]
    assert order == sorted(order)  # newest first
    assert '<a href="/authors/Ada%20Jones">Ada Jones</a> <span class="muted">3</span>' in text
    assert 'cs.LG</a> <span class="muted">3</span>' in text
    assert "joined: shares the co-author Ada Jones" in text
    assert "not joined: no co-author in common" in text and ">John A. Smith</a>" in text
    assert 'href="/feeds/authors/John%20Smith.atom"' in text
    assert "Log in to follow this author" in text
    assert "Jane Smith on her own" not in text


def test_author_names_on_cards_and_paper_pages_link_to_author_pages(authored: PaperFeed) -> None:
    visitor = Visitor(authored)
    assert '<a href="/authors/Ada%20Jones">Ada Jones</a>' in visitor.get("/papers/2601.00001").text
    card_page = visitor.get("/authors/Ada%20Jones").text
    assert '<a href="/authors/Smith%2C%20John">Smith, John</a>' in card_page


def test_an_unknown_author_is_a_404_page(authored: PaperFeed) -> None:
    visitor = Visitor(authored)
    assert visitor.get("/authors/Nobody%20Atall").status_code == 404
    assert visitor.get("/feeds/authors/Nobody%20Atall.atom").status_code == 404
    assert visitor.get("/api/authors/Nobody%20Atall").status_code == 404
    assert visitor.get("/api/authors/" + "Long" * 60).status_code == 400  # longer than any name kept


def test_the_author_page_escapes_names(core: PaperFeed) -> None:
    add_papers(core, paper("Escaping", arxiv_id="2604.00001", authors=['Eve "x" O\'Evil & Co', "Bob Ok"]))
    text = Visitor(core).get("/authors/Bob%20Ok").text
    assert "Eve &#34;x&#34; O&#39;Evil &amp; Co</a>" in text and 'Eve "x"' not in text


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_the_author_feed_lists_the_authors_papers_newest_first(authored: PaperFeed, fmt: str) -> None:
    answer = Visitor(authored).get(f"/feeds/authors/Klaus%20M%C3%BCller.{fmt}")
    feed = feedparser.parse(answer.text)
    assert not feed.bozo
    assert feed.feed.title == "paperfeed: papers by Klaus Müller"
    assert [e.title for e in feed.entries] == ["Transliterated paper", "Accentless paper", "Umlaut paper"]


# --- following -------------------------------------------------------------------------------------


def test_following_an_author_needs_a_log_in_and_a_csrf_token(authored: PaperFeed) -> None:
    visitor = Visitor(authored)
    answer = visitor.post("/authors/John%20Smith/follow", {"follow": "1"}, follow_redirects=False)
    assert answer.status_code == 303 and "/login" in answer.headers["location"]
    reader = make_user(authored, "reader")
    visitor.log_in_as(reader)
    forged = visitor.client.post("/authors/John%20Smith/follow", data={"follow": "1"}, follow_redirects=False)
    assert forged.status_code == 403
    assert authored.followed_authors(reader) == []
    visitor.post("/authors/John%20Smith/follow", {"follow": "1"})
    assert "✓ Following in your digest" in visitor.get("/authors/John%20Smith").text
    assert [(f.name, f.author_key) for f in authored.followed_authors(reader)] == [
        ("John Smith", "smith|john|")
    ]
    visitor.post("/authors/Smith%2C%20John/follow", {"follow": "0"})  # the same key, written another way
    assert authored.followed_authors(reader) == []


def test_the_follow_button_swaps_in_place_for_htmx(authored: PaperFeed) -> None:
    visitor = Visitor(authored).log_in_as(make_user(authored, "reader"))
    answer = visitor.post("/authors/John%20Smith/follow", {"follow": "1"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "<form" in answer.text and "<html" not in answer.text  # the button alone, not a page
    assert "✓ Following in your digest" in answer.text and 'name="follow" value="0"' in answer.text


def test_follows_are_each_users_own(authored: PaperFeed) -> None:
    alice = Visitor(authored).log_in_as(make_user(authored, "alice"))
    bob_user = make_user(authored, "bob")
    bob = Visitor(authored).log_in_as(bob_user)
    alice.post("/authors/John%20Smith/follow", {"follow": "1"})
    assert "Follow in your digest" in bob.get("/authors/John%20Smith").text
    assert "John Smith" not in bob.get("/settings/subscriptions").text
    assert bob.api("GET", "/api/following/authors").json() == []
    # Bob's unfollow of the same key takes nothing from Alice.
    bob.post("/settings/authors/unfollow", {"key": "smith|john|"})
    assert [f["name"] for f in alice.api("GET", "/api/following/authors").json()] == ["John Smith"]


def test_the_settings_page_lists_followed_authors_and_unfollows_them(authored: PaperFeed) -> None:
    reader = make_user(authored, "reader")
    visitor = Visitor(authored).log_in_as(reader)
    visitor.post("/authors/Klaus%20M%C3%BCller/follow", {"follow": "1"})
    settings = visitor.get("/settings/subscriptions").text
    assert '<a href="/authors/Klaus%20M%C3%BCller">Klaus Müller</a>' in settings
    forged = visitor.client.post("/settings/authors/unfollow", data={"key": "muller|klaus|"})
    assert forged.status_code == 403
    visitor.post("/settings/authors/unfollow", {"key": "muller|klaus|"})
    assert authored.followed_authors(reader) == []


# --- the JSON API ----------------------------------------------------------------


def test_the_api_gives_an_authors_papers_co_authors_categories_and_variants(authored: PaperFeed) -> None:
    body = Visitor(authored).get("/api/authors/John%20Smith", params={"per_page": 2}).json()
    assert body["name"] == "John Smith" and body["key"] == "smith|john|"
    assert [i["paper"]["title"] for i in body["papers"]["items"]] == [
        "Initials with a known co-author",
        "Newest Smith paper",
    ]
    assert body["papers"]["total"] == 4 and body["papers"]["pages"] == 2
    assert body["coauthors"][0] == {"name": "Ada Jones", "papers": 3}
    assert {"name": "cs.CL", "papers": 1} in body["categories"]
    assert {
        "name": "John A. Smith",
        "papers": 1,
        "joined": False,
        "reason": "no co-author in common",
    } in body["variants"]
    assert body["following"] is None


def test_following_through_the_api_needs_a_log_in_and_a_csrf_token(authored: PaperFeed) -> None:
    visitor = Visitor(authored)
    assert visitor.api("PUT", "/api/authors/John%20Smith/follow").status_code == 401
    visitor.log_in_as(make_user(authored, "reader"))
    assert visitor.client.put("/api/authors/John%20Smith/follow").status_code == 403  # no token
    answer = visitor.api("PUT", "/api/authors/John%20Smith/follow")
    assert answer.status_code == 200
    assert answer.json() == {"name": "John Smith", "key": "smith|john|", "following": True}
    assert visitor.get("/api/authors/John%20Smith").json()["following"] is True
    assert [f["key"] for f in visitor.api("GET", "/api/following/authors").json()] == ["smith|john|"]
    assert visitor.api("DELETE", "/api/authors/John%20Smith/follow").json()["following"] is False
    assert visitor.api("GET", "/api/following/authors").json() == []
    assert visitor.api("PUT", "/api/authors/Nobody%20Atall/follow").status_code == 404
