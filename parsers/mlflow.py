"""MLflow file-store run reader (``mlruns/<experiment>/<run>/``).

A run folder of MLflow's ``FileStore`` holds::

    meta.yaml            run_id, run_name, start_time/end_time (ms since the epoch), status, ...
    metrics/<key>        one line per logged value: ``<timestamp ms> <value> <step>``
                         (keys with ``/`` live in subfolders: metrics/train/loss is "train/loss";
                         files of MLflow < 1.0 have no step column: step 0)
    params/<key>         the parameter's value as text
    tags/<key>           tag values (``mlflow.runName``, ``mlflow.user``, ...)

The reader is triggered by the run's ``meta.yaml`` (with a ``metrics/`` folder beside it)
and reads the whole run, listing every file it consumed in ``run.files``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .bounded import yaml_load_file
from .errors import ParseError
from .tail import CUT_LINE_MESSAGE
from .model import Run, concat_scalars, empty_scalars, make_scalars
from .registry import Reader, register

FORMAT = "mlflow"
SNIFF_BYTES = 8 * 1024
# Keys every FileStore run meta.yaml carries; two are enough to tell it from other YAML.
_RUN_META_KEYS = (b"run_id:", b"run_uuid:", b"experiment_id:", b"artifact_uri:", b"lifecycle_stage:")
MS_PER_S = 1000.0


def sniff(path: Path) -> bool:
    """A run's ``meta.yaml`` with a ``metrics/`` folder beside it."""
    if path.name != "meta.yaml" or not (path.parent / "metrics").is_dir():
        return False
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return sum(key in head for key in _RUN_META_KEYS) >= 2


def _read_text_tree(folder: Path) -> tuple[dict[str, str], list[str]]:
    """``{relative/key: text}`` of every file below ``folder`` (params, tags)."""
    out: dict[str, str] = {}
    files: list[str] = []
    if not folder.is_dir():
        return out, files
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        files.append(str(file))
        try:
            out[file.relative_to(folder).as_posix()] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return out, files


def _parse_metric(file: Path, tag: str, warnings: list[str]) -> pd.DataFrame:
    """Parse one ``metrics/<key>`` file; bad lines are skipped and counted in one warning."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"{file}: unreadable metric file skipped ({type(exc).__name__})")
        return empty_scalars()
    rows = text.splitlines()
    if rows and rows[-1].strip() and not text.endswith(("\n", "\r")):
        rows.pop()
        warnings.append(f"{file}: {CUT_LINE_MESSAGE}")
    lines = pd.Series(rows, dtype=object)
    lines = lines[lines.str.strip() != ""]
    if lines.empty:
        return empty_scalars()
    parts = lines.str.split(expand=True)
    ncols = lines.str.split().str.len()
    ts = pd.to_numeric(parts[0], errors="coerce")
    raw_value = parts[1] if 1 in parts else pd.Series(np.nan, index=parts.index)
    value = pd.to_numeric(raw_value, errors="coerce")
    if 2 in parts:
        step = pd.to_numeric(parts[2], errors="coerce")
        step = step.where(ncols >= 3, 0)  # old two-column lines: no step
    else:
        step = pd.Series(0, index=parts.index, dtype="float64")
    value_is_nan_text = raw_value.astype(str).str.lower().isin(["nan", "-nan"])
    good = (
        ncols.between(2, 3)
        & ts.notna()
        & step.notna()
        & (value.notna() | value_is_nan_text)
    )
    bad = int((~good).sum())
    if bad:
        first = int(np.flatnonzero(~good.to_numpy())[0]) + 1
        warnings.append(f"{file}: {bad} malformed line(s) skipped (first: line {first})")
    n = int(good.sum())
    return make_scalars(
        pd.Categorical([tag] * n),
        step[good].to_numpy(np.int64),
        ts[good].to_numpy(np.float64) / MS_PER_S,
        value[good].to_numpy(np.float64),
    )


def _seconds(ms: Any) -> float | None:
    try:
        return float(ms) / MS_PER_S if ms is not None else None
    except (TypeError, ValueError):
        return None


def read(path: Path) -> list[Run]:
    """Read the whole MLflow run whose ``meta.yaml`` is ``path``."""
    path = Path(path)
    run_dir = path.parent
    try:
        meta_yaml = yaml_load_file(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParseError(path, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(meta_yaml, dict):
        raise ParseError(path, "meta.yaml is not a mapping: not an MLflow run")

    warnings: list[str] = []
    files = [str(path)]
    frames = []
    metrics_dir = run_dir / "metrics"
    for file in sorted(p for p in metrics_dir.rglob("*") if p.is_file()):
        files.append(str(file))
        frames.append(_parse_metric(file, file.relative_to(metrics_dir).as_posix(), warnings))
    params, param_files = _read_text_tree(run_dir / "params")
    tags, tag_files = _read_text_tree(run_dir / "tags")
    files += param_files + tag_files

    run_id = str(meta_yaml.get("run_id") or meta_yaml.get("run_uuid") or run_dir.name)
    name = str(meta_yaml.get("run_name") or tags.get("mlflow.runName") or meta_yaml.get("name") or run_id)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "experiment_id": str(meta_yaml.get("experiment_id", run_dir.parent.name)),
        "params": params,
        "tags": tags,
        "status": meta_yaml.get("status"),
        "start_time": _seconds(meta_yaml.get("start_time")),
        "end_time": _seconds(meta_yaml.get("end_time")),
    }
    experiment_meta = run_dir.parent / "meta.yaml"
    if experiment_meta.is_file():
        try:
            exp = yaml_load_file(experiment_meta)
            if isinstance(exp, dict) and exp.get("name") is not None:
                meta["experiment_name"] = str(exp["name"])
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            warnings.append(f"{experiment_meta}: experiment meta.yaml unreadable, experiment name unknown")
    if not frames:
        warnings.append(f"{metrics_dir}: the run logged no metrics")
    return [
        Run(
            name=name,
            path=str(run_dir),
            format=FORMAT,
            scalars=concat_scalars(frames),
            meta=meta,
            warnings=warnings,
            files=files,
        )
    ]


READER = register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        priority=30,
        description="MLflow file store run folder (mlruns/<experiment>/<run>/)",
    )
)
