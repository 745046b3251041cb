"""Markdown pipe tables to LaTeX that fit the paper's text width (used by paper.mdtex).

A table is set as booktabs ``longtable`` (it may break across pages). Its width is estimated
in points from its cells' characters, with the widths of the paper's font (Latin Modern in
main.tex: 11pt article, 1in margins on letter paper, text width 469.75 pt; widths read from the
fonts' TFM files; tests/paper/test_tex_mdtex.py checks the estimate against TeX's own widths)
and the column padding. The layout (:func:`plan`) is the first of:

1. the whole table at ``\\footnotesize`` (9 pt), then ``\\scriptsize`` (8 pt): unwrapped, or
   with its breakable columns as paragraph (``p``) columns that share what the others leave in
   proportion to their natural widths, none narrower than its longest unbreakable piece nor
   than :data:`MIN_WRAP` of the line;
2. its columns in order, split into as few narrower tables as fit so, each repeating the first
   (key) column: a table of ten columns with long statements (claims.md) reads better as two
   tables than shrunk to ``\\tiny``; ``\\tiny`` only as a last resort for a key and one
   column.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# main.tex's \linewidth in pt (6.5 in); widths below are fractions of \linewidth, so a
# different line width scales them.
LINE_PT = 469.75
# Sizes of an 11pt article: (command, font size in pt, width of Latin Modern's optical size
# for it relative to lmr10 scaled: ec-lmr9, -lmr8, -lmr6 over ec-lmr10, mean over letters,
# digits and punctuation; each within 0.5% of the mean but lmr6, within 4%).
SIZES = (("footnotesize", 9.0, 1.028), ("scriptsize", 8.0, 1.062), ("tiny", 6.0, 1.221))
TABCOLSEP_PT = 3.0  # each side of a column; none outside the first and last (@{})
SAFETY = 1.05  # rounding, kerning left out, bold and math letters a little wider

# Printed widths in thousandths of an em of ec-lmr10 (T1 Latin Modern Roman, read from its
# TFM with tftopl), grouped by width; lmtt (code) is 0.531 em at every size used here.
_WIDTHS = {
    278: "!',.:;[]`il|", 306: "fj", 333: "- ", 361: "I", 374: '"', 389: "()t", 392: "r",
    394: "s", 444: "cez", 472: "?", 500: "$*/0123456789\\ago{}", 514: "J", 528: "kqvxy",
    556: "S^bdhnpu~", 611: "Z", 625: "L", 653: "F", 681: "EP", 708: "B", 722: "CTw", 736: "R",
    750: "AHNUVXY_", 764: "D", 778: "&+<=>@KOQ", 785: "G", 833: "#%m", 917: "M", 1028: "W",
}  # fmt: skip
_EM = {ch: w / 1000.0 for w, chars in _WIDTHS.items() for ch in chars}
_TT_EM = 0.531
BOLD = 1.17  # ec-lmbx over ec-lmr at 6, 8, 9 and 10 pt: 1.14-1.15 on average, 1.21 at most
_OTHER_EM = 0.6  # anything else (Greek letters and symbols from paper.mdtex's maps)


def char_em(ch: str) -> float:
    """Width of one printed character of the roman text font in em (ec-lmr10)."""
    return _EM.get(ch, _OTHER_EM)


def visible(cell: str) -> str:
    """The text a cell prints, roughly: markup dropped, a TeX command as one character
    (``$\\alpha$`` -> ``a``), code spans kept."""
    s = re.sub(r"\\[A-Za-z]+", "a", cell)
    return re.sub(r"[*${}^\\]", "", s)


def text_pt(text: str, pt: float, factor: float = 1.0) -> float:
    """Estimated printed width in pt of a cell's Markdown at font size ``pt``: roman text by
    :func:`char_em` times the optical size's ``factor`` (see SIZES; ``**bold**`` a further
    :data:`BOLD` wider), code spans in typewriter."""
    roman = code = 0.0
    for k, part in enumerate(text.split("`")):
        if k % 2:
            code += _TT_EM * len(part)
            continue
        for j, run in enumerate(part.split("**")):
            roman += (BOLD if j % 2 else 1.0) * sum(char_em(ch) for ch in visible(run))
    return SAFETY * pt * (factor * roman + code)


# Where TeX may break a cell's line: spaces, after a hyphen that follows a letter, and inside
# code after the characters paper.mdtex gives an \allowbreak.
_TEXT_BREAK = re.compile(r"(?<=[A-Za-z0-9]-)")
_CODE_BREAK = re.compile(r"(?<=[_./(,=\[])")


def pieces(cell: str) -> list[str]:
    """The unbreakable pieces of a cell (code spans kept in backticks)."""
    out = []
    for k, part in enumerate(cell.split("`")):
        if k % 2:
            out += [f"`{p}`" for p in _CODE_BREAK.split(part) if p]
        else:
            out += [p for w in part.split() for p in _TEXT_BREAK.split(w) if p]
    return out


def split_row(line: str) -> list[str]:
    """Cells of a pipe-table row; ``|`` inside math or code, or escaped as ``\\|``, is text
    (an escaped bar outside code comes back as ``\\x01``, which the caller prints as a bar)."""
    cells, cur, in_math, in_code, i = [], [], False, False, 0
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|" and not in_math:
            cur.append("|" if in_code else "\x01")  # a literal bar in text
            i += 2
            continue
        if ch == "\\" and i + 1 < len(body):
            cur.append(body[i : i + 2])
            i += 2
            continue
        if ch == "`" and not in_math:
            in_code = not in_code
        elif ch == "$" and not in_code:
            in_math = not in_math
        if ch == "|" and not in_math and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def _wrapped(natural: list[float], floor: list[float], wrap: list[bool], room: float):
    """Widths (pt) of the wrap-able columns sharing ``room`` by natural width (water-filling,
    floored at each column's longest word); None if even the floors do not fit."""
    cols = [c for c in range(len(natural)) if wrap[c]]
    if not cols or sum(floor[c] for c in cols) > room:
        return None
    widths: dict[int, float] = {}
    while True:
        free = [c for c in cols if c not in widths]
        left = room - sum(widths.values())
        total = sum(natural[c] for c in free) or 1.0
        tight = [c for c in free if left * natural[c] / total < floor[c]]
        if not tight:
            widths.update({c: min(natural[c], left * natural[c] / total) for c in free})
            return widths
        widths.update({c: floor[c] for c in tight})


def fit(
    cols: list[list[str]],
    size: tuple[str, float, float],
    line_pt: float,
    *,
    min_wrap: float = 0.0,
    force: bool = False,
) -> dict | None:
    """The layout of these columns at one size: unwrapped if they fit, else with their
    breakable columns wrapped, none narrower than its longest unbreakable piece nor than
    ``min_wrap`` pt (or its natural width, if less); None if that does not fit (``force``: then
    the wrapped columns at those floors, shrunk in proportion to fit; a piece may stick out).

    Returns:
      ``{"size": command, "widths": {column: pt} (the p-columns), "width_pt": estimate}``.
    """
    name, pt, factor = size
    natural = [max(text_pt(x, pt, factor) for x in col) for col in cols]
    pad = 2.0 * TABCOLSEP_PT * (len(cols) - 1)
    if sum(natural) + pad <= line_pt:
        return dict(size=name, widths={}, width_pt=sum(natural) + pad)
    piece = [
        max((text_pt(w, pt, factor) for x in col for w in pieces(x)), default=0.0) + 1.0
        for col in cols
    ]
    wrap = [piece[c] < natural[c] for c in range(len(cols))]  # breakable, and it gains
    floor = [max(piece[c], min(natural[c], min_wrap)) for c in range(len(cols))]
    fixed = sum(n for c, n in enumerate(natural) if not wrap[c])
    room = line_pt - pad - fixed
    widths = _wrapped(natural, floor, wrap, room)
    if widths is None and force:
        flex = sum(piece[c] for c in range(len(cols)) if wrap[c]) or 1.0
        widths = {c: piece[c] * max(room, 0.0) / flex for c in range(len(cols)) if wrap[c]}
    if widths is None:
        return None
    return dict(size=name, widths=widths, width_pt=fixed + sum(widths.values()) + pad)


# A wrapped column narrower than this share of the line (about 15 characters at 9 pt) reads
# badly: a table that needs it is split instead (see plan).
MIN_WRAP = 0.15


def plan(table: list[list[str]], line_pt: float = LINE_PT) -> list[tuple[list[int], dict]]:
    """How to set a table (rows of cells, header first): a list of (columns, layout).

    The whole table at ``\\footnotesize`` or ``\\scriptsize`` if it fits there (unwrapped,
    else wrapped with no wrapped column narrower than :data:`MIN_WRAP` of the line); otherwise
    its columns in order, split into as few groups as fit so, each a table of its own that
    repeats the first (key) column. A group of the key and one column that does not fit so
    gets narrower wrapped columns, then ``\\tiny`` (forced to the line if need be).
    """
    ncol = max(len(r) for r in table)
    cols = [[r[c] if c < len(r) else "" for r in table] for c in range(ncol)]

    def best(group: list[int], min_wrap: float) -> dict | None:
        sub = [cols[c] for c in group]
        return next(
            (lay for s in SIZES[:2] if (lay := fit(sub, s, line_pt, min_wrap=min_wrap))), None
        )

    def layout(group: list[int]) -> dict:
        return (
            best(group, MIN_WRAP * line_pt)
            or best(group, 0.0)
            or fit([cols[c] for c in group], SIZES[-1], line_pt, force=True)
        )

    everything = list(range(ncol))
    if ncol < 3 or best(everything, MIN_WRAP * line_pt) is not None:
        return [(everything, layout(everything))]
    groups, cur = [], [0]
    for c in range(1, ncol):
        if len(cur) > 1 and best([*cur, c], MIN_WRAP * line_pt) is None:
            groups.append(cur)
            cur = [0]
        cur.append(c)
    groups.append(cur)
    return [(g, layout(g)) for g in groups]


def _longtable(
    head: list[str],
    body: list[list[str]],
    aligns: list[str],
    lay: dict,
    line_pt: float,
    cell: Callable[[str], str],
) -> list[str]:
    """One ``longtable`` of these columns in a :func:`fit` layout."""
    spec = list(aligns)
    for c, w in lay["widths"].items():
        # \hspace{0pt}: the cell's first word may be hyphenated too
        spec[c] = rf">{{\raggedright\arraybackslash\hspace{{0pt}}}}p{{{w / line_pt:.4f}\linewidth}}"

    def row(cells: list[str]) -> str:
        return " & ".join(cell(x).replace("\x01", r"\textbar{}") for x in cells) + r" \\"

    return [
        rf"{{\{lay['size']}\setlength{{\tabcolsep}}{{{TABCOLSEP_PT:g}pt}}"
        r"\setlength{\LTpre}{4pt}\setlength{\LTpost}{4pt}",
        r"\begin{longtable}{@{}" + "".join(spec) + "@{}}",
        r"\toprule",
        row(head),
        r"\midrule",
        r"\endhead",
        *(row(r) for r in body),
        r"\bottomrule",
        r"\end{longtable}}",
        "",
    ]


def table_to_tex(
    header: str, sep: str, rows: list[str], cell: Callable[[str], str], line_pt: float = LINE_PT
) -> list[str]:
    """A pipe table (header line, separator line, body lines) to LaTeX ``longtable`` lines:
    one table, or several narrower ones sharing the first column (see :func:`plan`).

    Args:
      header, sep, rows: the table's Markdown lines.
      cell: converts one cell's inline Markdown to LaTeX (paper.mdtex.inline).
      line_pt: the line width the layout is estimated for.
    """
    aligns = []
    for c in split_row(sep):
        c = c.strip()
        aligns.append(
            "c" if c.startswith(":") and c.endswith(":") else "r" if c.endswith(":") else "l"
        )
    ncol = len(aligns)
    body = [(split_row(r) + [""] * ncol)[:ncol] for r in rows]
    head = (split_row(header) + [""] * ncol)[:ncol]
    out: list[str] = []
    for group, lay in plan([head, *body], line_pt):
        out += _longtable(
            [head[c] for c in group],
            [[r[c] for c in group] for r in body],
            [aligns[c] for c in group],
            lay,
            line_pt,
            cell,
        )  # fmt: skip
    return out
