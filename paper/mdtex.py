"""paper/theory.md (Markdown with TeX math) to LaTeX, so the paper's proofs have one source.

The appendices of paper/main.tex are ``generated/model_appendix.tex`` and
``generated/theory_appendix.tex``, written at build time by :func:`write_appendices` from
paper/model.md and paper/theory.md; nobody copies a proof by hand. The converter
covers the Markdown those files and the run's reports (claims.md, ladder.md) use: ATX headings,
paragraphs, ``-``/``1.`` lists (nested by indentation), pipe tables, ``**bold**``, ``*italic*``,
inline code, fenced code blocks, links (text kept), horizontal rules (dropped), ``$...$`` and
``$$...$$`` math (passed through verbatim, so the TeX in theory.md is the TeX in the paper).
Display math goes through ``\\mddisplay`` (defined in main.tex), which shrinks a formula wider
than the line instead of letting it overflow; a table becomes a ``longtable`` (it may break
across pages) sized to fit the text width (paper.mdtable).

Command line: ``python -m paper.mdtex theory.md OUT.tex`` (exit 2 with one line on bad input).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from paper.mdtable import table_to_tex
from sim.files import atomic_write_text

# Section commands by heading depth; ``top`` chooses what a ``#`` heading becomes.
_LEVELS = ("part", "section", "subsection", "subsubsection", "paragraph", "subparagraph")

_TEXT_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

# Characters pdflatex's default utf8 input does not know; the rest of ASCII and the dashes
# (\textendash, \textemdash) are set up by LaTeX itself.
_UNICODE = {
    "\u2264": r"$\le$",
    "\u2265": r"$\ge$",
    "\u2260": r"$\ne$",
    "\u2248": r"$\approx$",
    "\u00b1": r"$\pm$",
    "\u00d7": r"$\times$",
    "\u2192": r"$\to$",
    "\u2190": r"$\leftarrow$",
    "\u221e": r"$\infty$",
    "\u2212": r"$-$",
    "\u2026": r"\dots{}",
    "\u00a0": "~",
    "\u2018": "`",
    "\u2019": "'",
    "\u201c": "``",
    "\u201d": "''",
}
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξπρστυφχψωΣΦΔ",
        [
            r"\alpha", r"\beta", r"\gamma", r"\delta", r"\varepsilon", r"\zeta", r"\eta",
            r"\theta", r"\iota", r"\kappa", r"\lambda", r"\mu", r"\nu", r"\xi", r"\pi", r"\rho",
            r"\sigma", r"\tau", r"\upsilon", r"\phi", r"\chi", r"\psi", r"\omega", r"\Sigma",
            r"\Phi", r"\Delta",
        ],
        strict=True,
    )
)  # fmt: skip

_PLACEHOLDER = "\x00{}\x00"
_PH_RE = re.compile("\x00(\\d+)\x00")
_CODE_BREAK = set("_./(,=[")


class MarkdownError(ValueError):
    """Input the converter cannot turn into LaTeX (an unclosed math or code span)."""


def _escape_text(s: str) -> str:
    out = []
    for ch in s:
        if ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch in _GREEK:
            out.append(f"${_GREEK[ch]}$")
        else:
            out.append(ch)
    return "".join(out)


def _code(s: str) -> str:
    """Inline code: typewriter, with break points after ``_ . / ( , = [`` (long identifiers)."""
    out = []
    for ch in s:
        out.append(_escape_text(ch) if ch not in "'`\"<>-" else _CODE_CHARS[ch])
        if ch in _CODE_BREAK:
            out.append(r"\allowbreak{}")
    return r"\texttt{" + "".join(out) + "}"


_CODE_CHARS = {
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
    '"': r"\textquotedbl{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "-": "-{}",  # no -- ligature
}


def _math(s: str) -> str:
    r"""Math passes through; ``\mathbb 1`` (no glyph in amsfonts) becomes a bold one."""
    return re.sub(r"\\mathbb\s*\{?1\}?", r"\\mathbf{1}", s)


def inline(text: str) -> str:
    """Convert one paragraph's inline Markdown (code, math, emphasis, links) to LaTeX."""
    saved: list[str] = []

    def keep(tex: str) -> str:
        saved.append(tex)
        return _PLACEHOLDER.format(len(saved) - 1)

    # Code first (it may contain $ or *), then display math, then inline math.
    text = re.sub(r"`([^`]+)`", lambda m: keep(_code(m.group(1))), text)
    text = re.sub(
        r"\$\$(.+?)\$\$",
        lambda m: keep("\n\\mddisplay{" + _math(m.group(1).strip()) + "}\n"),
        text,
        flags=re.S,
    )
    text = re.sub(r"(?<!\\)\$(.+?)(?<!\\)\$", lambda m: keep("$" + _math(m.group(1)) + "$"), text)
    if re.search(r"(?<!\\)\$|(?<!`)`(?!`)", text):
        raise MarkdownError(f"unclosed $ or ` in: {text[:80]!r}")
    # Links: keep the text, drop the target (the paper has no copy of the linked files).
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    # Double quotes to TeX quotes (inside code they were already kept).
    text = re.sub(r'"([^"]*)"', lambda m: keep("``") + m.group(1) + keep("''"), text)
    text = text.replace("\\*", keep("*")).replace("\\|", keep(r"\textbar{}"))  # Markdown escapes
    text = _escape_text(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", text, flags=re.S)
    text = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"\\emph{\1}", text, flags=re.S)
    while _PH_RE.search(text):
        text = _PH_RE.sub(lambda m: saved[int(m.group(1))], text)
    return text


def _plain(md: str) -> str:
    """A PDF-bookmark version of a Markdown heading: no math, code markup or emphasis."""
    s = re.sub(r"(?<!\\)\$[^$]*\$", "", md)
    s = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", s)
    s = s.replace("`", "").replace("*", "").replace('"', "")
    s = "".join(ch for ch in s if ch.isascii() or ch in "\u2013\u2014")
    return re.sub(r"\s+", " ", _escape_text(s)).strip()


def slug(heading: str) -> str:
    """A heading's label key: its first word, alphanumerics only (``T2b — ...`` -> ``T2b``)."""
    words = re.findall(r"[A-Za-z0-9]+", heading)
    return words[0] if words else "section"


_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _list_to_tex(items: list[tuple[int, str, str]]) -> list[str]:
    """Items (indent, marker, text) of one list, nested by indentation, to itemize/enumerate."""
    out: list[str] = []
    stack: list[tuple[int, str]] = []  # (indent, environment)
    for indent, marker, text in items:
        env = "itemize" if marker in "-*+" else "enumerate"
        while stack and indent < stack[-1][0]:
            out.append(rf"\end{{{stack.pop()[1]}}}")
        if stack and indent == stack[-1][0] and env != stack[-1][1]:
            out.append(rf"\end{{{stack.pop()[1]}}}")  # a bulleted list followed by a numbered one
        if not stack or indent > stack[-1][0]:
            stack.append((indent, env))
            out.append(rf"\begin{{{env}}}")
        out.append(r"\item " + inline(text))
    while stack:
        out.append(rf"\end{{{stack.pop()[1]}}}")
    return out


def markdown_to_latex(md: str, *, top: str = "section", label_prefix: str = "thy") -> str:
    """Convert a Markdown document to a LaTeX fragment (no preamble).

    Args:
      md: the Markdown text.
      top: the sectioning command a ``#`` heading becomes (``##`` is one level below, ...).
      label_prefix: a ``#`` heading gets ``\\label{<prefix>:main}``, deeper ones
        ``\\label{<prefix>:<first word>}`` (first use of a key only).

    Returns:
      LaTeX for ``\\input``; it needs amsmath, amssymb, graphicx and main.tex's ``\\mddisplay``.

    Raises:
      MarkdownError: an unclosed math or code span, or an unclosed code fence.
    """
    if top not in _LEVELS:
        raise MarkdownError(f"top must be one of {', '.join(_LEVELS)}, got {top!r}")
    base = _LEVELS.index(top)
    lines = md.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[tuple[int, str, str]] = []
    labels: set[str] = set()

    def flush() -> None:
        if para:
            out.append(inline(" ".join(s.strip() for s in para)))
            out.append("")
            para.clear()
        if items:
            out.extend(_list_to_tex(items))
            out.append("")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line).group(1)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            if j == len(lines):
                raise MarkdownError(f"unclosed code fence opened at line {i + 1}")
            out += [r"\begin{verbatim}", *lines[i + 1 : j], r"\end{verbatim}", ""]
            i = j + 1
            continue
        if not line.strip():
            # A blank line ends a paragraph; a list continues if the next line is indented
            # or is another item.
            if (
                items
                and i + 1 < len(lines)
                and (_ITEM.match(lines[i + 1]) or lines[i + 1].startswith(("  ", "\t")))
            ):
                i += 1
                continue
            flush()
        elif m := _HEADING.match(line):
            flush()
            depth = min(base + len(m.group(1)) - 1, len(_LEVELS) - 1)
            title = inline(m.group(2))
            plain = _plain(m.group(2))
            cmd = _LEVELS[depth]
            head = title if plain == title else rf"\texorpdfstring{{{title}}}{{{plain}}}"
            key = "main" if len(m.group(1)) == 1 else slug(m.group(2))
            label = ""
            if key not in labels:
                labels.add(key)
                label = rf"\label{{{label_prefix}:{key}}}"
            out += [rf"\{cmd}{{{head}}}{label}", ""]
        elif (
            line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1])
        ):
            flush()
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            out += table_to_tex(line, lines[i + 1], lines[i + 2 : j], inline)
            i = j
            continue
        elif _RULE.match(line) and not para:
            flush()
        elif m := _ITEM.match(line):
            if para:
                flush()
            items.append((len(m.group(1).expandtabs(4)), m.group(2)[0], m.group(3)))
        elif items:
            # Continuation of the last item (indented or lazy).
            indent, marker, text = items[-1]
            items[-1] = (indent, marker, text + " " + line.strip())
        else:
            para.append(line)
        i += 1
    flush()
    return "\n".join(out).rstrip() + "\n"


