"""LaTeX in paper metadata: formulas are math spans on pages (typeset by the vendored KaTeX)
and readable plain text in feeds, mails and the command line; accents are decoded at import."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from helpers import add_papers, paper
from paperfeed import tex
from paperfeed.cli import app as cli_app
from paperfeed.community.comments import render_markdown
from paperfeed.web.app import create_app

HALO = r"The $^{11}$Be halo and the $\beta$-decay of \emph{exotic} nuclei in \(O(h^k)\) time"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (r"$^{11}$Be halo", "^11Be halo"),
        (r"The $\beta$-VAE", "The β-VAE"),
        (r"\emph{very} good", "very good"),
        (r"\(O(h^k)\) error", "O(h^k) error"),
        (r"Schr{\"o}dinger $\frac{a}{b}$", "Schrödinger a/b"),
        ("costs $5 and $10 in 50% of cases", "costs $5 and $10 in 50% of cases"),  # prices stay prices
        (r"a \$ sign", "a $ sign"),
        ("plain words", "plain words"),
    ],
)
def test_plain_text_makes_latex_readable(raw: str, shown: str):
    assert tex.plain(raw) == shown


def test_pages_get_math_spans_with_the_tex_and_a_readable_fallback():
    html = tex.to_html(HALO)
    assert '<span class="math" data-tex="^{11}">^11</span>Be' in html
    assert '<span class="math" data-tex="\\beta">β</span>-decay' in html
    assert "<em>exotic</em>" in html
    assert '<span class="math" data-tex="O(h^k)">O(h^k)</span> time' in html


def test_math_spans_escape_what_they_hold():
    html = tex.to_html(r"$<script>alert(1)</script>$ and <b>")
    assert "<script>" not in html and "<b>" not in html
    assert 'data-tex="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_a_cut_never_splits_a_formula():
    html = tex.to_html("word " * 10 + r"$\alpha + \beta$ and more words", limit=55)
    assert html.endswith("…") and html.count("<span") == html.count("</span>")


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (r"K. M\"uller", "K. Müller"),
        (r"Fran\c{c}ois", "François"),
        (r"{\'E}mile", "Émile"),
        ('$\\"x$', '$\\"x$'),
    ],
)
def test_accents_are_decoded_but_formulas_kept(raw: str, decoded: str):
    assert tex.decode_accents(raw) == decoded


def test_import_decodes_accents_in_names_and_titles(core):
    add_papers(
        core, paper(r"Schr\"odinger bridges for $\beta$-VAE", authors=[r"K. M\"uller", r"J. Dvo\v{r}\'ak"])
    )
    stored = core.store.papers.get(1)
    assert stored.authors == ["K. Müller", "J. Dvořák"]
    assert stored.title == r"Schrödinger bridges for $\beta$-VAE"


def test_comments_typeset_formulas_markdown_would_have_eaten():
    html = render_markdown(r"The bound \(O(h^k)\) holds for $x_1$ and _x_2_.")
    assert '<span class="math" data-tex="O(h^k)">O(h^k)</span>' in html
    assert '<span class="math" data-tex="x_1">x_1</span>' in html


def test_bare_addresses_in_comments_become_links():
    html = render_markdown("Code at https://github.com/example/repo. See e.g. the paper.")
    assert '<a href="https://github.com/example/repo" rel="nofollow noopener ugc">' in html
    assert "e.g." in html and html.count("<a ") == 1


def test_feeds_and_the_cli_show_the_plain_form(core):
    add_papers(core, paper(HALO, arxiv_id="2611.00001"))
    feed = feedparser.parse(TestClient(create_app(core)).get("/feeds/search.atom?q=halo").text)
    assert feed.entries[0].title == "The ^11Be halo and the β-decay of exotic nuclei in O(h^k) time"
    result = CliRunner().invoke(cli_app, ["search", "halo", "--mode", "keyword"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "β-decay" in result.output and "$" not in result.output


def test_paper_pages_hold_math_spans_and_load_the_typesetter(core):
    add_papers(core, paper(HALO, arxiv_id="2611.00001"))
    page = TestClient(create_app(core)).get("/papers/2611.00001").text
    assert '<h1><span class="math"' not in page  # the title starts with words
    assert 'data-tex="\\beta"' in page
    assert '<script src="/static/math.js" defer></script>' in page
    assert "<title>The ^11Be halo and the β-decay" in page
