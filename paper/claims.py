"""The claims report: one row per claim, theory's value next to the simulation's.

Each experiment (paper/experiments/) decides its rows from its own results file with a stated
rule and builds them with :func:`row` (or :func:`agreement_row`, :func:`unavailable`); this
module holds the row type and the writers: ``claims.json``, ``claims.md`` and, for the paper,
``claims_table.tex`` and ``claims_macros.tex``.

Every row has a ``kind``: ``claim`` (a THEORY.md claim or a "What the simulator must show" item;
a failing one makes ``selfdpo reproduce`` exit 1) or ``boundary`` (where higher-order effects
take over, a counter-example to a literal wording, or a variant; reported only).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.files import atomic_write_json, atomic_write_text
from sim.results import Results


@dataclass
class Claim:
    """One row of the claims report."""

    id: str
    statement: str
    theory: float | None  # theory's value (None when theory gives only a sign/condition)
    theory_text: str  # what theory's value is
    sim: float | None  # the simulation's value (seed mean)
    sim_ci: tuple[float, float] | None  # 95% interval of ``sim``
    holds: bool
    decision: str  # the rule applied and its outcome, in words
    sweep: str = ""
    seeds: list[int] = field(default_factory=list)
    config_hash: str = ""
    config_file: str = ""
    kind: str = "claim"  # "claim" decides the exit status; "boundary" is reported only

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the interval as a list)."""
        d = asdict(self)
        d["sim_ci"] = None if self.sim_ci is None else [float(x) for x in self.sim_ci]
        return d


def meta(res: Results, file: str, sweep: str) -> dict[str, Any]:
    """The provenance fields of a row from its results file."""
    return {
        "sweep": sweep,
        "seeds": json.loads(res.attrs.get("seeds", "[]")),
        "config_hash": str(res.attrs.get("config_hash", "")),
        "config_file": file,
    }


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = float(np.asarray(x))
    return v


def row(
    cid: str,
    statement: str,
    *,
    theory: Any,
    theory_text: str,
    sim: Any,
    ci: tuple[Any, Any] | None,
    holds: Any,
    decision: str,
    meta: dict[str, Any],
    kind: str = "claim",
) -> Claim:
    """The one constructor of a claim row (numbers converted to plain floats)."""
    return Claim(
        cid,
        statement,
        _num(theory),
        theory_text,
        _num(sim),
        None if ci is None else (float(np.asarray(ci[0])), float(np.asarray(ci[1]))),
        bool(holds),
        decision,
        **{**meta, "kind": kind},
    )


def agreement_row(
    cid: str,
    statement: str,
    ag: dict,
    theory_text: str,
    decision: str,
    meta: dict,
    theory: float | None = None,
    kind: str = "claim",
) -> Claim:
    """A row decided by :func:`sim.stats.agreement`: values at its worst-agreeing point, holds
    if every point is within its k standard errors. ``theory`` overrides theory's value there."""
    i = ag["worst"]
    return row(
        cid,
        statement,
        theory=ag["theory"][i] if theory is None else theory,
        theory_text=theory_text,
        sim=ag["mean"][i],
        ci=(ag["lo"][i], ag["hi"][i]),
        holds=ag["max_z"] <= ag["k"],
        decision=decision,
        meta=meta,
        kind=kind,
    )


def unavailable(cid: str, statement: str, why: str, *, kind: str = "claim", **meta: Any) -> Claim:
    """A claim that cannot be decided (missing results or theory): reported as not holding."""
    return Claim(
        cid,
        statement,
        None,
        "unavailable",
        None,
        None,
        False,
        f"not decided: {why}",
        **{**meta, "kind": kind},
    )


def ci_text(m: float, lo: float, hi: float, scale: float = 1.0, unit: str = "") -> str:
    """``m [lo, hi]`` scaled, 3 significant digits."""
    return f"{m * scale:.3g}{unit} [{lo * scale:.3g}, {hi * scale:.3g}]"


def fmt(x: float | None, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}g}"


