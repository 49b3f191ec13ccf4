"""A synthetic arXiv metadata snapshot with the real snapshot's shape, for full-scale benchmarks.

    python benchmarks/arxiv_shape.py 2600000 benchmarks/out/arxiv-2600000.jsonl

The records are synthetic: no real paper, title, abstract or author is in them. Words are drawn
from the vocabulary of the bundled demo abstracts with a Zipf law (see corpus.py); everything
else is drawn from distributions that follow published statistics of arXiv and of its metadata
snapshot (the "arxiv-metadata-oai-snapshot.json" that Cornell publishes on Kaggle):

- Papers per year, 1991-2026: arXiv's submission rate statistics (info.arxiv.org/help/stats,
  "arXiv submission rate statistics" by year and by area): a few thousand a year in 1992,
  about 10,000 a month in late 2016 (the 1,000,000th paper came in January 2015), about
  20,000 a month in 2024. YEARLY_PAPERS rounds those figures (2025-26 extrapolated); the curve is scaled to the
  number of papers asked for.
- Primary archive per year: the same statistics "by area" (hep flat from the late 1990s,
  astro-ph and cond-mat overtaking it in 2005, math growing from 2002, cs ramping up from
  2007 and above a third of all submissions in the 2020s); subcategories from arXiv's category
  taxonomy (arxiv.org/category_taxonomy) with rough within-archive weights. Archives start when
  arXiv opened them (cs 1998, q-bio 2003, stat 2007, q-fin 2008, eess and econ 2017); astro-ph
  has subcategories from 2009.
- Cross-lists: about half of the snapshot's papers list one category, most of the rest two or
  three (public analyses of the Kaggle snapshot; Clement et al. 2019, "On the Use of ArXiv as a
  Dataset", arXiv:1905.00075).
- Title and abstract lengths: titles about 10 words (log-normal), abstracts about 100 words in the
  1990s growing to about 170 now, under arXiv's 1,920-character abstract limit, wrapped with
  newlines and indented as the snapshot's are.
- Authors per paper: a log-normal whose median grows from 2 (1990s) to 4 (2020s), plus the
  collaboration papers of hep-ex, astro-ph, nucl-ex and gr-qc with 50 to 3,000 authors (the
  LHC experiments sign with about 3,000). Authors come from a pool of 1.5 million names with a
  power law, so a few authors have thousands of papers and most have one or two.
- Versions: about 60 % of papers have one, 25 % two, 9 % three, the rest up to 15.
- DOI and journal-ref: about half of the papers older than two years have a DOI and 40 % a
  journal-ref; recent papers far fewer (not yet published). Licences from 2004 (none before).
- Identifiers: old style ("hep-th/9901001") until March 2007, then "0704.0001", five digits from
  2015 — unique, in submission order, as the snapshot lists them.

All of it is approximate: it gives the importer and the index the snapshot's sizes, mix and
tails, not its content. Deterministic for a seed; records are streamed to the output, about a
month of papers in memory at a time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import vocabulary

# New papers per year (rounded from arXiv's submission statistics; 2026 estimated).
YEARLY_PAPERS = {
    1991: 300, 1992: 3_200, 1993: 6_800, 1994: 10_000, 1995: 13_000, 1996: 15_700, 1997: 19_600,
    1998: 24_000, 1999: 28_000, 2000: 30_500, 2001: 33_000, 2002: 36_000, 2003: 39_000,
    2004: 43_000, 2005: 45_500, 2006: 49_000, 2007: 55_000, 2008: 58_900, 2009: 64_000,
    2010: 70_000, 2011: 76_500, 2012: 84_500, 2013: 92_000, 2014: 97_500, 2015: 105_000,
    2016: 113_000, 2017: 124_000, 2018: 140_000, 2019: 155_800, 2020: 178_000, 2021: 181_600,
    2022: 185_700, 2023: 208_000, 2024: 240_000, 2025: 280_000, 2026: 300_000,
}  # fmt: skip
FIRST_MONTH = (1991, 8)
LAST_DAY = dt.date(2026, 11, 30)

# Share of new papers by primary archive at anchor years, interpolated linearly in between.
ARCHIVE_SHARES: dict[int, dict[str, float]] = {
    1992: {"hep-th": 0.30, "hep-ph": 0.20, "hep-lat": 0.06, "hep-ex": 0.02, "cond-mat": 0.18,
           "astro-ph": 0.08, "math": 0.05, "gr-qc": 0.05, "nucl-th": 0.03, "quant-ph": 0.01,
           "math-ph": 0.01, "nlin": 0.01},
    1998: {"hep-th": 0.13, "hep-ph": 0.15, "hep-lat": 0.03, "hep-ex": 0.03, "cond-mat": 0.21,
           "astro-ph": 0.17, "math": 0.10, "gr-qc": 0.04, "nucl-th": 0.025, "nucl-ex": 0.01,
           "quant-ph": 0.04, "math-ph": 0.02, "nlin": 0.02, "physics": 0.025, "cs": 0.01},
    2005: {"hep-th": 0.07, "hep-ph": 0.09, "hep-lat": 0.015, "hep-ex": 0.015, "cond-mat": 0.20,
           "astro-ph": 0.18, "math": 0.19, "gr-qc": 0.03, "nucl-th": 0.02, "nucl-ex": 0.01,
           "quant-ph": 0.05, "math-ph": 0.025, "nlin": 0.015, "physics": 0.05, "cs": 0.04,
           "q-bio": 0.01},
    2015: {"hep-th": 0.035, "hep-ph": 0.045, "hep-lat": 0.006, "hep-ex": 0.01, "cond-mat": 0.12,
           "astro-ph": 0.11, "math": 0.23, "gr-qc": 0.02, "nucl-th": 0.01, "nucl-ex": 0.005,
           "quant-ph": 0.05, "math-ph": 0.015, "nlin": 0.008, "physics": 0.07, "cs": 0.22,
           "stat": 0.03, "q-bio": 0.01, "q-fin": 0.006},
    2025: {"hep-th": 0.018, "hep-ph": 0.022, "hep-lat": 0.003, "hep-ex": 0.006, "cond-mat": 0.065,
           "astro-ph": 0.06, "math": 0.15, "gr-qc": 0.012, "nucl-th": 0.006, "nucl-ex": 0.003,
           "quant-ph": 0.045, "math-ph": 0.007, "nlin": 0.004, "physics": 0.06, "cs": 0.45,
           "stat": 0.03, "q-bio": 0.01, "q-fin": 0.005, "eess": 0.04, "econ": 0.005},
}  # fmt: skip
ARCHIVE_OPENED = {"cs": 1998, "q-bio": 2003, "stat": 2007, "q-fin": 2008, "eess": 2017, "econ": 2017}
ASTRO_PH_SPLIT = 2009  # astro-ph papers got subcategories (astro-ph.GA, ...) in 2009

# Subcategories (taxonomy names) with rough weights; archives without are used as they are.
SUBCATEGORIES: dict[str, dict[str, float]] = {
    "cs": {"LG": 20, "CV": 18, "CL": 12, "AI": 9, "RO": 5, "CR": 4, "IT": 4, "DS": 3, "SE": 3,
           "NI": 3, "DC": 3, "HC": 3, "IR": 2.5, "SY": 2, "NE": 2, "LO": 2, "SI": 2, "GT": 1.5,
           "DB": 1, "PL": 1, "CY": 1.5, "MA": 1, "SD": 1, "GR": 1, "CC": 1, "FL": 0.7, "DM": 0.8,
           "NA": 0.8, "MM": 0.6, "CE": 0.5, "PF": 0.4, "AR": 0.5, "ET": 0.4, "CG": 0.8, "DL": 0.4,
           "MS": 0.3, "SC": 0.3, "OH": 0.2},
    "math": {"AP": 9, "CO": 8, "PR": 8, "NT": 7, "AG": 7, "DG": 6, "OC": 7, "NA": 6, "DS": 5,
             "FA": 5, "GT": 4, "RT": 3, "GR": 3.5, "QA": 2.5, "CA": 3, "ST": 3, "AT": 2, "LO": 2,
             "CV": 2, "OA": 2, "RA": 2, "SP": 1.5, "MG": 1, "AC": 1.5, "KT": 0.5, "CT": 1,
             "SG": 1, "GN": 0.5, "HO": 0.5, "GM": 0.5, "IT": 3, "MP": 3},
    "cond-mat": {"mes-hall": 22, "str-el": 18, "mtrl-sci": 20, "stat-mech": 14, "supr-con": 8,
                 "soft": 9, "quant-gas": 6, "dis-nn": 3, "other": 3},
    "astro-ph": {"GA": 26, "CO": 22, "HE": 17, "SR": 20, "EP": 8, "IM": 7},
    "physics": {"optics": 20, "flu-dyn": 12, "atom-ph": 8, "chem-ph": 8, "soc-ph": 7,
                "comp-ph": 7, "plasm-ph": 6, "ins-det": 6, "app-ph": 7, "bio-ph": 5, "gen-ph": 3,
                "class-ph": 2, "data-an": 3, "acc-ph": 2, "med-ph": 3, "space-ph": 2, "ao-ph": 2,
                "hist-ph": 1, "ed-ph": 1, "geo-ph": 1.5, "pop-ph": 0.5, "atm-clus": 0.5},
    "stat": {"ML": 35, "ME": 30, "AP": 20, "CO": 8, "TH": 5, "OT": 2},
    "eess": {"SP": 35, "IV": 25, "SY": 25, "AS": 15},
    "q-bio": {"NC": 25, "QM": 20, "PE": 15, "BM": 12, "MN": 8, "GN": 8, "CB": 5, "TO": 4, "SC": 3},
    "q-fin": {"ST": 20, "MF": 20, "CP": 12, "PM": 12, "RM": 10, "GN": 10, "TR": 8, "PR": 5, "EC": 3},
    "econ": {"EM": 45, "GN": 35, "TH": 20},
    "nlin": {"CD": 35, "SI": 25, "PS": 20, "AO": 15, "CG": 5},
}  # fmt: skip
# Archives whose papers are cross-listed to each other most often.
NEIGHBOURS = {
    "hep-th": ["hep-ph", "gr-qc", "math-ph", "cond-mat"], "hep-ph": ["hep-ex", "hep-th", "astro-ph",
    "nucl-th", "hep-lat"], "hep-ex": ["hep-ph", "physics"], "hep-lat": ["hep-ph", "hep-th", "nucl-th"],
    "gr-qc": ["hep-th", "astro-ph"], "astro-ph": ["gr-qc", "hep-ph", "physics"], "nucl-th": ["hep-ph",
    "nucl-ex"], "nucl-ex": ["nucl-th", "hep-ex"], "cond-mat": ["quant-ph", "physics", "cond-mat"],
    "quant-ph": ["cond-mat", "physics", "cs"], "math": ["math", "cs", "math-ph"], "math-ph": ["math",
    "hep-th", "quant-ph"], "nlin": ["cond-mat", "physics", "math"], "physics": ["physics",
    "cond-mat", "cs"], "cs": ["cs", "stat", "math", "eess"], "stat": ["cs", "math", "stat"], "eess":
    ["cs", "eess", "math"], "q-bio": ["physics", "cs", "q-bio"], "q-fin": ["math", "stat", "econ"],
    "econ": ["q-fin", "stat", "econ"],
}  # fmt: skip
CATEGORY_COUNTS = ([1, 2, 3, 4, 5, 6], [0.50, 0.30, 0.12, 0.05, 0.02, 0.01])
VERSION_COUNTS = (list(range(1, 16)), [0.60, 0.25, 0.09, 0.03, 0.014, 0.007, 0.004, 0.002, 0.001,
                                       0.0005, 0.0003, 0.0002, 0.0001, 0.0001, 0.0001])  # fmt: skip
COLLABORATION_ARCHIVES = {"hep-ex": 0.05, "astro-ph": 0.006, "nucl-ex": 0.05, "gr-qc": 0.01, "hep-ph": 0.002}
AUTHOR_POOL = 1_500_000
LICENCES = (
    ["http://arxiv.org/licenses/nonexclusive-distrib/1.0/", "http://creativecommons.org/licenses/by/4.0/",
     "http://creativecommons.org/licenses/by-nc-sa/4.0/", "http://creativecommons.org/licenses/by-nc-nd/4.0/",
     "http://creativecommons.org/licenses/by-sa/4.0/", "http://creativecommons.org/publicdomain/zero/1.0/"],
    [0.62, 0.26, 0.04, 0.05, 0.02, 0.01],
)  # fmt: skip
PUBLISHERS = {  # DOI prefix and journal-ref name by archive family
    "hep": ("10.1103/PhysRevD", "Phys. Rev. D"), "cond-mat": ("10.1103/PhysRevB", "Phys. Rev. B"),
    "astro-ph": ("10.1093/mnras", "Mon. Not. Roy. Astron. Soc."), "gr-qc": ("10.1088/1361-6382",
    "Class. Quantum Grav."), "quant-ph": ("10.1103/PhysRevA", "Phys. Rev. A"), "math": ("10.1007/s00208",
    "Math. Ann."), "cs": ("10.1109/TPAMI", "IEEE Trans. Pattern Anal. Mach. Intell."), "other":
    ("10.1016/j.physleta", "Phys. Lett. A"),
}  # fmt: skip
FIRST_NAMES = (  # noqa: SIM905
    "Wei Anna Jun Maria Ahmed Olga Pierre Yuki Sara Ravi Lena Tom Chen Fatima Diego Ines Kai Noor "
    "Ivan Mei Lucas Amara Jonas Priya Hugo Elena Marco Hiroshi Ana Peter Sofia David Li Yan Hao "
    "Giulia Andrea Paul John Michael Laura Thomas Daniel Alexander Nikolai Jia Xin Min Sergei Omar "
    "Leila Kenji Aisha Carlos Julia Martin Eva Stefan Irina Pablo"
).split()
SYLLABLES = (  # noqa: SIM905
    "ka no ri ta shi mu ro ve li an ber gon sen dal mor tel vin zha ng wa ko ha ra el is ov ich "
    "son man de la fer ti qu ez ski ber hoff stein"
).split()
MATH_SNIPPETS = ["$\\alpha$", "$O(n\\log n)$", "$\\mathbb{Z}_2$", "$d=4$", "$\\sqrt{s}=13$ TeV",
                 "$L^2$", "$\\Lambda$CDM", "$T_c$", "$SU(N)$", "$\\epsilon$"]  # fmt: skip
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WRAP_WORDS = 12  # the snapshot keeps arXiv's line breaks: about 80 characters a line


def months() -> Iterator[tuple[int, int]]:
    year, month = FIRST_MONTH
    while (year, month) <= (LAST_DAY.year, LAST_DAY.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def papers_per_month(n: int) -> list[tuple[int, int, int]]:
    """(year, month, papers) for every month, following the yearly curve and summing to n."""
    weights = []
    for year, _month in months():
        months_in_year = 5 if year == 1991 else (LAST_DAY.month if year == LAST_DAY.year else 12)
        weights.append(YEARLY_PAPERS[year] / months_in_year)
    total = sum(weights)
    counts, carried, assigned = [], 0.0, 0
    for (year, month), weight in zip(months(), weights, strict=True):
        carried += n * weight / total
        count = round(carried) - assigned
        assigned += count
        counts.append((year, month, count))
    return counts


def archive_shares(year: int) -> dict[str, float]:
    anchors = sorted(ARCHIVE_SHARES)
    if year <= anchors[0]:
        shares = dict(ARCHIVE_SHARES[anchors[0]])
    elif year >= anchors[-1]:
        shares = dict(ARCHIVE_SHARES[anchors[-1]])
    else:
        right = bisect.bisect_right(anchors, year)
        low, high = anchors[right - 1], anchors[right]
        t = (year - low) / (high - low)
        names = set(ARCHIVE_SHARES[low]) | set(ARCHIVE_SHARES[high])
        shares = {
            a: (1 - t) * ARCHIVE_SHARES[low].get(a, 0.0) + t * ARCHIVE_SHARES[high].get(a, 0.0) for a in names
        }
    shares = {a: s for a, s in shares.items() if s > 0 and year >= ARCHIVE_OPENED.get(a, 0)}
    total = sum(shares.values())
    return {a: s / total for a, s in sorted(shares.items())}


@functools.lru_cache(maxsize=1 << 18)  # prolific authors come back often
def author_name(index: int) -> tuple[str, str]:
    """(first, last) of the index-th author of the pool: the same index, the same person."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    rest, syllables = index // len(FIRST_NAMES), []
    for _ in range(2 + rest % 2):
        syllables.append(SYLLABLES[rest % len(SYLLABLES)])
        rest //= len(SYLLABLES)
    last = "".join(syllables).capitalize()
    if rest:
        last = f"{last}-{SYLLABLES[rest % len(SYLLABLES)].capitalize()}"
    return (f"{first[0]}." if index % 3 == 0 else first), last


