"""Topics: papers clustered by meaning, labelled by their distinctive terms, new papers joining
their nearest topic, rebuilds that keep topics' ids, and trends per topic."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from helpers import add_papers, day, paper
from paperfeed.cli import app as cli_app
from paperfeed.insight import trends
from paperfeed.models import PaperRecord

# Three fields with nothing in common; each paper says its field's words differently.
GROUPS = {
    "decoding": [
        (
            "Speculative decoding with a draft model",
            "A small draft model proposes tokens that a large language model verifies in parallel, speeding up speculative decoding.",
        ),
        (
            "Tree-based speculative decoding",
            "We verify a tree of draft tokens at once, so speculative decoding accepts more tokens per forward pass of the language model.",
        ),
        (
            "Self-speculative decoding by layer skipping",
            "The language model drafts tokens by skipping layers and verifies them with all layers: speculative decoding without a draft model.",
        ),
        (
            "Faster token generation by speculation",
            "Draft tokens guessed cheaply are checked by the target language model in one pass, which accelerates autoregressive decoding.",
        ),
        (
            "Adaptive draft length for speculative decoding",
            "Choosing how many draft tokens to propose per step raises the acceptance rate of speculative decoding in language models.",
        ),
        (
            "Lossless acceleration of language model decoding",
            "Speculative sampling keeps the target distribution exactly while draft tokens cut the latency of language model decoding.",
        ),
    ],
    "proteins": [
        (
            "Predicting protein structure from sequence",
            "Amino acid sequences are folded into three-dimensional protein structures by a network trained on crystallography data.",
        ),
        (
            "Protein folding with coevolution signals",
            "Multiple sequence alignments reveal residue contacts that guide the folding of protein structures.",
        ),
        (
            "Designing enzymes with protein language models",
            "Generated amino acid sequences fold into enzymes whose catalytic activity is confirmed in the wet lab.",
        ),
        (
            "Protein docking of antibodies",
            "We predict how antibody proteins bind antigen surfaces from their amino acid sequences and folded structures.",
        ),
        (
            "Side-chain packing in protein structures",
            "Rotamers of amino acid side chains are placed on protein backbones to complete folded structures.",
        ),
        (
            "Protein stability after mutations",
            "Point mutations of amino acids change the folding stability of proteins, which we predict from structure.",
        ),
    ],
    "graphs": [
        (
            "Graph colouring with few colours",
            "We colour the vertices of planar graphs so that adjacent vertices differ, using at most five colours.",
        ),
        (
            "Chromatic number of random graphs",
            "The chromatic number of sparse random graphs concentrates on two values, proved by the second moment method.",
        ),
        (
            "Edge colouring of multigraphs",
            "Edges of multigraphs are coloured with few colours so that edges sharing a vertex differ, bounding the chromatic index.",
        ),
        (
            "List colouring of planar graphs",
            "Every planar graph admits a proper vertex colouring from lists of five colours at each vertex.",
        ),
        (
            "Colouring graphs without long induced paths",
            "Graphs with no long induced path have chromatic number bounded by a function of their clique number.",
        ),
        (
            "Distributed graph colouring algorithms",
            "Vertices of a network graph pick colours in few communication rounds so that neighbours never share a colour.",
        ),
    ],
}


def _records(listed_on: dt.date = day("2026-03-02")) -> list[PaperRecord]:
    return [
        paper(title, abstract, listed_on=listed_on, published=listed_on)
        for group in GROUPS.values()
        for title, abstract in group
    ]


@pytest.fixture
def grouped(core):
    add_papers(core, *_records())
    report = core.insight.rebuild(topics=3)
    assert report.topics == 3
    return core


def _papers_by_title(core) -> dict:
    return {p.title: p for p in core.store.papers.get_many(list(range(1, 200)))}


def test_a_rebuild_puts_each_field_in_its_own_topic_labelled_by_its_distinctive_words(grouped):
    core = grouped
    by_title = _papers_by_title(core)
    labels = {}
    for name, group in GROUPS.items():
        topics = {core.insight.topic_of(by_title[title]).id for title, _ in group}
        assert len(topics) == 1, f"{name} papers were split over topics {topics}"
        topic = core.insight.topic(topics.pop())
        assert topic.size == len(group)
        assert core.store.papers.get(topic.representative_id).title in dict(group)
        labels[name] = topic.terms
    assert any("speculative" in term or "draft" in term for term in labels["decoding"][:3])
    assert any("protein" in term or "amino" in term for term in labels["proteins"][:3])
    assert any("colour" in term or "chromatic" in term for term in labels["graphs"][:3])


def test_a_new_paper_joins_its_nearest_topic_and_lands_near_it_on_the_map_without_a_rebuild(grouped):
    core = grouped
    by_title = _papers_by_title(core)
    proteins = core.insight.topic_of(by_title["Protein folding with coevolution signals"])
    add_papers(
        core,
        paper(
            "Folding membrane proteins", "Membrane protein structures are folded from amino acid sequences."
        ),
    )
    newcomer = _papers_by_title(core)["Folding membrane proteins"]
    topic = core.insight.topic_of(newcomer)
    assert topic is not None and topic.id == proteins.id
    assert core.insight.topic(proteins.id).size == len(GROUPS["proteins"]) + 1
    # On the map it sits among protein papers, nearer them than the graph papers' centre.
    positions = core.store.topics.positions([p.id for p in _papers_by_title(core).values()])
    x, y = positions[newcomer.id]
    graphs = core.insight.topic_of(by_title["List colouring of planar graphs"])
    to_own = (x - proteins.x) ** 2 + (y - proteins.y) ** 2
    to_other = (x - graphs.x) ** 2 + (y - graphs.y) ** 2
    assert to_own < to_other


def test_a_rebuild_keeps_the_ids_and_followers_of_topics_it_continues(grouped):
    core = grouped
    user = core.create_user("reader", "a long password 1")
    by_title = _papers_by_title(core)
    graphs = core.insight.topic_of(by_title["Edge colouring of multigraphs"])
    core.insight.follow(user.id, graphs.id, True, dt.datetime.now(dt.UTC))
    report = core.insight.rebuild(topics=3)
    assert report.kept_ids == 3
    assert core.insight.topic_of(by_title["Edge colouring of multigraphs"]).id == graphs.id
    assert [t.id for t in core.insight.followed(user.id)] == [graphs.id]


def test_hidden_papers_are_left_out_of_topics(grouped):
    core = grouped
    admin = core.create_user("root", "a long password 1", admin=True)
    hidden = _papers_by_title(core)["Graph colouring with few colours"]
    core.hide_paper(admin, hidden.key)
    core.insight.rebuild(topics=3)
    assert core.insight.topic_of(hidden) is None
    assert sum(t.size for t in core.insight.topics()) == sum(len(g) for g in GROUPS.values()) - 1


def test_an_empty_store_builds_no_topics_and_the_command_says_so(core):
    result = CliRunner().invoke(cli_app, ["topics", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "no papers" in result.output
    assert core.insight.topics() == []


def test_topics_rebuild_from_the_command_line_reports_what_it_built(core):
    add_papers(core, *_records())
    result = CliRunner().invoke(cli_app, ["topics", "rebuild", "--topics", "3"])
    assert result.exit_code == 0, result.output
    assert "3 topics over 18 papers" in result.output
    listed = CliRunner().invoke(cli_app, ["topics", "list"])
    assert listed.exit_code == 0 and "protein" in listed.output


# --- trends -------------------------------------------------------------------------------------


def test_a_small_topic_doubling_from_nothing_does_not_outrank_a_large_topic_doubling():
    # Topic 1: 40 baseline papers, 80 recent; topic 2: none, then 2; topic 3 steady at 100.
    scores = trends.rising_scores({1: 80, 2: 2, 3: 100}, {1: 40, 2: 0, 3: 100}, [1, 2, 3])
    assert scores[1][1] > scores[2][1] > 0
    assert scores[3][1] < 0  # kept its count while the others grew: its share fell


def test_growth_that_every_topic_shares_is_not_rising():
    scores = trends.rising_scores({1: 30, 2: 60}, {1: 10, 2: 20}, [1, 2])  # everything tripled
    assert all(abs(score) < 1 for _expected, score in scores.values())


def test_trends_count_papers_per_topic_per_week_and_find_the_rising_topic(core):
    weeks = [day("2026-01-05") + dt.timedelta(weeks=i) for i in range(16)]
    records = []
    for i, monday in enumerate(weeks):
        # Decoding: one paper a week for 12 weeks, then four a week; proteins: two a week throughout.
        decoding = 4 if i >= 12 else 1
        for n in range(decoding):
            title, abstract = GROUPS["decoding"][(i + n) % 6]
            records.append(paper(f"{title} {i}-{n}", abstract, published=monday + dt.timedelta(days=n)))
        for n in range(2):
            title, abstract = GROUPS["proteins"][(i + n) % 6]
            records.append(paper(f"{title} {i}-{n}", abstract, published=monday + dt.timedelta(days=n)))
    add_papers(core, *records)
    core.insight.rebuild(topics=2)
    result = core.insight.trends()
    assert result.weeks[-1] == weeks[-1]
    decoding = next(
        r
        for r in result.scores
        if "speculative" in " ".join(r.topic.terms) or "draft" in " ".join(r.topic.terms)
    )
    series = result.series[decoding.topic.id]
    assert series.counts[-4:] == [4, 4, 4, 4]
    assert series.counts[-16:-4] == [1] * 12
    assert [r.topic.id for r in result.rising] == [decoding.topic.id]
    assert decoding.recent == 16 and decoding.growth > 1.5


def test_placing_many_papers_at_once_gives_each_the_place_it_gets_alone():
    import numpy as np

    from paperfeed.insight import projection

    rng = np.random.default_rng(1)
    anchors = rng.standard_normal((50, 8)).astype(np.float32)
    anchors /= np.linalg.norm(anchors, axis=1, keepdims=True)
    anchor_points = rng.uniform(-1, 1, (50, 2)).astype(np.float32)
    papers = rng.standard_normal((projection.PLACE_BLOCK * 2 + 7, 8)).astype(np.float32)
    papers /= np.linalg.norm(papers, axis=1, keepdims=True)
    together = projection.place(papers, anchors, anchor_points)
    alone = np.vstack(
        [projection.place(papers[i : i + 1], anchors, anchor_points) for i in (0, 1500, len(papers) - 1)]
    )
    assert together.shape == (len(papers), 2)
    np.testing.assert_allclose(together[[0, 1500, len(papers) - 1]], alone, rtol=1e-5, atol=1e-6)
    # A paper identical to an anchor lands on it.
    np.testing.assert_allclose(
        projection.place(anchors[3:4], anchors, anchor_points)[0], anchor_points[3], atol=0.05
    )
