"""The one tidy data model every reader produces.

A :class:`Run` holds its scalars as one long DataFrame with the columns
``tag, step, wall_time, value`` and fixed dtypes (see :data:`SCALAR_DTYPES`).
Roles (``train_loss``, ``lr`` ...) are a mapping beside the data: tag names are
never rewritten, so the user always sees their own names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

SCALAR_COLUMNS: tuple[str, ...] = ("tag", "step", "wall_time", "value")
SCALAR_DTYPES: dict[str, str] = {
    "tag": "category",
    "step": "int64",
    "wall_time": "float64",
    "value": "float64",
}


class SchemaError(ValueError):
    """A scalars frame does not follow the tidy schema."""


def empty_scalars() -> pd.DataFrame:
    """Return an empty scalars frame with the right columns and dtypes."""
    return make_scalars([], [], [], [])


def make_scalars(
    tags: Sequence[str] | np.ndarray | pd.Categorical,
    steps: Sequence[int] | np.ndarray,
    wall_times: Sequence[float] | np.ndarray | None,
    values: Sequence[float] | np.ndarray,
) -> pd.DataFrame:
    """Build a scalars frame from column arrays; ``wall_times=None`` means no clock (NaN)."""
    step_arr = np.asarray(steps, dtype=np.int64)
    value_arr = np.asarray(values, dtype=np.float64)
    if wall_times is None:
        wall_arr = np.full(len(step_arr), np.nan, dtype=np.float64)
    else:
        wall_arr = np.asarray(wall_times, dtype=np.float64)
    tag_col = tags if isinstance(tags, pd.Categorical) else pd.Categorical(np.asarray(tags, dtype=object))
    if not (len(tag_col) == len(step_arr) == len(wall_arr) == len(value_arr)):
        raise SchemaError("scalar columns have different lengths")
    return pd.DataFrame(
        {"tag": tag_col, "step": step_arr, "wall_time": wall_arr, "value": value_arr}
    )


def concat_scalars(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate scalars frames, keeping the schema (categories are unioned)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_scalars()
    tags = pd.Categorical(np.concatenate([f["tag"].astype(object).to_numpy() for f in frames]))
    return pd.DataFrame(
        {
            "tag": tags,
            "step": np.concatenate([f["step"].to_numpy(np.int64) for f in frames]),
            "wall_time": np.concatenate([f["wall_time"].to_numpy(np.float64) for f in frames]),
            "value": np.concatenate([f["value"].to_numpy(np.float64) for f in frames]),
        }
    )


def validate_scalars(df: pd.DataFrame) -> None:
    """Raise :class:`SchemaError` unless ``df`` follows the tidy scalars schema.

    Every reader's tests call this on what the reader returns.
    """
    if tuple(df.columns) != SCALAR_COLUMNS:
        raise SchemaError(f"columns are {tuple(df.columns)}, expected {SCALAR_COLUMNS}")
    for col, dtype in SCALAR_DTYPES.items():
        actual = str(df[col].dtype)
        if actual != dtype:
            raise SchemaError(f"column {col!r} has dtype {actual}, expected {dtype}")
    if df["tag"].isna().any():
        raise SchemaError("column 'tag' has missing values")


@dataclass
class StepOverlap:
    """Steps logged again after a restart/resume: the later file supersedes the earlier points.

    The superseded steps were computed twice, so they are wasted compute.
    """

    source: str  # the file whose points were superseded
    superseded_by: str  # the later file
    step_start: int
    step_end: int
    points: int  # scalar points superseded (all tags)
    steps: int  # distinct steps repeated


@dataclass(frozen=True, eq=False)
class TagIndex:
    """A run's points sorted by (tag, step), stable, with each tag's slice: every tag's series is a
    view of three arrays, so asking for a series or the point counts never scans all points again."""

    source: pd.DataFrame  # the scalars frame this index was built from
    slices: dict[str, slice]
    step: np.ndarray  # int64
    wall_time: np.ndarray  # float64
    value: np.ndarray  # float64
    # Each tag's ``step, wall_time, value`` frame, built on first request: building a DataFrame
    # and its column lookup costs about a millisecond, and the analysis asks for the same few
    # tags many times per run.
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, scalars: pd.DataFrame) -> "TagIndex":
        """Sort once: by tag code, then step, keeping the logged order of equal steps."""
        if scalars.empty:
            empty = np.empty(0)
            return cls(scalars, {}, empty.astype(np.int64), empty, empty)
        tag = scalars["tag"]
        if isinstance(tag.dtype, pd.CategoricalDtype):
            codes, names = tag.cat.codes.to_numpy(), tag.cat.categories
        else:
            codes, names = pd.factorize(tag, sort=False)
        steps = scalars["step"].to_numpy(np.int64)
        wall = scalars["wall_time"].to_numpy(np.float64)
        value = scalars["value"].to_numpy(np.float64)
        grouped = bool(np.all(codes[1:] >= codes[:-1])) if len(codes) > 1 else True
        same = codes[1:] == codes[:-1]
        if not (grouped and not np.any(same & (steps[1:] < steps[:-1]))):  # already in order: no copy
            order = np.lexsort((steps, codes))
            codes, steps, wall, value = codes[order], steps[order], wall[order], value[order]
        present = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
        ends = np.append(present[1:], len(codes))
        names = list(names)  # plain values: one lookup per tag without pandas' indexing
        starts = codes[present].tolist()
        slices = {str(names[c]): slice(a, b) for c, a, b in zip(starts, present.tolist(), ends.tolist()) if c >= 0}
        for arr in (steps, wall, value):
            arr.flags.writeable = False  # series are views: writing through one must fail, not corrupt
        return cls(scalars, slices, steps, wall, value)

    def counts(self) -> dict[str, int]:
        """Points per tag."""
        return {tag: s.stop - s.start for tag, s in self.slices.items()}

    def arrays(self, tag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, wall_time, value) of one tag, sorted by step: views, empty for an unknown tag."""
        s = self.slices.get(tag, slice(0, 0))
        return self.step[s], self.wall_time[s], self.value[s]

    def frame(self, tag: str) -> pd.DataFrame:
        """One tag's points as a ``step, wall_time, value`` frame (a shallow copy of the one built
        once: a caller adding or replacing columns never changes what the next caller gets, and the
        shared arrays are read-only)."""
        frame = self._frames.get(tag)
        if frame is None:
            step, wall_time, value = self.arrays(tag)
            frame = self._frames[tag] = pd.DataFrame(
                {"step": step, "wall_time": wall_time, "value": value}, copy=False)
        return frame.copy(deep=False)


