"""Labelling topics by their most distinctive terms: class-based TF-IDF (as in BERTopic).

All papers of a topic are read as one document; a term weighs

    w(t, c) = sqrt(tf(t, c)) · log(1 + A / f(t))

where tf(t, c) is how often term t occurs in topic c, f(t) how often t occurs in every topic
together and A the average number of words per topic. A term frequent in one topic and rare
elsewhere ranks first; a word every topic uses ("model") sinks. The square root damps words a
whole field repeats ("LLMs" in a corpus about them), as BERTopic's `reduce_frequent_words` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# Words every abstract uses whatever its field; they would label nothing.
_ACADEMIC = """
    paper propose proposed proposes present presents introduce introduces approach approaches method
    methods result results show shows shown demonstrate demonstrates achieve achieves achieving novel
    new using use used based existing work works study studies task tasks performance state art
    significantly significant improve improves improved improvement improvements experiments
    experimental extensive furthermore respectively compared comparison outperforms outperform
    framework frameworks code available github com https http www et al previous prior recent
    recently various wide range effective effectively efficient efficiently problem problems key
    challenge challenges paradigm finally end able make makes including large scale data model models
"""
ACADEMIC_STOP_WORDS = frozenset(_ACADEMIC.split())
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS)
TERMS_PER_TOPIC = 10
# The vocabulary: the most frequent unigrams and bigrams. Bounds the (topics x terms) matrix,
# which with every bigram of 50,000 abstracts would take gigabytes.
MAX_TERMS = 50_000
VOCABULARY_SAMPLE = 8_000
LABEL_TERMS = 3


def distinctive_terms(texts: Sequence[str], labels: np.ndarray, n_topics: int) -> list[list[str]]:
    """Each topic's most distinctive terms (unigrams and bigrams), best first."""
    options = {
        "stop_words": STOP_WORDS,
        "ngram_range": (1, 2),
        "token_pattern": r"(?u)\b[A-Za-z][A-Za-z0-9\-]+\b",
        "lowercase": True,
    }
    # The vocabulary comes from a spread-out subsample: counting every bigram of tens of thousands
    # of abstracts first (as one pass would) takes gigabytes; a topic's distinctive terms recur
    # within it, so the subsample has them.
    step = max(1, -(-len(texts) // VOCABULARY_SAMPLE))
    try:
        sampled = CountVectorizer(min_df=2, max_features=MAX_TERMS, **options).fit(texts[::step])
    except ValueError:  # no term occurs twice: too few papers to say anything
        return [[] for _ in range(n_topics)]
    vectorizer = CountVectorizer(vocabulary=sampled.vocabulary_, **options)
    counts = vectorizer.fit_transform(texts)
    vocabulary = vectorizer.get_feature_names_out()
    # Sum the rows of each topic: a sparse (topics x papers) indicator times (papers x terms).
    from scipy.sparse import csr_matrix

    indicator = csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_topics, len(labels))
    )
    tf = np.asarray((indicator @ counts).todense(), dtype=np.float64)
    words = tf.sum(axis=1, keepdims=True)
    frequency = tf.sum(axis=0)
    average = words.mean() if len(words) else 0.0
    weights = np.sqrt(tf) * np.log1p(average / np.maximum(frequency, 1.0))
    terms: list[list[str]] = []
    for row in weights:
        order = np.argsort(-row, kind="stable")
        chosen: list[str] = []
        for index in order:
            if row[index] <= 0 or len(chosen) >= TERMS_PER_TOPIC:
                break
            term = str(vocabulary[index])
            if any(_overlaps(term, other) for other in chosen):
                continue  # "speculative" adds nothing next to "speculative decoding"
            chosen.append(term)
        terms.append(chosen)
    return terms


def _overlaps(term: str, other: str) -> bool:
    a, b = set(term.split()), set(other.split())
    return a <= b or b <= a


def label_of(terms: Sequence[str]) -> str:
    return ", ".join(terms[:LABEL_TERMS]) if terms else "unlabelled"
