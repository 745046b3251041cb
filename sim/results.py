"""Results files: one format, NetCDF-3, that xarray opens and pandas reads through xarray.

A results file holds named coordinate axes (``alpha``, ``kappa``, ``seed``, ``round``, ...),
data variables over some of those axes, and global attributes (the configuration as JSON, its
hash, the seeds, the package version). It is written atomically, so a killed run never leaves a
half-written file. ``xarray.open_dataset(path)`` opens it; ``.to_dataframe()`` gives pandas.

    write_results(path, coords={"alpha": a, "round": r},
                  data={"heldout_acc": (("alpha", "round"), arr)}, attrs={"config": "{...}"})
    res = read_results(path); res.data["heldout_acc"], res.coords["alpha"], res.attrs["config"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import netcdf_file

from sim.files import atomic_write


@dataclass
class Results:
    """In-memory contents of a results file."""

    coords: dict[str, np.ndarray]
    data: dict[str, tuple[tuple[str, ...], np.ndarray]]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.data:
            return self.data[name][1]
        return self.coords[name]

    def dims(self, name: str) -> tuple[str, ...]:
        return self.data[name][0]


def _nc_array(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == bool:
        return x.astype(np.int8)
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.max() > np.iinfo(np.int32).max or x.min() < np.iinfo(np.int32).min):
            return x.astype(np.float64)
        return x.astype(np.int32)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64)
    raise TypeError(f"cannot store dtype {x.dtype} in a results file")


def write_results(
    path: str | os.PathLike,
    coords: dict[str, np.ndarray],
    data: dict[str, tuple[tuple[str, ...], np.ndarray]],
    attrs: dict[str, Any] | None = None,
) -> Path:
    """Write coordinates, data variables and attributes to ``path`` atomically.

    Raises:
        ValueError: a data variable's shape does not match its named coordinates.
    """
    coords = {k: _nc_array(v) for k, v in coords.items()}
    for name, (dims, arr) in data.items():
        for d in dims:
            if d not in coords:
                raise ValueError(f"variable {name!r} uses dimension {d!r} with no coordinate")
        want = tuple(len(coords[d]) for d in dims)
        if tuple(np.shape(arr)) != want:
            shape = np.shape(arr)
            raise ValueError(f"variable {name!r} has shape {shape}, dims {dims} need {want}")

    def write(tmp: Path) -> None:
        with netcdf_file(tmp, "w", version=2) as f:
            for k, v in (attrs or {}).items():
                if isinstance(v, bool):
                    v = int(v)
                setattr(f, k, v)
            for name, values in coords.items():
                f.createDimension(name, len(values))
                var = f.createVariable(name, values.dtype, (name,))
                var[:] = values
            for name, (dims, arr) in data.items():
                arr = _nc_array(arr)
                var = f.createVariable(name, arr.dtype, tuple(dims))
                var[...] = arr

    return atomic_write(path, write)


def read_results(path: str | os.PathLike) -> Results:
    """Read a file written by :func:`write_results`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a results file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}")
    try:
        with netcdf_file(path, "r", mmap=False) as f:
            dim_names = set(f.dimensions)
            coords = {k: np.array(v[:]) for k, v in f.variables.items() if k in dim_names}
            data = {
                k: (tuple(v.dimensions), np.array(v[...]))
                for k, v in f.variables.items()
                if k not in dim_names
            }
            attrs = {
                k: (v.decode() if isinstance(v, bytes) else v) for k, v in f._attributes.items()
            }
    except (TypeError, OSError) as exc:
        raise ValueError(f"{path} is not a results file: {exc}") from exc
    return Results(coords=coords, data=data, attrs=attrs)