# The appendices main.tex inputs: (source next to this module, generated file, label prefix).
APPENDICES = (
    ("model.md", "model_appendix.tex", "model"),
    ("theory.md", "theory_appendix.tex", "thy"),
)


def write_markdown_input(
    source: str | Path, dest: str | Path, *, top: str = "section", label_prefix: str = "md"
) -> Path:
    """Convert one Markdown file to a LaTeX fragment at ``dest`` (atomically) for ``\\input``.

    Used for the appendices (:func:`write_appendices`) and for a run's own reports: e.g.
    ``OUT/claims.md`` -> ``generated/claims_report.tex`` (top ``section``, prefix ``claims``),
    ``OUT/ladder.md`` -> ``generated/ladder.tex`` (top ``subsection``, prefix ``ladder``).

    Args:
      source: the Markdown file.
      dest: the ``.tex`` file to write.
      top: what a ``#`` heading becomes (see :func:`markdown_to_latex`).
      label_prefix: prefix of the headings' labels; ``<prefix>:main`` is the ``#`` heading.

    Returns:
      The path written.
    """
    src = Path(source)
    tex = f"% generated from {src.name} by paper.mdtex -- do not edit\n" + markdown_to_latex(
        src.read_text(encoding="utf-8"), top=top, label_prefix=label_prefix
    )
    return atomic_write_text(dest, tex)