class ArxivShapedCorpus:
    """Writes `n` arXiv-shaped snapshot records; see the module docstring for the distributions."""

    def __init__(self, n: int, seed: int = 7) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary(), dtype=object)
        zipf = 1.0 / np.arange(1, len(self.words) + 1)
        self.word_cdf = np.cumsum(zipf) / zipf.sum()
        self.category_names = {
            archive: [f"{archive}.{sub}" for sub in subs] for archive, subs in SUBCATEGORIES.items()
        }
        self.category_cdf = {
            archive: (np.cumsum(list(subs.values())) / sum(subs.values())).tolist()
            for archive, subs in SUBCATEGORIES.items()
        }
        self.licence_cdf = np.cumsum(LICENCES[1]).tolist()
        self.version_p = np.array(VERSION_COUNTS[1]) / sum(VERSION_COUNTS[1])
        self.ids_used: dict[tuple[str, int, int], int] = {}
        self.serial = 0

    def write(self, out: BinaryIO) -> int:
        written = 0
        for year, month, count in papers_per_month(self.n):
            if count:
                for record in self.month(year, month, count):
                    out.write(orjson.dumps(record) + b"\n")
                    written += 1
        return written

    # --- one month of papers, drawn in vectors -------------------------------------------------

    def month(self, year: int, month: int, count: int) -> Iterator[dict]:
        rng = self.rng
        shares = archive_shares(year)
        archives = rng.choice(list(shares), size=count, p=list(shares.values()))
        recent = (LAST_DAY.year - year) * 12 + LAST_DAY.month - month < 24
        title_words = np.clip(rng.lognormal(np.log(9.5), 0.35, count), 2, 40).astype(int)
        abstract_median = 100 + 70 * min(1.0, max(0.0, (year - 1995) / 30))
        abstract_words = np.clip(rng.lognormal(np.log(abstract_median), 0.38, count), 15, 290).astype(int)
        author_median = 2 + 2 * min(1.0, max(0.0, (year - 1995) / 30))
        author_counts = np.clip(rng.lognormal(np.log(author_median), 0.65, count), 1, 60).astype(int)
        word_ids = np.searchsorted(self.word_cdf, rng.random(int(title_words.sum() + abstract_words.sum())))
        drawn = self.words[np.minimum(word_ids, len(self.words) - 1)].tolist()
        n_categories = rng.choice(CATEGORY_COUNTS[0], size=count, p=CATEGORY_COUNTS[1])
        n_versions = rng.choice(VERSION_COUNTS[0], size=count, p=self.version_p)
        days = rng.integers(1, _days_in(year, month) + 1, size=count)
        uniform = rng.random((count, 8))
        cursor = 0
        for i in range(count):
            archive = str(archives[i])
            primary = self._category(archive, year)
            categories = [primary]
            for _ in range(int(n_categories[i]) - 1):
                neighbours = NEIGHBOURS.get(archive, [archive])
                other = neighbours[int(uniform[i, 0] * 1e6) % len(neighbours)]
                category = self._category(other if year >= ARCHIVE_OPENED.get(other, 0) else archive, year)
                if category not in categories:
                    categories.append(category)
            n_authors = int(author_counts[i])
            if uniform[i, 1] < COLLABORATION_ARCHIVES.get(archive, 0.0):
                n_authors = int(np.exp(rng.uniform(np.log(50), np.log(3000))))
            author_ids = (AUTHOR_POOL * rng.random(n_authors) ** 2.5).astype(int)
            names = [author_name(int(a)) for a in author_ids]
            full_names = [f"{first} {last}" for first, last in names]

            title_end = cursor + int(title_words[i])
            title = _sentence(drawn[cursor:title_end], wrap=WRAP_WORDS)
            cursor, abstract_end = title_end, title_end + int(abstract_words[i])
            abstract = self._abstract(drawn[cursor:abstract_end], archive, year, uniform[i])
            cursor = abstract_end

            created = dt.date(year, month, int(days[i]))
            arxiv_id = self._identifier(archive, created)
            versions = [created]
            for _ in range(int(n_versions[i]) - 1):
                later = versions[-1] + dt.timedelta(days=int(rng.lognormal(np.log(40), 1.2)) + 1)
                if later > LAST_DAY:
                    break
                versions.append(later)
            update_date = versions[-1]
            if created.year < 2007 and uniform[i, 2] < 0.5:  # metadata revised when arXiv moved to new ids
                update_date = max(
                    update_date, dt.date(2007, 5, 23) + dt.timedelta(days=int(uniform[i, 3] * 900))
                )
            published = uniform[i, 4] < (0.15 if recent else 0.52)
            self.serial += 1
            doi, journal_ref = None, None
            if published:
                prefix, journal = PUBLISHERS.get(_family(archive), PUBLISHERS["other"])
                volume = 40 + (year - 1991) * 3
                doi = f"{prefix}.{volume}.{self.serial:07d}"
                if uniform[i, 5] < 0.8:
                    journal_ref = f"{journal} {volume}, {self.serial % 99_999} ({update_date.year})"
            licence = None
            if year >= 2004:
                licence = LICENCES[0][
                    min(bisect.bisect(self.licence_cdf, uniform[i, 6]), len(LICENCES[0]) - 1)
                ]
            hours = int(uniform[i, 7] * 86_400)
            yield {
                "id": arxiv_id,
                "submitter": full_names[0],
                "authors": _author_list(full_names),
                "title": title,
                "comments": f"{int(uniform[i, 7] * 40) + 4} pages, {int(uniform[i, 3] * 12)} figures"
                if uniform[i, 6] < 0.75
                else None,
                "journal-ref": journal_ref,
                "doi": doi,
                "report-no": f"{archive.upper()}-{year}-{self.serial % 1000:03d}"
                if archive.startswith("hep") and uniform[i, 5] > 0.9
                else None,
                "categories": " ".join(categories),
                "license": licence,
                "abstract": abstract,
                "versions": [
                    {
                        "version": f"v{number}",
                        "created": f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year} "
                        f"{hours // 3600:02d}:{hours // 60 % 60:02d}:{hours % 60:02d} GMT",
                    }
                    for number, day in enumerate(versions, start=1)
                ],
                "update_date": update_date.isoformat(),
                "authors_parsed": [[last, first, ""] for first, last in names],
            }

    def _category(self, archive: str, year: int) -> str:
        if archive not in SUBCATEGORIES or (archive == "astro-ph" and year < ASTRO_PH_SPLIT):
            return archive
        names, cdf = self.category_names[archive], self.category_cdf[archive]
        return names[min(bisect.bisect(cdf, self.rng.random()), len(names) - 1)]

    def _abstract(self, words: list[str], archive: str, year: int, uniform: np.ndarray) -> str:
        if _family(archive) != "cs" and uniform[0] < 0.3:  # physics and maths write LaTeX inline
            words.insert(int(uniform[1] * len(words)), MATH_SNIPPETS[int(uniform[2] * len(MATH_SNIPPETS))])
        start = 0
        while start < len(words):  # sentences of 14 to 25 words
            end = min(start + 14 + (start * 7 + len(words)) % 12, len(words))
            words[start] = _capitalized(words[start])
            words[end - 1] += "."
            start = end
        if _family(archive) in ("cs", "stat", "eess") and year >= 2015 and uniform[3] < 0.15:
            words += [
                "Code",
                "is",
                "available",
                "at",
                f"https://github.com/lab{self.serial % 997}/project{self.serial}.",
            ]
        lines = [" ".join(words[k : k + WRAP_WORDS]) for k in range(0, len(words), WRAP_WORDS)]
        return ("  " + "\n  ".join(lines))[:1920] + "\n"

    def _identifier(self, archive: str, day: dt.date) -> str:
        """A unique id in arXiv's scheme for a paper submitted on `day`; a month that is full
        (999 old-style, 9,999 or 99,999 new-style numbers) spills into the next one."""
        year, month = day.year, day.month
        while True:
            new_style = (year, month) >= (2007, 4)
            scheme = "new" if new_style else archive
            capacity = 999 if not new_style else (9_999 if year < 2015 else 99_999)
            number = self.ids_used.get((scheme, year, month), 0) + 1
            if number <= capacity:
                break
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        self.ids_used[(scheme, year, month)] = number
        yymm = f"{year % 100:02d}{month:02d}"
        if not new_style:
            return f"{archive}/{yymm}{number:03d}"
        return f"{yymm}.{number:04d}" if year < 2015 else f"{yymm}.{number:05d}"


def _family(archive: str) -> str:
    return "hep" if archive.startswith("hep") else archive


def _days_in(year: int, month: int) -> int:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _sentence(words: list[str], *, wrap: int) -> str:
    text = _capitalized(" ".join(words[:wrap]))
    if len(words) > wrap:  # long titles are wrapped in the snapshot too
        text += "\n  " + " ".join(words[wrap:])
    return text


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _author_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def generate(n: int, out: BinaryIO, seed: int = 7) -> int:
    """Write `n` arXiv-shaped records to `out`; returns how many were written."""
    return ArxivShapedCorpus(n, seed).write(out)


if __name__ == "__main__":
    count, target = int(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        written = generate(count, fh)
    print(f"wrote {written:,} arXiv-shaped papers to {target}")