# Writers ----------------------------------------------------------------------------------


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def claims_markdown(claims: list[Claim]) -> str:
    """The claims as a Markdown table, then each decision rule in full."""
    main = [c for c in claims if c.kind == "claim"]
    extra = [c for c in claims if c.kind != "claim"]
    lines = [
        "# Claims report",
        "",
        f"{sum(c.holds for c in main)} of {len(main)} claims hold (kind `claim`: THEORY.md "
        'claims and "What the simulator must show" items; a failing one makes `reproduce` '
        f"exit 1). {sum(c.holds for c in extra)} of {len(extra)} boundary rows hold (kind "
        "`boundary`: where higher-order effects take over, counter-examples to a literal "
        "wording, variants; reported only). Simulation values are seed means with 95% "
        "intervals (Student t over seeds; paired by seed where configurations are compared).",
        "",
        "| id | kind | statement | theory | simulation [95% CI] | holds | seeds | config |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        sim = fmt(c.sim, 4)
        if c.sim_ci is not None:
            sim += f" [{fmt(c.sim_ci[0], 4)}, {fmt(c.sim_ci[1], 4)}]"
        theory = f"{fmt(c.theory, 4)} ({c.theory_text})" if c.theory is not None else c.theory_text
        seeds = f"{len(c.seeds)} ({c.seeds[0]}..{c.seeds[-1]})" if c.seeds else "-"
        lines.append(
            f"| {c.id} | {c.kind} | {_md_escape(c.statement)} | {_md_escape(theory)} | {sim} | "
            f"{'yes' if c.holds else '**no**'} | {seeds} | {c.sweep} `{c.config_hash}` |"
        )
    lines += ["", "## Decision rules and outcomes", ""]
    for c in claims:
        lines.append(
            f"- **{c.id}** ({c.kind}, {'holds' if c.holds else 'FAILS'}): {_md_escape(c.decision)}"
        )
    return "\n".join(lines) + "\n"


def write_claims(out_dir: str | os.PathLike, claims: list[Claim]) -> tuple[Path, Path]:
    """Write ``claims.json`` and ``claims.md`` into ``out_dir``."""
    out = Path(out_dir)
    j = atomic_write_json(out / "claims.json", [c.to_dict() for c in claims])
    m = atomic_write_text(out / "claims.md", claims_markdown(claims))
    return j, m


_TEX_SPECIAL = {
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


def tex_escape(s: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in s)


def _tex_num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "--"
    return f"{x:.3g}"


def claims_table_tex(claims: list[Claim]) -> str:
    """A tabular of the claims (id, statement, theory, simulation [CI], holds)."""
    rows = [
        "% generated by selfdpo reproduce from claims.json -- do not edit",
        r"\begin{tabular}{@{}l p{0.38\linewidth} r l c@{}}",
        r"\toprule",
        r"claim & statement & theory & simulation [95\% CI] & holds \\",
        r"\midrule",
    ]
    for c in claims:
        sim = _tex_num(c.sim)
        if c.sim_ci is not None:
            sim += f" [{_tex_num(c.sim_ci[0])}, {_tex_num(c.sim_ci[1])}]"
        holds = "yes" if c.holds else r"\textbf{no}"
        rows.append(
            f"{tex_escape(c.id)} & {tex_escape(c.statement)} & {_tex_num(c.theory)} & "
            f"{sim} & {holds} \\\\"
        )
    rows += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(rows)


_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def macro_name(cid: str) -> str:
    """Letters-only macro stem of a claim id (``T5-kappa0`` -> ``Tfivekappazero``)."""
    return "".join(_DIGITS[int(ch)] if ch.isdigit() else ch for ch in cid if ch.isalnum())


def claims_macros_tex(claims: list[Claim]) -> str:
    """\\newcommand macros per claim (\\claimTfiveSim, \\claimTfiveHolds, ...) for the text."""
    main = [c for c in claims if c.kind == "claim"]
    lines = [
        "% generated by selfdpo reproduce from claims.json -- do not edit",
        rf"\newcommand{{\claimsHeld}}{{{sum(c.holds for c in main)}}}",
        rf"\newcommand{{\claimsTotal}}{{{len(main)}}}",
    ]
    for c in claims:
        base = "claim" + macro_name(c.id)
        ci = "--" if c.sim_ci is None else f"[{_tex_num(c.sim_ci[0])}, {_tex_num(c.sim_ci[1])}]"
        lines += [
            rf"\newcommand{{\{base}Theory}}{{{_tex_num(c.theory)}}}",
            rf"\newcommand{{\{base}Sim}}{{{_tex_num(c.sim)}}}",
            rf"\newcommand{{\{base}CI}}{{{ci}}}",
            rf"\newcommand{{\{base}Holds}}{{{'holds' if c.holds else 'fails'}}}",
        ]
    return "\n".join(lines) + "\n"


def write_paper_tables(out_dir: str | os.PathLike, claims: list[Claim]) -> list[Path]:
    """Write ``claims_table.tex`` and ``claims_macros.tex`` into ``out_dir``."""
    out = Path(out_dir)
    return [
        atomic_write_text(out / "claims_table.tex", claims_table_tex(claims)),
        atomic_write_text(out / "claims_macros.tex", claims_macros_tex(claims)),
    ]
