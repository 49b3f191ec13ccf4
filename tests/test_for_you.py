"""The For-you page and its API: personal recommendations with their reasons, per-collection
recommendations, "Not interested", and who may see which."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import MODEL, add_papers, axis, paper
from paperfeed.core import PaperFeed
from paperfeed.errors import NotFound
from paperfeed.library.recommend import Recommender
from paperfeed.models import User
from paperfeed.store.subscriptions import SubscriptionSpec
from paperfeed.web.security import CSRF_HEADER

TODAY = dt.datetime.now(dt.UTC).date()
OLD = TODAY - dt.timedelta(days=200)
RECENT = TODAY - dt.timedelta(days=2)

# Axis 0 is proteins, 1 language, 2 vision; 3 and up are details within a topic.
LIKED = {
    "2501.00001": ("Protein Folding with Attention", axis((0, 1.0), (3, 0.5))),
    "2501.00002": ("Enzyme Design by Diffusion", axis((0, 1.0), (4, 0.5))),
}
VISION = {
    "2501.00011": ("Segmenting Cells in Microscopy", axis((2, 1.0), (9, 0.4))),
    "2501.00012": ("Detecting Objects in the Dark", axis((2, 1.0), (10, 0.4))),
}
NEW = {
    "2611.00101": ("Attention for Protein Structure", axis((0, 1.0), (3, 0.45), (5, 0.1))),
    "2611.00102": ("Diffusion Designs New Enzymes", axis((0, 1.0), (4, 0.45), (6, 0.1))),
    "2611.00103": ("Folding Enzymes by Attention", axis((0, 1.0), (3, 0.4), (4, 0.4))),
    "2611.00104": ("Enzyme Kinetics at Scale", axis((0, 1.0), (4, 0.3), (11, 0.4))),
    "2611.00105": ("Chatbots That Reason", axis((1, 1.0), (7, 0.2))),
    "2611.00106": ("Segment Everything Faster", axis((2, 1.0), (9, 0.3))),
    "2611.00107": ("Night Vision Detectors", axis((2, 1.0), (10, 0.3))),
}
FILLER = {
    f"2606.{i:05d}": (f"Unrelated Study {i}", axis((1 + i % 2, 1.0), (12 + i % 4, 0.3))) for i in range(30)
}


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def shelf(core: PaperFeed) -> PaperFeed:
    """Papers on three topics with hand-made embeddings; "ada" upvoted one protein paper, saved
    another, and keeps vision papers in a private collection "Vision"."""
    add_papers(
        core,
        *(paper(title, arxiv_id=ref, published=OLD) for ref, (title, _) in {**LIKED, **VISION}.items()),
        *(paper(title, arxiv_id=ref, published=RECENT) for ref, (title, _) in NEW.items()),
        *(paper(title, arxiv_id=ref, published=OLD) for ref, (title, _) in FILLER.items()),
    )
    vectors = {**LIKED, **VISION, **NEW, **FILLER}
    ids = core.store.papers.ids_with_keys(vectors)
    core.store.embeddings.put_many(MODEL, [(ids[ref], "hash", vector) for ref, (_, vector) in vectors.items()])
    ada = make_user(core, "ada")
    core.toggle_vote(ada, "2501.00001")
    core.set_saved(ada, "2501.00002", True)
    vision = core.create_collection(ada, "Vision")
    for ref in VISION:
        core.add_to_collection(ada, vision.id, ref)
    return core


def ada(core: PaperFeed) -> User:
    user = core.store.users.by_name("ada")
    assert user is not None
    return user


def vision_id(core: PaperFeed) -> int:
    return next(c.id for c in core.collections(ada(core)) if c.name.startswith("Vision"))


def titles(page) -> list[str]:
    return [item.paper.title for item in page.items]


# --- what is recommended, and why -------------------------------------------------------------------


def test_recommendations_learn_from_votes_saves_and_collections_and_name_the_nearest_liked_papers(shelf):
    page = shelf.recommendations(ada(shelf), window="all", per_page=100)

    assert page.ranking == "recommended"
    assert set(titles(page)[:4]) == {
        "Attention for Protein Structure",
        "Diffusion Designs New Enzymes",
        "Folding Enzymes by Attention",
        "Enzyme Kinetics at Scale",
    }
    reasons = {item.paper.title: item.reason for item in page.items}
    assert reasons["Attention for Protein Structure"] == "because you liked “Protein Folding with Attention”"
    # As near to both protein papers: both are named.
    assert reasons["Folding Enzymes by Attention"] in (
        "because you liked “Protein Folding with Attention” and “Enzyme Design by Diffusion”",
        "because you liked “Enzyme Design by Diffusion” and “Protein Folding with Attention”",
    )
    # The vision collection counts too: its papers' neighbours come before unrelated ones.
    assert titles(page).index("Segment Everything Faster") < titles(page).index("Chatbots That Reason")
    assert not set(titles(page)) & {title for title, _ in (*LIKED.values(), *VISION.values())}


def test_recommendations_look_at_the_chosen_window_only(shelf):
    month = shelf.recommendations(ada(shelf), window="month")

    assert set(titles(month)) == {title for title, _ in NEW.values()}
    with pytest.raises(Exception, match="window"):
        shelf.recommendations(ada(shelf), window="decade")


def test_a_collections_recommendations_learn_from_its_papers_alone(shelf):
    page = shelf.recommendations(ada(shelf), collection_id=vision_id(shelf), window="all")

    assert set(titles(page)[:2]) == {"Segment Everything Faster", "Night Vision Detectors"}
    reasons = {item.paper.title: item.reason for item in page.items}
    assert reasons["Night Vision Detectors"] == "because you saved “Detecting Objects in the Dark” in Vision"
    assert not any("Protein" in (reason or "") for reason in reasons.values())
    # What the user liked elsewhere is never recommended back to them.
    assert "Protein Folding with Attention" not in titles(page)


def test_a_collections_name_is_quoted_as_it_is_in_the_reason(shelf):
    shelf.update_collection(ada(shelf), vision_id(shelf), name="Vision {cv} 100%")

    page = shelf.recommendations(ada(shelf), collection_id=vision_id(shelf), window="all")

    reasons = {item.paper.title: item.reason for item in page.items}
    assert reasons["Night Vision Detectors"] == "because you saved “Detecting Objects in the Dark” in Vision {cv} 100%"


def test_a_user_who_liked_nothing_gets_no_recommendations(shelf):
    newcomer = make_user(shelf, "newcomer")

    page = shelf.recommendations(newcomer, window="all")

    assert (page.items, page.total) == ([], 0)
    assert not shelf.has_liked(newcomer) and shelf.has_liked(ada(shelf))


# --- not interested ------------------------------------------------------------------------------------


def test_a_dismissed_paper_leaves_every_recommendation_and_comes_back_on_undo(shelf):
    user = ada(shelf)
    shelf.dismiss(user, "2611.00101")

    assert "Attention for Protein Structure" not in titles(shelf.recommendations(user, window="all"))
    # The digest's and the private feed's recommender leaves it out too.
    assert "Attention for Protein Structure" not in titles(Recommender(shelf.store).recommend(user.id, per_page=50))
    vision = shelf.recommendations(user, collection_id=vision_id(shelf), window="all", per_page=50)
    assert "Attention for Protein Structure" not in titles(vision)

    shelf.undismiss(user, "2611.00101")
    assert "Attention for Protein Structure" in titles(shelf.recommendations(user, window="all"))


def test_a_dismissed_paper_leaves_the_private_recommendations_feed(shelf):
    user = ada(shelf)
    subscription = shelf.store.subscriptions.create(
        SubscriptionSpec(email="ada@example.org", include_recommendations=True), user_id=user.id
    )
    feed_url = f"/feeds/recommended/{subscription.feed_token}.atom"
    visitor = Visitor(shelf)
    assert "Attention for Protein Structure" in visitor.get(feed_url).text

    shelf.dismiss(user, "2611.00101")

    assert "Attention for Protein Structure" not in visitor.get(feed_url).text


def test_a_dismissal_teaches_the_model_to_rank_papers_like_it_lower(shelf):
    user = ada(shelf)

    def score_of(title: str) -> float:
        page = shelf.recommendations(user, window="all", per_page=100)
        return next(item.score for item in page.items if item.paper.title == title)

    before = score_of("Enzyme Kinetics at Scale")
    shelf.dismiss(user, "2611.00102")  # the other new enzyme paper

    assert score_of("Enzyme Kinetics at Scale") < before
    page = shelf.recommendations(user, window="all")
    assert titles(page).index("Attention for Protein Structure") < titles(page).index("Enzyme Kinetics at Scale")


def test_dismissing_a_paper_twice_or_undoing_a_missing_dismissal_is_harmless(shelf):
    user = ada(shelf)
    paper_id = shelf.paper("2611.00105").id
    assert shelf.store.dismissals.add(user.id, paper_id, dt.datetime.now(dt.UTC))
    assert not shelf.store.dismissals.add(user.id, paper_id, dt.datetime.now(dt.UTC))
    assert shelf.store.dismissals.paper_ids([user.id]) == {user.id: [paper_id]}
    assert shelf.store.dismissals.remove(user.id, paper_id)
    assert not shelf.store.dismissals.remove(user.id, paper_id)


# --- the page -------------------------------------------------------------------------------------------


def test_the_page_shows_each_recommendation_with_its_reason_and_a_not_interested_button(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    page = visitor.get("/for-you?window=all")

    assert page.status_code == 200
    assert "Attention for Protein Structure" in page.text
    assert "because you liked “Protein Folding with Attention”" in page.text
    assert 'action="/papers/2611.00101/dismiss"' in page.text
    assert '<a href="/for-you" aria-current="page">For you</a>' in page.text  # in the account menu
    assert f'href="/for-you?collection={vision_id(shelf)}&amp;window=all"' in page.text


def test_anonymous_visitors_are_sent_to_log_in(shelf):
    answer = Visitor(shelf).get("/for-you", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Ffor-you"


def test_a_new_user_is_told_how_to_get_recommendations(shelf):
    visitor = Visitor(shelf).log_in_as(make_user(shelf, "newcomer"))

    page = visitor.get("/for-you").text

    assert "Nothing to recommend yet" in page
    assert "import your Zotero, Mendeley or BibTeX library" in page


def test_a_collection_page_links_its_owner_to_its_recommendations(shelf):
    collection = vision_id(shelf)
    owner_view = Visitor(shelf).log_in_as(ada(shelf)).get(f"/collections/{collection}").text
    assert f'href="/for-you?collection={collection}"' in owner_view

    page = Visitor(shelf).log_in_as(ada(shelf)).get(f"/for-you?collection={collection}&window=all").text
    assert "For “Vision”" in page
    assert "because you saved “Detecting Objects in the Dark” in Vision" in page


def test_not_interested_in_place_swaps_the_card_for_an_undo(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    fragment = visitor.post(
        "/papers/2611.00101/dismiss", {"next": "/for-you?window=all"}, headers={"HX-Request": "true"}
    )

    assert fragment.status_code == 200
    assert "will not be recommended again" in fragment.text
    assert 'action="/papers/2611.00101/undismiss"' in fragment.text
    assert "Attention for Protein Structure" not in titles(shelf.recommendations(ada(shelf), window="all"))
    visitor.post("/papers/2611.00101/undismiss", {"next": "/for-you"})
    assert "Attention for Protein Structure" in titles(shelf.recommendations(ada(shelf), window="all"))


def test_not_interested_without_javascript_comes_back_with_a_message_and_undo(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    answer = visitor.post("/papers/2611.00101/dismiss", {"next": "/for-you?window=all"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/for-you?window=all"

    page = visitor.get("/for-you?window=all").text
    assert "“Attention for Protein Structure” will not be recommended again." in page
    assert 'action="/papers/2611.00101/undismiss"' in page
    assert 'action="/papers/2611.00101/dismiss"' not in page


def test_not_interested_needs_the_csrf_token(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    refused = visitor.client.post("/papers/2611.00101/dismiss", data={"next": "/for-you"})
    refused_api = visitor.client.post("/api/dismissals", json={"paper": "2611.00101"})

    assert refused.status_code == 403 and refused_api.status_code == 403
    assert shelf.store.dismissals.paper_ids([ada(shelf).id]) == {ada(shelf).id: []}


# --- the JSON API ----------------------------------------------------------------------------------------


def test_the_api_lists_recommendations_with_reasons_and_records_dismissals(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    answer = visitor.get("/api/recommendations?window=all&per_page=5")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ranking"] == "recommended" and len(body["items"]) == 5
    first = body["items"][0]
    assert first["reason"].startswith("because you liked “")

    dismissed = visitor.api("POST", "/api/dismissals", {"paper": first["paper"]["paper_id"]})
    assert dismissed.status_code == 201 and dismissed.json()["dismissed"] is True
    after = visitor.get("/api/recommendations?window=all&per_page=5").json()
    assert first["paper"]["paper_id"] not in [item["paper"]["paper_id"] for item in after["items"]]

    undone = visitor.api("DELETE", f"/api/dismissals/{first['paper']['paper_id']}")
    assert undone.status_code == 200 and undone.json()["dismissed"] is False
    assert visitor.api("POST", "/api/dismissals", {"paper": "2699.99999"}).status_code == 404


def test_the_api_recommends_for_one_collection(shelf):
    visitor = Visitor(shelf).log_in_as(ada(shelf))

    body = visitor.get(f"/api/recommendations?window=all&collection={vision_id(shelf)}").json()

    assert {item["paper"]["title"] for item in body["items"][:2]} == {
        "Segment Everything Faster",
        "Night Vision Detectors",
    }


def test_the_api_asks_anonymous_callers_to_log_in(shelf):
    visitor = Visitor(shelf)

    assert visitor.get("/api/recommendations").status_code == 401
    assert visitor.api("POST", "/api/dismissals", {"paper": "2611.00101"}).status_code == 401
    assert visitor.api("DELETE", "/api/dismissals/2611.00101").status_code == 401


# --- authorization ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["private", "public"])
def test_nobody_gets_recommendations_from_another_users_collection(shelf, visibility):
    collection = vision_id(shelf)
    shelf.update_collection(ada(shelf), collection, visibility=visibility)
    bob = Visitor(shelf).log_in_as(make_user(shelf, "bob"))

    assert bob.get(f"/for-you?collection={collection}").status_code == 404
    api = bob.get(f"/api/recommendations?collection={collection}")
    assert api.status_code == 404 and "Vision" not in api.text
    with pytest.raises(NotFound):
        shelf.recommendations(shelf.store.users.by_name("bob"), collection_id=collection)


def test_another_user_sees_their_own_recommendations_never_mine(shelf):
    bob = Visitor(shelf).log_in_as(make_user(shelf, "bob"))

    page = bob.get("/for-you?window=all").text
    api = bob.get("/api/recommendations?window=all").json()

    assert "Nothing to recommend yet" in page and "Protein Folding with Attention" not in page
    assert api["items"] == [] and api["total"] == 0


def test_one_users_dismissals_never_change_anothers_recommendations(shelf):
    bob_user = make_user(shelf, "bob")
    bob = Visitor(shelf).log_in_as(bob_user)
    before = titles(shelf.recommendations(ada(shelf), window="all"))

    assert bob.api("POST", "/api/dismissals", {"paper": "2611.00101"}).status_code == 201
    assert bob.client.request(
        "DELETE", "/api/dismissals/2611.00102", headers={CSRF_HEADER: bob.token()}
    ).status_code == 200

    assert titles(shelf.recommendations(ada(shelf), window="all")) == before
    assert shelf.store.dismissals.paper_ids([ada(shelf).id]) == {ada(shelf).id: []}


def test_recommendation_scores_are_finite_numbers(shelf):
    page = shelf.recommendations(ada(shelf), window="all", per_page=100)

    assert page.total == len(NEW) + len(FILLER)
    assert np.isfinite([item.score for item in page.items]).all()