@dataclass
class Run:
    """One training run, whatever format it came from."""

    name: str
    path: str
    format: str
    scalars: pd.DataFrame = field(default_factory=empty_scalars)
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    overlaps: list[StepOverlap] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Every tag's points sorted by step once per scalars frame (see ``tag_index``).
    _index: TagIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_index"] = None  # rebuilt on demand: not shipped between processes
        return state

    def __post_init__(self) -> None:
        self.path = str(self.path)
        if not self.roles:
            self.infer_roles()

    @property
    def key(self) -> str:
        """The run's one identity everywhere (app, sweeps, costs): format, path and name, stable across
        reloads. Names alone repeat (every Lightning run is ``version_0``)."""
        return f"{self.format}|{self.path}|{self.name}"

    # -- roles -------------------------------------------------------------
    def infer_roles(self, overrides: dict[str, str] | None = None) -> None:
        """(Re)compute ``roles`` from the tag names, then apply user ``overrides``."""
        from .roles import infer_roles

        self.roles = infer_roles(self.tags())
        if "train_loss" not in self.roles.values():
            self._train_loss_by_shape()
        if overrides:
            self.set_roles(overrides)

    def _train_loss_by_shape(self) -> None:
        """No tag is named like a training loss: take the one shaped like one (falling, bouncing),
        and say so in ``meta["roles_by_shape"]`` and a warning."""
        from .roles import SHAPE_MAX_CANDIDATES, loss_by_shape

        others = [t for t, r in self.roles.items() if r == "other"]
        if not others or self.scalars.empty:
            return
        counts = self.point_counts()
        others = sorted(others, key=lambda t: -counts.get(t, 0))[:SHAPE_MAX_CANDIDATES]
        df = self.scalars[self.scalars["tag"].isin(others)].sort_values(["tag", "step"], kind="stable")
        curves = {str(tag): part["value"].to_numpy() for tag, part in df.groupby("tag", observed=True)}
        val_points = max((counts.get(t, 0) for t, r in self.roles.items() if r == "val_loss"), default=0)
        tag = loss_by_shape(curves, min_points=val_points)
        if tag is None:
            return
        self.roles[tag] = "train_loss"
        self.meta.setdefault("roles_by_shape", {})[tag] = "train_loss"
        self.warnings.append(f"{self.path}: no tag is named like a training loss; {tag!r} is taken as the "
                             f"training loss by its shape (give --role {tag}=other if it is not)")

    def set_roles(self, overrides: dict[str, str]) -> None:
        """Assign roles by hand: ``{tag: role}``; a role given to a new tag is taken from the others."""
        for tag, role in overrides.items():
            if tag not in self.roles:
                continue
            for other, other_role in list(self.roles.items()):
                if other_role == role and other != tag:
                    self.roles[other] = "other"
            self.roles[tag] = role

    def tags(self) -> list[str]:
        """Tag names in first-seen order."""
        if self.scalars.empty:
            return []
        tag = self.scalars["tag"]
        if isinstance(tag.dtype, pd.CategoricalDtype):  # unique codes: no per-point strings
            column = tag.array  # the Categorical itself: no Series built by the .cat accessor
            cats = column.categories.tolist()
            codes = column.codes
            if len(codes) > 1 and bool(np.all(codes[1:] >= codes[:-1])):
                # grouped by tag (wide tables write each column's points together): the tags are
                # where the code changes, found in one pass instead of hashing every point
                firsts = codes[np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))]
            else:
                firsts = pd.unique(codes)
            return [str(cats[c]) for c in firsts.tolist() if c >= 0]
        return list(pd.unique(tag.astype(object)))

    def tags_for(self, role: str) -> list[str]:
        """Tags with ``role``, the preferred (primary) one first."""
        from .roles import rank_tags

        return rank_tags([t for t, r in self.roles.items() if r == role], role, self.point_counts())

    def primary_tag(self, role: str) -> str | None:
        """The tag the analysis should use for ``role``, or None."""
        tags = self.tags_for(role)
        return tags[0] if tags else None

    def point_counts(self) -> dict[str, int]:
        """Number of points per tag."""
        return self.tag_index().counts()

    # -- data access -------------------------------------------------------
    def tag_index(self) -> TagIndex:
        """The points grouped by tag and sorted by step, built once per scalars frame (a new
        ``scalars`` frame builds it again)."""
        index = self._index
        if index is None or index.source is not self.scalars:
            index = self._index = TagIndex.build(self.scalars)
        return index

    def series(self, tag: str) -> pd.DataFrame:
        """Points of one tag as ``step, wall_time, value``, sorted by step (stable; views of the index)."""
        return self.tag_index().frame(tag)

    def role_series(self, role: str) -> pd.DataFrame | None:
        """The primary series for ``role``, or None when the run has no such tag."""
        tag = self.primary_tag(role)
        return None if tag is None else self.series(tag)

    def role_arrays(self, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(step, wall_time, value)`` of the primary series for ``role`` as read-only arrays (the
        columns of :meth:`role_series` without building a frame), or None without such a tag."""
        tag = self.primary_tag(role)
        return None if tag is None else self.tag_index().arrays(tag)

    def wide(self, tags: Sequence[str] | None = None) -> pd.DataFrame:
        """A wide view: one row per step, one column per tag (last value per step wins)."""
        df = self.scalars if tags is None else self.scalars[self.scalars["tag"].isin(tags)]
        return df.pivot_table(
            index="step", columns="tag", values="value", aggfunc="last", observed=True, dropna=False
        )

    @property
    def step_range(self) -> tuple[int, int] | None:
        """(first, last) step over all tags, or None when empty."""
        if self.scalars.empty:
            return None
        steps = self.tag_index().step  # every point, in another order: the same extremes
        return int(steps.min()), int(steps.max())

    @property
    def wall_span(self) -> float | None:
        """Seconds between the first and the last wall-clock stamp, or None without a clock."""
        wt = self.scalars["wall_time"]
        if wt.notna().sum() < 2:
            return None
        return float(wt.max() - wt.min())

    @property
    def folder(self) -> Path:
        """The folder the run lives in (its path, or the path's parent for file runs)."""
        p = Path(self.path)
        return p if p.is_dir() else p.parent
