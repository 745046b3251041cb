"""``selfdpo reproduce``: every sweep, figure and claim of the paper from one command.

Layout of the output folder (``--out``, default ``./results``)::

    sweeps/<name>-<hash>.nc   one results file per experiment, named by the hash of its
                              parameters and of the code it depends on
    manifest.json             sweep name -> results file, hash, parameters (figures/_common.py)
    figures/<figure>.png|pdf  every figure (figures/*.py, reading the results files only)
    claims.json, claims.md    one row per claim: theory, simulation (95% CI), holds
    ladder.md                 an experiment's own report (``REPORT``, ``markdown``): the ladder
    paper/                    main.tex (copied from the repository's paper/), generated/*.tex
                              (tables from claims.json), figures/ (copies of the PDFs), and
                              main.pdf when a TeX engine is installed

The cache: an experiment's results file is reused when its name carries the same hash (of the
experiment's parameters, the source of ``theory/`` and ``sim/``, the shared experiment code and
the experiment's own files: its module, or every module of its package) and the checksum of its
contents, stored in the file, still matches them; otherwise it is recomputed, and a checksum
mismatch is reported. To change an experiment, edit its ``spec`` (paper/experiments/<claim>.py,
or <claim>/ for a package): only that experiment reruns.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import sim
import theory
from figures import (
    compute_cap,
    confidence_inversion,
    direction_mismatch,
    ladder,
    pair_accuracy,
    phase_diagram,
    replication,
    silent_regression,
    variance_theorem,
)
from figures._common import read_manifest, write_manifest
from paper import claims as claims_mod
from paper.build import assemble_paper, build_pdf
from paper.claims import Claim, meta, unavailable
from paper.experiments import EXPERIMENTS
from paper.experiments import common as experiments_common
from sim.files import atomic_write_text, check_output_dir
from sim.results import Results, read_results, write_results
from theory.util import UsageError

CACHE_VERSION = 2
FIGURE_MODULES = (
    phase_diagram,
    pair_accuracy,
    silent_regression,
    confidence_inversion,
    direction_mismatch,
    variance_theorem,
    compute_cap,
    replication,
    ladder,
)
# front ends and statistics: they do not change what a sweep computes
NOT_RESULTS_CODE = {"commands.py", "cli.py", "bench.py", "stats.py"}


# pilot seeds: never used to confirm (confirmation seeds are 0, 1, ...)
PILOT_START = 10_000


def plan(quick: bool) -> list[tuple[ModuleType, dict[str, Any]]]:
    """Every experiment with its parameters for this mode (``pilot``: the pilot's seed count,
    ``min_seeds``/``max_seeds``: the range of the confirmation's seed count)."""
    return [(exp, exp.spec(quick)) for exp in EXPERIMENTS]


def pilot_params(spec: dict[str, Any]) -> dict[str, Any]:
    """The pilot's parameters: the experiment's, on ``spec['pilot']`` seeds from PILOT_START."""
    return {**spec, "seeds": list(range(PILOT_START, PILOT_START + int(spec["pilot"])))}


def confirmation_seeds(spec: dict[str, Any], rows: Sequence[Claim]) -> int:
    """Seeds of the confirmation: the most any row of kind ``claim`` needs for 90% power by the
    pilot (rows computed on the pilot), within [min_seeds, max_seeds]. Boundary rows report
    their power at these seeds (and read "underpowered" where that is not enough)."""
    need = max([r.seeds_for_power or 0 for r in rows if r.kind == "claim"] + [0])
    return int(min(max(need, int(spec["min_seeds"])), int(spec["max_seeds"])))


def experiment_sources(experiment: ModuleType) -> list[Path]:
    """An experiment's own source files: its module's file, or, for an experiment that is a
    package (paper/experiments/ladder/), every module in the package's folder."""
    path = Path(experiment.__file__).resolve()
    if getattr(experiment, "__path__", None) is not None:
        return sorted(path.parent.rglob("*.py"))
    return [path]


def code_fingerprint(experiment: ModuleType) -> str:
    """Hash of the code an experiment's results depend on: the source files of theory/ and sim/
    (less front ends and statistics), paper/experiments/common.py and the experiment's own
    files (:func:`experiment_sources`)."""
    h = hashlib.sha256()
    for pkg in (theory, sim):
        root = Path(pkg.__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            if path.name not in NOT_RESULTS_CODE:
                h.update(f"{pkg.__name__}/{path.relative_to(root)}".encode())
                h.update(path.read_bytes())
    common_file = Path(experiments_common.__file__).resolve()
    own = experiment_sources(experiment)
    base = own[0].parent
    h.update(common_file.name.encode())
    h.update(common_file.read_bytes())
    for path in own:
        h.update(str(path.relative_to(base)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def sweep_hash(name: str, params: dict[str, Any], fingerprint: str) -> str:
    """16-hex-digit hash of (name, params, code fingerprint, cache version); key-order free."""
    text = json.dumps(
        {"name": name, "params": params, "code": fingerprint, "v": CACHE_VERSION},
        sort_keys=True,
        default=_jsonable,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def checksum(coords: dict[str, Any], data: dict[str, tuple[tuple[str, ...], Any]]) -> str:
    """SHA-256 of a results file's coordinates and variables (names, dims, float64 values)."""
    h = hashlib.sha256()
    for name in sorted(coords):
        h.update(f"c:{name}".encode())
        h.update(np.ascontiguousarray(coords[name], dtype="<f8").tobytes())
    for name in sorted(data):
        dims, arr = data[name]
        h.update(f"v:{name}:{','.join(dims)}".encode())
        h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return h.hexdigest()


def cache_state(path: Path, digest: str) -> str:
    """``ok`` (reusable), ``missing``, ``stale`` (other hash or unreadable) or ``corrupt``
    (its contents do not match their stored checksum)."""
    if not path.is_file():
        return "missing"
    try:
        res = read_results(path)
    except (ValueError, OSError):
        return "stale"
    if res.attrs.get("config_hash") != digest:
        return "stale"
    if res.attrs.get("checksum") != checksum(res.coords, res.data):
        return "corrupt"
    return "ok"


def ensure_sweep(
    out: Path,
    experiment: ModuleType,
    params: dict[str, Any],
    bar: Callable[[str], None] = lambda s: None,
    warn: Callable[[str], None] = lambda s: None,
    runner: Callable | None = None,
) -> tuple[Path, bool]:
    """Run ``experiment`` unless its results file is cached; returns (path, reused)."""
    name = experiment.SWEEP
    digest = sweep_hash(name, params, code_fingerprint(experiment))
    path = out / "sweeps" / f"{name}-{digest}.nc"
    state = cache_state(path, digest)
    if state == "ok":
        return path, True
    if state == "corrupt":
        warn(f"sweep {name}: {path.name} does not match its checksum; recomputing")
    coords, data, attrs = (runner or experiment.run)(params, bar)
    attrs = {
        **attrs,
        "name": name,
        "config": json.dumps(params, sort_keys=True, default=_jsonable),
        "config_hash": digest,
        "seeds": json.dumps(experiments_common.seed_range(params.get("seeds", []))),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checksum": checksum(coords, data),
    }
    write_results(path, coords, data, attrs)
    return path, False


def check_out_dir(out: str | os.PathLike) -> Path:
    """The output folder, created if needed; UsageError if empty, a file or not writable."""
    try:  # an empty --out would be the current folder: refused, like a file or a device
        path = check_output_dir(out, "--out")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {path} is not writable: {exc.strerror or exc}") from None
    return path


def _bar(items: Sequence, desc: str, unit: str, quiet: bool) -> tqdm:
    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, disable=True if quiet else None)


def run_experiment(
    out: Path,
    experiment: ModuleType,
    spec: dict[str, Any],
    bar: Callable[[str], None] = lambda s: None,
    warn: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """The pilot, the seed count it implies, the confirmation: the manifest entry."""
    ppath, preused = ensure_sweep(out, experiment, pilot_params(spec), bar, warn)
    pilot = read_results(ppath)
    rows = experiment.claims(pilot, meta(pilot, "", experiment.SWEEP, pilot), pilot)
    n = confirmation_seeds(spec, rows)
    cpath, creused = ensure_sweep(out, experiment, {**spec, "seeds": list(range(n))}, bar, warn)
    return {
        "file": str(cpath.relative_to(out)),
        "pilot_file": str(ppath.relative_to(out)),
        "reused": preused and creused,
        "seeds": n,
        "seeds_needed": {r.id: r.seeds_for_power for r in rows},
    }


# submitted first when experiments run in parallel (longest first keeps both workers busy to the
# end): the longest experiments of a quick reproduction, measured (cold compile cache) 51 s and
# 38 s against at most 34 s for any other; order only affects the wall time, never a result
LONGEST_FIRST = ("mismatch", "ladder")


def _experiment_entry(
    out: Path,
    experiment: ModuleType,
    spec: dict[str, Any],
    bar: Callable[[str], None],
    warn: Callable[[str], None],
) -> dict[str, Any]:
    """An experiment's manifest entry (:func:`run_experiment`), or its reason for not running."""
    entry: dict[str, Any] = {"params": spec}
    t0 = time.time()
    try:
        entry.update(run_experiment(out, experiment, spec, bar, warn))
        entry["seconds"] = round(time.time() - t0, 1)
    except RuntimeError as exc:
        entry.update(file=None, reused=False, error=str(exc))
        warn(f"sweep {experiment.SWEEP}: not run: {exc}")
    return entry


def _worker_entry(out: str, module: str, spec: dict[str, Any]) -> dict[str, Any]:
    """:func:`_experiment_entry` in a worker process (the experiment named by its module)."""
    experiment = importlib.import_module(module)
    return _experiment_entry(Path(out), experiment, spec, lambda s: None, _stderr_line)


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")


@contextlib.contextmanager
def worker_pool(jobs: int) -> Iterator[Executor | None]:
    """``jobs`` spawned worker processes for experiments and figures; None for ``jobs`` = 1.

    Each worker is a fresh process with one XLA CPU device and the compilation cache on; an
    experiment computes the same numbers there as here (sweeps do not depend on the device
    count), so only the wall time changes: while one worker compiles or runs numpy theory on
    one core, another runs. Spawned workers import the caller's main module: a script that
    calls :func:`reproduce` with ``jobs`` > 1 needs the ``if __name__ == "__main__"`` guard.
    """
    if jobs <= 1:
        yield None
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # JAX is not fork-safe
    ex = ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=experiments_common.enable_compilation_cache
    )
    try:
        yield ex
    except BaseException:
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def run_sweeps(
    out: Path,
    planned: Sequence[tuple[ModuleType, dict]],
    *,
    quiet: bool = False,
    pool: Executor | None = None,
) -> dict[str, dict[str, Any]]:
    """Run every experiment (pilot, then confirmation); write and return the manifest.

    With a ``pool`` (:func:`worker_pool`) experiments run in its workers at once, longest
    first; the manifest is the same, in plan order. An experiment that cannot run
    (RuntimeError) is recorded with the reason; its figure and rows then report it.
    """
    bar = _bar(planned, "sweeps", "sweep", quiet)
    entries: dict[str, dict[str, Any]] = {}
    if pool is not None:
        first = {name: i for i, name in enumerate(LONGEST_FIRST)}
        order = sorted(planned, key=lambda es: first.get(es[0].SWEEP, len(first)))
        futures = {
            pool.submit(_worker_entry, str(out), exp.__name__, spec): exp.SWEEP
            for exp, spec in order
        }
        with bar:
            for f in as_completed(futures):
                entries[futures[f]] = f.result()
                bar.set_postfix_str(futures[f])
                bar.update(1)
    else:
        for experiment, spec in bar:
            bar.set_postfix_str(experiment.SWEEP)
            warn = lambda s: bar.write(s, file=sys.stderr)  # noqa: E731
            entries[experiment.SWEEP] = _experiment_entry(
                out, experiment, spec, bar.set_postfix_str, warn
            )
    manifest = {exp.SWEEP: entries[exp.SWEEP] for exp, _ in planned}
    write_manifest(out, manifest)
    return manifest


def evaluate(out: Path) -> list[Claim]:
    """Every experiment's rows, decided from its results file in ``out``."""
    manifest = read_manifest(out)
    rows: list[Claim] = []
    for experiment in EXPERIMENTS:
        name = experiment.SWEEP
        entry = manifest.get(name, {})
        try:
            if not entry.get("file"):
                raise FileNotFoundError(entry.get("error", f"sweep {name} was not run"))
            res: Results = read_results(out / entry["file"])
            pilot = read_results(out / entry["pilot_file"]) if entry.get("pilot_file") else None
            rows += experiment.claims(res, meta(res, entry["file"], name, pilot), pilot)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            rows += [
                unavailable(cid, "", f"{type(exc).__name__}: {exc}", sweep=name)
                for cid in experiment.ROWS
            ]
    return rows


def _figure(module: str, out: str) -> tuple[list[Path], str | None]:
    """One figure script on ``out``: (files drawn, None) or ([], why it was not drawn)."""
    try:
        return importlib.import_module(module).main(out, str(Path(out) / "figures")), None
    except FileNotFoundError as exc:
        return [], str(exc)


def submit_figures(out: Path, pool: Executor) -> list[Future]:
    """Every figure script started in ``pool``'s workers (collected by :func:`draw_figures`)."""
    return [pool.submit(_figure, m.__name__, str(out)) for m in FIGURE_MODULES]


def draw_figures(
    out: Path, *, quiet: bool = False, pending: Sequence[Future] | None = None
) -> tuple[list[Path], dict[str, str]]:
    """Run every figure script on ``out``; PNG and PDF into ``out/figures``.

    ``pending``: the scripts already started in workers (:func:`submit_figures`); None: drawn
    here, one after another.
    """
    paths: list[Path] = []
    missing: dict[str, str] = {}
    bar = _bar(FIGURE_MODULES, "figures", "fig", quiet)
    for i, module in enumerate(bar):
        drawn, why = _figure(module.__name__, str(out)) if pending is None else pending[i].result()
        paths += drawn
        if why is not None:
            missing[module.STEM] = why
            bar.write(f"figure {module.STEM}: not drawn: {why}", file=sys.stderr)
    return paths, missing


def write_experiment_reports(out: Path) -> list[Path]:
    """``OUT/<REPORT>`` for each experiment that has a ``REPORT`` (file name) and ``markdown``
    (results -> Markdown), from its results file (e.g. ``ladder.md``); paper.mdtex converts them."""
    manifest = read_manifest(out)
    written = []
    for experiment in EXPERIMENTS:
        entry = manifest.get(experiment.SWEEP, {})
        if getattr(experiment, "REPORT", None) and entry.get("file"):
            text = experiment.markdown(read_results(out / entry["file"]))
            written.append(atomic_write_text(out / experiment.REPORT, text))
    return written


def reproduce(
    out: str | os.PathLike, *, quick: bool = False, quiet: bool = False, jobs: int = 1
) -> int:
    """Everything: sweeps, figures, claims, paper.

    ``jobs``: worker processes running experiments and figures at once (:func:`worker_pool`);
    the results do not depend on it. Returns 0 if every row of kind ``claim`` holds, else 1
    (``boundary`` rows never decide it).
    """
    t0 = time.time()
    out_path = check_out_dir(out)
    experiments_common.enable_compilation_cache()
    with worker_pool(jobs) as pool:
        manifest = run_sweeps(out_path, plan(quick), quiet=quiet, pool=pool)
        pending = None if pool is None else submit_figures(out_path, pool)
        claims = evaluate(out_path)  # here, while the workers draw
        written = claims_mod.write_claims(out_path, claims)
        write_experiment_reports(out_path)
        figure_paths, missing = draw_figures(out_path, quiet=quiet, pending=pending)
    paper_dir = assemble_paper(out_path, figure_paths, claims, manifest)
    pdf, note = build_pdf(paper_dir)
    reused = sum(1 for m in manifest.values() if m.get("reused"))
    failed = [k for k, m in manifest.items() if m.get("error")]
    print(
        f"results:  {out_path / 'sweeps'} ({len(manifest)} sweeps, {reused} reused from cache"
        + (f", not run: {', '.join(failed)}" if failed else "")
        + ")"
    )
    print(
        f"figures:  {out_path / 'figures'} ({len(figure_paths)} files"
        + (f", not drawn: {', '.join(missing)}" if missing else "")
        + ")"
    )
    print(f"claims:   {written[0]}  {written[1]}")
    print(f"paper:    {paper_dir / 'main.tex'} ({note})")
    main = [c for c in claims if c.kind == "claim"]
    failing = [c for c in main if not c.holds]
    boundary = [c for c in claims if c.kind != "claim"]
    print(
        f"claims holding: {len(main) - len(failing)}/{len(main)}; boundary rows holding: "
        f"{sum(c.holds for c in boundary)}/{len(boundary)} "
        f"({'quick' if quick else 'full'} run, {time.time() - t0:.0f} s)"
    )
    not_holding = [c for c in boundary if not c.holds]
    if not_holding:
        sys.stderr.write(
            "boundary rows not holding (reported, exit status unaffected): "
            f"{', '.join(c.id for c in not_holding)}\n"
        )
    if failing:
        sys.stderr.write(f"failing claims: {', '.join(c.id for c in failing)}\n")
        for c in failing:
            sys.stderr.write(f"  {c.id}: {c.decision}\n")
        return 1
    return 0
