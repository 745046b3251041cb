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

from sim import stats
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
    # the pre-registered test (see :class:`Test`): its rule, smallest effect of interest or
    # margin, tolerance (widest allowed interval), the pilot's seeds (never confirmation seeds),
    # the seeds that 90% power needs by the pilot's SD, the power at the seeds used, and the
    # verdict: holds, fails, underpowered (an interval wider than the tolerance) or unavailable
    test: str = ""
    effect: float | None = None
    tolerance: float | None = None
    pilot_seeds: list[int] = field(default_factory=list)
    seeds_for_power: int | None = None
    power: float | None = None
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the interval as a list)."""
        d = asdict(self)
        d["sim_ci"] = None if self.sim_ci is None else [float(x) for x in self.sim_ci]
        return d


def meta(res: Results, file: str, sweep: str, pilot: Results | None = None) -> dict[str, Any]:
    """The provenance fields of a row from its results file (and its pilot's)."""
    return {
        "sweep": sweep,
        "seeds": json.loads(res.attrs.get("seeds", "[]")),
        "config_hash": str(res.attrs.get("config_hash", "")),
        "config_file": file,
        "pilot_seeds": [] if pilot is None else json.loads(pilot.attrs.get("seeds", "[]")),
    }


@dataclass(frozen=True)
class Test:
    """A pre-registered decision rule on a per-seed statistic (one value per seed and point).

    ``kind``: ``greater`` (mean > 0), ``less`` (mean < 0), ``equivalent`` (TOST: |mean| <
    ``effect``, the margin) or ``noninferior`` (mean > -``effect``). ``effect``: the smallest
    effect of interest, for which power is computed (the margin for equivalence and
    non-inferiority). ``tolerance``: the widest allowed interval (full width); a wider one reads
    "underpowered" and fails. Every point of a row is tested at level 1 - 0.05 / points
    (Bonferroni); the row holds if every point passes.
    """

    kind: str
    effect: float
    tolerance: float
    unit: str = ""
    scale: float = 1.0  # display factor (100 for percentage points)

    def describe(self) -> str:
        """The rule in words."""
        e = f"{self.effect * self.scale:.3g}{self.unit}"
        rule = {
            "greater": f"mean > 0 (one-sided t; smallest effect of interest {e})",
            "less": f"mean < 0 (one-sided t; smallest effect of interest {e})",
            "equivalent": f"|mean| < {e} (TOST equivalence, margin {e})",
            "noninferior": f"mean > -{e} (non-inferiority, margin {e})",
        }[self.kind]
        return f"{rule}; tolerance: interval width <= {self.tolerance * self.scale:.3g}{self.unit}"


def _power(test: Test, sd: float, n: int, alpha: float) -> float:
    """Power at the smallest effect of interest (directional tests) or at exact equality
    (equivalence: true difference 0; non-inferiority: true mean 0)."""
    if test.kind == "equivalent":
        return stats.power_tost(test.effect, sd, n, true=0.0, alpha=alpha)
    return stats.power_one_sided(test.effect, sd, n, alpha)


def decide(
    test: Test, confirm: Any, pilot: Any = None, *, extra_se: Any = None, n_max: int = 4096
) -> dict[str, Any]:
    """Apply ``test`` to ``confirm`` (points, seeds) with the pilot's (points, seeds) SD.

    Returns per-point mean, interval (lo, hi: the 1 - 2a interval, a = 0.05 / points, whose
    one-sided bounds the tests use), ``passes``, and for the row: ``worst`` (index of the point
    furthest from passing), ``width`` (widest interval), ``power`` (smallest over points, at the
    confirmation's seeds, from the pilot's SD: at the smallest effect of interest, or at exact
    equality for equivalence and non-inferiority), ``seeds_for_power`` (largest over
    points: seeds for 90% power; n_max + 1 when out of reach), ``verdict`` and ``holds``.
    A test that does not pass while its power (from the pilot) is below 0.9 reads
    ``underpowered`` (inconclusive), and fails like any other row that does not hold.
    ``extra_se`` (points,): the standard error of a theory value computed by sampling, added in
    quadrature to the seed SE.
    """
    x = np.atleast_2d(np.asarray(confirm, dtype=float))
    M, S = x.shape
    a = 0.05 / M
    m = x.mean(1)
    se = x.std(1, ddof=1) / math.sqrt(S)
    if extra_se is not None:
        se = np.sqrt(se**2 + np.broadcast_to(np.asarray(extra_se, float), (M,)) ** 2)
    tq = stats.one_sided_t(S, 1.0 - a)
    lo, hi = m - tq * se, m + tq * se
    passes = {
        "greater": lo > 0,
        "less": hi < 0,
        "equivalent": (lo > -test.effect) & (hi < test.effect),
        "noninferior": lo > -test.effect,
    }[test.kind]
    margin = {  # how far each point is from failing (smaller: worse)
        "greater": lo,
        "less": -hi,
        "equivalent": np.minimum(lo + test.effect, test.effect - hi),
        "noninferior": lo + test.effect,
    }[test.kind]
    worst = int(np.nanargmin(margin)) if np.any(np.isfinite(margin)) else 0
    power, need = math.nan, None
    if pilot is not None:
        p = np.atleast_2d(np.asarray(pilot, dtype=float))
        powers, needs = [], []
        for sd in p.std(1, ddof=1):
            powers.append(_power(test, sd, S, a))
            needs.append(
                stats.seeds_for_power(lambda n, sd=sd: _power(test, sd, n, a), n_max=n_max)
            )
        power, need = float(np.nanmin(powers)), int(max(needs))
    width = float(np.nanmax(hi - lo))
    if not np.all(np.isfinite(m)):
        verdict = "fails"
    elif width > test.tolerance:
        verdict = "underpowered"
    elif bool(np.all(passes)):
        verdict = "holds"
    else:  # a test that did not pass at less than the target power is inconclusive
        verdict = "underpowered" if math.isfinite(power) and power < 0.9 else "fails"
    return {
        "mean": m,
        "lo": lo,
        "hi": hi,
        "se": se,
        "passes": passes,
        "worst": worst,
        "width": width,
        "power": power,
        "seeds_for_power": need,
        "verdict": verdict,
        "holds": verdict == "holds",
        "points": M,
        "seeds": S,
    }


def test_text(test: Test, d: dict[str, Any]) -> str:
    """The test, its outcome and its power in words (for a row's decision)."""
    sc, u = test.scale, test.unit
    i = d["worst"]
    need = d["seeds_for_power"]
    need_text = "n/a" if need is None else (f"> {need - 1}" if need > 4096 else str(need))
    return (
        f"pre-registered test over {d['points']} point(s), Bonferroni: {test.describe()}. "
        f"Outcome: {d['verdict']}; worst point {d['mean'][i] * sc:.3g}{u} "
        f"[{d['lo'][i] * sc:.3g}, {d['hi'][i] * sc:.3g}] ({100 * (1 - 0.1 / d['points']):.3g}% "
        f"interval), widest interval {d['width'] * sc:.3g}{u}; {d['seeds']} confirmation seeds, "
        f"power {d['power']:.2f} (from the pilot's SD), seeds for 90% power {need_text}"
    )


def powered_row(
    cid: str,
    statement: str,
    test: Test,
    d: dict[str, Any],
    *,
    theory: Any,
    theory_text: str,
    detail: str,
    meta: dict[str, Any],
    kind: str = "claim",
    offset: float = 0.0,
) -> Claim:
    """A row decided by :func:`decide`: the worst point's mean and interval, the test's fields.

    ``offset`` is added to the reported value and interval (a statistic "simulation minus
    theory" is reported as the simulation's value by adding theory's)."""
    i = d["worst"]
    r = row(
        cid,
        statement,
        theory=theory,
        theory_text=theory_text,
        sim=d["mean"][i] + offset,
        ci=(d["lo"][i] + offset, d["hi"][i] + offset),
        holds=d["holds"],
        decision=f"{detail}; {test_text(test, d)}",
        meta=meta,
        kind=kind,
    )
    r.test, r.effect, r.tolerance = test.describe(), test.effect, test.tolerance
    r.seeds_for_power, r.power, r.verdict = d["seeds_for_power"], d["power"], d["verdict"]
    return r


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
        verdict="holds" if holds else "fails",
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
        verdict="unavailable",
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
        "Every row is a pre-registered test: its rule, smallest effect of interest and "
        "tolerance are fixed before the run; a pilot on seeds that the confirmation never uses "
        "gives the SD from which the seeds for 90% power are computed; a row whose interval "
        "is wider than its tolerance reads `underpowered` and fails.",
        "",
        "| id | kind | statement | theory | simulation [CI] | verdict | power | pilot seeds "
        "| confirmation seeds | config |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        sim = fmt(c.sim, 4)
        if c.sim_ci is not None:
            sim += f" [{fmt(c.sim_ci[0], 4)}, {fmt(c.sim_ci[1], 4)}]"
        theory = f"{fmt(c.theory, 4)} ({c.theory_text})" if c.theory is not None else c.theory_text
        verdict = c.verdict or ("holds" if c.holds else "fails")
        verdict = verdict if c.holds else f"**{verdict}**"
        power = "-" if c.power is None or math.isnan(c.power) else f"{c.power:.2f}"
        need = "" if c.seeds_for_power is None else f" (90%: {c.seeds_for_power})"
        lines.append(
            f"| {c.id} | {c.kind} | {_md_escape(c.statement)} | {_md_escape(theory)} | {sim} | "
            f"{verdict} | {power}{need} | {_seed_text(c.pilot_seeds)} | {_seed_text(c.seeds)} | "
            f"{c.sweep} `{c.config_hash}` |"
        )
    lines += ["", "## Decision rules and outcomes", ""]
    for c in claims:
        lines.append(
            f"- **{c.id}** ({c.kind}, {c.verdict or ('holds' if c.holds else 'fails')}): "
            f"{_md_escape(c.decision)}"
        )
    return "\n".join(lines) + "\n"


def _seed_text(seeds: list[int]) -> str:
    return f"{len(seeds)} ({seeds[0]}..{seeds[-1]})" if seeds else "-"


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
