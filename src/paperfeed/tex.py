"""LaTeX in paper metadata: math (`$…$`, `\\(…\\)`, `$$…$$`, `\\[…\\]`), a few text macros
(`\\emph{…}`, `\\textbf{…}`) and accents (`M\\"uller`).

Pages show math as a `<span class="math" data-tex="…">` holding a readable plain form, which
KaTeX (vendored, run in the browser) typesets; feeds, mails and the command line get the plain
form only (`\\beta` → β, `\\frac{a}{b}` → a/b). Accents are decoded at import.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from html import escape

from pylatexenc.latex2text import LatexNodes2Text

# An accent macro with its letter: \"u, \'{e}, {\"o}, \c{c}, \v s, \ss, \o, \aa ...
_ACCENT_RE = re.compile(
    r"\{?\\(?:[\"'`^~=.](?:\{[A-Za-z]\}|[A-Za-z])|[cvuHkr](?:\{[A-Za-z]\}|\s[A-Za-z])|(?:ss|o|O|aa|AA|ae|AE|l|L|i)(?![A-Za-z]))\}?"
)
# Text macros of titles and abstracts, and the tag they become on a page.
_TEXT_MACROS = {
    "emph": "em",
    "textit": "em",
    "textbf": "strong",
    "texttt": "code",
    "textsc": "",
    "textrm": "",
}
_TEXT_MACRO_RE = re.compile(r"\\(" + "|".join(_TEXT_MACROS) + r")\{([^{}]*)\}")
_MAX_MATH = 1_000  # a "$" further than this from the next is not a formula
_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


@dataclass(frozen=True, slots=True)
class Piece:
    text: str  # for math: the TeX between the delimiters
    math: bool = False
    display: bool = False
    raw: str = ""  # for math: the TeX with its delimiters, as written


def decode_accents(text: str) -> str:
    """`K. M\\"uller` → `K. Müller`; everything else is left as it is (formulas included)."""
    if "\\" not in text:
        return text
    return "".join(p.raw if p.math else _ACCENT_RE.sub(_decode_accent, p.text) for p in _raw_pieces(text))


def _decode_accent(match: re.Match[str]) -> str:
    macro = match.group(0)
    if macro.count("{") != macro.count("}"):  # "{\"o" or "\"{o}}": keep the unbalanced brace
        core = macro[1:] if macro.startswith("{") else macro[:-1]
        decoded = _latex_plain(core)
        return ("{" + decoded) if macro.startswith("{") else (decoded + "}")
    return unicodedata.normalize("NFC", _latex_plain(macro))


@functools.lru_cache(maxsize=4096)
def _latex_plain(tex: str) -> str:
    try:
        return _LATEX.latex_to_text(tex)
    except Exception:  # pylatexenc gives up on some malformed markup; the raw TeX is still readable
        return tex


_CANDIDATE_RE = re.compile(r"\\\$|\$|\\\(|\\\[")


def _raw_pieces(text: str) -> list[Piece]:
    """The text split into plain runs and formulas. A lone "$" (a price, "\\$") stays text: a
    formula's opening "$" is followed by a non-space, its closing one preceded by a non-space
    and not followed by a digit."""
    pieces: list[Piece] = []
    start = 0  # where the current plain run began
    i = 0
    while (candidate := _CANDIDATE_RE.search(text, i)) is not None:
        i = candidate.start()
        if candidate.group(0) == "\\$":
            i += 2
            continue
        found = _formula_at(text, i)
        if found is None:
            i += 1
            continue
        end, tex, display = found
        if i > start:
            pieces.append(Piece(text[start:i]))
        pieces.append(Piece(tex, math=True, display=display, raw=text[i:end]))
        start = i = end
    if start < len(text):
        pieces.append(Piece(text[start:]))
    return pieces


def _formula_at(text: str, i: int) -> tuple[int, str, bool] | None:
    """(end, tex, display) of a formula starting at i, or None."""
    for opening, closing, display in (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False)):
        if text.startswith(opening, i):
            end = text.find(closing, i + len(opening), i + len(opening) + _MAX_MATH)
            if end > i + len(opening):
                return end + len(closing), text[i + len(opening) : end], display
            return None
    if text[i] != "$" or i + 1 >= len(text) or text[i + 1].isspace():
        return None
    j = i + 1
    limit = min(len(text), i + 1 + _MAX_MATH)
    while j < limit:
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "$":
            if text[j - 1].isspace() or (j + 1 < len(text) and text[j + 1].isdigit()):
                return None
            return j + 1, text[i + 1 : j], False
        j += 1
    return None


def pieces(text: str) -> list[Piece]:
    """Plain runs (accents decoded) and formulas, in order."""
    if not text or ("$" not in text and "\\" not in text):
        return [Piece(text)] if text else []
    return [p if p.math else Piece(decode_accents(p.text)) for p in _raw_pieces(text)]


def _text_plain(text: str) -> str:
    return (
        _TEXT_MACRO_RE.sub(lambda m: m.group(2), text)
        .replace("\\$", "$")
        .replace("\\%", "%")
        .replace("\\&", "&")
    )


def math_plain(tex: str) -> str:
    """A formula as readable text: `^{11}` → ^11, `\\beta` → β, `\\frac{a}{b}` → a/b."""
    return " ".join(_latex_plain(tex).split()) or tex


def plain(text: str) -> str:
    """The text with its LaTeX made readable, for feeds, mails and terminals."""
    if not text or ("$" not in text and "\\" not in text):
        return text
    return "".join(math_plain(p.text) if p.math else _text_plain(p.text) for p in pieces(text))


def has_math(text: str) -> bool:
    return any(p.math for p in pieces(text))


def math_span(tex: str, display: bool = False) -> str:
    """The HTML of one formula: its plain form, typeset by KaTeX when the page's script runs."""
    attrs = f'class="math" data-tex="{escape(tex, quote=True)}"' + (' data-display="1"' if display else "")
    return f"<span {attrs}>{escape(math_plain(tex))}</span>"


def to_html(text: str, *, limit: int | None = None, mark_text=None) -> str:
    """Escaped HTML of a title or abstract: formulas as math spans, `\\emph{…}` as <em>, accents
    decoded. `limit` cuts the text (not inside a formula) after about that many characters,
    ending in "…"; `mark_text(plain_run) -> html` may replace escaping of plain runs (search
    highlighting)."""
    out: list[str] = []
    used = 0
    for piece in pieces(text):
        shown = math_plain(piece.text) if piece.math else _text_plain(piece.text)
        if limit is not None and used + len(shown) > limit:
            if not piece.math:
                cut = shown[: max(0, limit - used)].rsplit(" ", 1)[0] if limit - used > 0 else ""
                out.append(escape(cut) if mark_text is None else mark_text(cut))
            out.append("…")
            break
        used += len(shown)
        if piece.math:
            out.append(math_span(piece.text, piece.display))
        else:
            out.append(_text_html(piece.text, mark_text))
    return "".join(out)


def _text_html(text: str, mark_text) -> str:
    render = mark_text or escape
    out: list[str] = []
    last = 0
    for match in _TEXT_MACRO_RE.finditer(text):
        out.append(render(_text_plain(text[last : match.start()])))
        tag = _TEXT_MACROS[match.group(1)]
        inner = render(match.group(2))
        out.append(f"<{tag}>{inner}</{tag}>" if tag else inner)
        last = match.end()
    out.append(render(_text_plain(text[last:])))
    return "".join(out)