def write_appendices(paper_dir: str | Path, source_dir: str | Path | None = None) -> list[Path]:
    """Write every appendix of :data:`APPENDICES` (model.md, theory.md) for the paper build.

    ``reproduce`` calls this when it assembles ``OUT/paper``; main.tex inputs
    ``generated/model_appendix.tex`` and ``generated/theory_appendix.tex``.

    Args:
      paper_dir: the assembled paper folder (``OUT/paper``).
      source_dir: where the Markdown sources are; default the folder of this module (paper/).
    """
    src_dir = Path(source_dir) if source_dir is not None else Path(__file__).parent
    gen = Path(paper_dir) / "generated"
    return [
        write_markdown_input(src_dir / md, gen / name, label_prefix=prefix)
        for md, name, prefix in APPENDICES
    ]


# A run's Markdown reports that the paper inputs when the run wrote them: (file in OUT, generated
# file, what its ``#`` heading becomes, label prefix). main.tex refers to ``claims:main``.
REPORTS = (
    ("claims.md", "claims_report.tex", "section", "claims"),
    ("ladder.md", "ladder.tex", "subsection", "ladder"),
    # `selfdpo empirical tiny --out OUT/empirical-tiny` / `empirical run --seeds ... --out
    # OUT/empirical-gpu` before `reproduce --out OUT` put the loop's comparison in the paper
    ("empirical-tiny/report.md", "empirical_tiny.tex", "subsubsection", "emptiny"),
    ("empirical-gpu/report.md", "empirical_gpu.tex", "subsubsection", "empgpu"),
)


def write_reports(out_dir: str | Path, paper_dir: str | Path | None = None) -> list[Path]:
    """Convert each report of :data:`REPORTS` that ``out_dir`` holds into ``paper/generated``.

    Args:
      out_dir: the ``reproduce`` output folder (``OUT``).
      paper_dir: the assembled paper folder; default ``OUT/paper``.

    Returns:
      The files written (reports the run did not produce are skipped; main.tex says so).
    """
    out = Path(out_dir)
    gen = (Path(paper_dir) if paper_dir is not None else out / "paper") / "generated"
    return [
        write_markdown_input(out / md, gen / name, top=top, label_prefix=prefix)
        for md, name, top, prefix in REPORTS
        if (out / md).is_file()
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m paper.mdtex IN.md OUT.tex``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m paper.mdtex IN.md OUT.tex\n")
        return 2
    src, dest = Path(args[0]), Path(args[1])
    if not src.is_file():
        sys.stderr.write(f"error: no such file: {src}\n")
        return 2
    try:
        tex = markdown_to_latex(src.read_text(encoding="utf-8"))
    except (MarkdownError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"error: {src}: {exc}\n")
        return 2
    atomic_write_text(dest, tex)
    return 0


if __name__ == "__main__":
    sys.exit(main())
