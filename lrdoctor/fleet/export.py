"""Every scalar of every run in one long table: run, path, format, tag, role, step, wall_time, value.

Runs of any mix of trackers go into one table (the tidy ``Run.scalars`` of each, with the run's
identity and each tag's role added), written as Parquet (``pip install "lrdoctor[parquet]"``) or CSV.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lrdoctor.report.atomic import write_bytes_atomic
from parsers import Run

EXPORT_COLUMNS: tuple[str, ...] = ("run", "path", "format", "tag", "role", "step", "wall_time", "value")
EXPORT_FORMATS: tuple[str, ...] = ("parquet", "csv")
# Role of a tag the run has no role for (as everywhere else in lrdoctor).
NO_ROLE = "other"


class ExportError(Exception):
    """The table cannot be written as asked (unknown suffix, missing Parquet engine, a log as target)."""


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """``parquet`` or ``csv``, from ``fmt`` or the file's suffix."""
    kind = (fmt or Path(path).suffix.lstrip(".")).lower()
    kind = {"pq": "parquet"}.get(kind, kind)
    if kind not in EXPORT_FORMATS:
        raise ExportError(f"{path}: say .parquet or .csv (or --format), not {Path(path).suffix or 'no suffix'!r}")
    return kind


def scalars_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One long table of every run's scalars, runs in the given order, each run's rows in its own order."""
    frames = []
    for run in runs:
        df = run.scalars
        n = len(df)
        tags = df["tag"].astype(str).to_numpy(dtype=object)
        roles = pd.Series(tags).map(run.roles).fillna(NO_ROLE).to_numpy(dtype=object)
        frames.append(pd.DataFrame({
            "run": np.full(n, run.name, dtype=object),
            "path": np.full(n, run.path, dtype=object),
            "format": np.full(n, run.format, dtype=object),
            "tag": tags,
            "role": roles,
            "step": df["step"].to_numpy(np.int64),
            "wall_time": df["wall_time"].to_numpy(np.float64),
            "value": df["value"].to_numpy(np.float64),
        }))
    if not frames:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in EXPORT_COLUMNS[:5]})
        table["step"], table["wall_time"], table["value"] = (pd.Series(dtype=t) for t in ("int64", "float64", "float64"))
    else:
        table = pd.concat(frames, ignore_index=True)
    for col in ("run", "path", "format", "tag", "role"):
        table[col] = table[col].astype("category")
    return table[list(EXPORT_COLUMNS)]


def write_table(table: pd.DataFrame, path: str | Path, fmt: str | None = None,
                protected: Sequence[str] = ()) -> Path:
    """Write ``table`` to ``path`` atomically as Parquet or CSV; never over one of the ``protected`` files."""
    path = Path(path)
    kind = export_format(path, fmt)
    target = path.resolve()
    if any(Path(p).resolve() == target for p in protected if "://" not in str(p)):
        raise ExportError(f"{path} is one of the logs being exported: choose another output file")
    if not target.parent.is_dir():
        raise ExportError(f"{path}: folder {target.parent} does not exist")
    buf = io.BytesIO()
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ExportError('Parquet needs pyarrow: pip install "lrdoctor[parquet]" (or write .csv)') from exc
        table.to_parquet(buf, index=False)
    else:
        buf.write(table.to_csv(index=False, na_rep="").encode("utf-8"))
    return write_bytes_atomic(path, buf.getvalue())
