"""TensorBoard event-file reader: every scalar point, restarts handled, damage survived.

* A folder holding event files is one run (path = the folder, name = its name). Keras
  writes ``train/`` and ``validation/`` (or ``val``/``eval``/``test``) subfolders: those
  are one run at the parent folder, tags prefixed with the subfolder (``train/loss``).
* Both scalar encodings are read: legacy ``simple_value`` and rank-0 float tensors of
  the ``scalars`` plugin (TF2/Keras ``.v2`` files). No reservoir sampling.
* Restarts: files are ordered by their first wall time; a later file's points
  supersede the earlier files' points of the same tag from its first step on, and the
  overlap is recorded as :class:`~parsers.model.StepOverlap` (wasted compute).
* Damage (truncated last record, CRC mismatch) is skipped with a warning naming the
  file, the byte offset and what was skipped.
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from .errors import ParseError
from .model import SCALAR_COLUMNS, Run, StepOverlap, empty_scalars
from .registry import Reader, merged_run, register
from .tb_batch import decode_files
from .tb_decode import SCALARS_PLUGIN, Decoded, decode_protobuf
from . import tb_fast
from .tb_fast import decode_fast
from .tb_records import FOOTER_BYTES, frame_records, looks_like_event_file

FORMAT = "tensorboard"
# Subfolder names Keras (and similar callbacks) use for the splits of one run.
SPLIT_FOLDERS = frozenset({"train", "training", "validation", "val", "valid", "eval", "test"})
_NAME_TIME = re.compile(r"tfevents\.(\d+)")
SNIFF_BYTES = 64  # a record header is 12 bytes; a little more costs nothing
# Event files up to this size are decoded together with others (parsers.tb_batch): a larger one
# already amortises the bulk decoder's passes over its own records.
BATCH_FILE_MAX = 1 << 20
# Bytes of small event files held for one shared pass.
BATCH_BYTES = 32 << 20
# Tag lists whose column dtype is kept for the next file that logs the same tags (a few per tracker setup).
TAG_DTYPES = 64
# The column labels every frame of this reader shares (an Index is immutable): a frame's own labels
# cost more than the rest of a small file's frame to build, and as much again to look a column up
# in once (its hash table), which a shared Index builds once for every file.
_COLUMNS = pd.Index(SCALAR_COLUMNS)


def sniff(path: Path) -> bool:
    """An event file: ``tfevents`` in the name, or a valid record header at the start."""
    if "tfevents" in path.name:
        return True
    with open(path, "rb") as fh:
        return looks_like_event_file(fh.read(SNIFF_BYTES))


def _has_event_files(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any("tfevents" in e.name and e.is_file() for e in entries)
    except OSError:
        return False


def _is_split_layout(parent: str) -> bool:
    """Whether ``parent``'s event-file subfolders are all split names (train/validation...)."""
    try:
        with os.scandir(parent) as entries:
            subdirs = [e for e in entries if e.is_dir()]
    except OSError:
        return False
    with_events = [e.name for e in subdirs if _has_event_files(e.path)]
    return bool(with_events) and all(n.lower() in SPLIT_FOLDERS for n in with_events)


def run_location(path: Path) -> tuple[Path, str]:
    """(run folder, tag prefix) of an event file."""
    folder = path.parent
    if folder.name.lower() in SPLIT_FOLDERS and folder.parent != folder and _is_split_layout(str(folder.parent)):
        return folder.parent, folder.name + "/"
    return folder, ""


def _data_finder(fd: int, size: int):
    """``next_data(pos)``: where the file's next data extent starts at or after ``pos``
    (``size`` past the last one), so the framing jumps the holes of a sparse file; None
    where the system cannot say."""
    if not hasattr(os, "SEEK_DATA"):
        return None

    def next_data(pos: int) -> int:
        try:
            return os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after pos; or a file system without SEEK_DATA
            return size if pos < size else pos

    return next_data


def _page_releaser(buf: mmap.mmap):
    """``release(end)``: the map's pages before ``end`` leave this process (they stay in the page cache,
    and are read from it again if touched), so a large file decoded a part at a time is not held whole
    (parsers.tb_fast.DECODE_CHUNK_BYTES); None where the system cannot say so, or for a small file."""
    if not hasattr(mmap, "MADV_DONTNEED") or len(buf) <= tb_fast.DECODE_CHUNK_BYTES:
        return None

    def release(end: int) -> None:
        end -= end % mmap.PAGESIZE
        if end > 0:
            buf.madvise(mmap.MADV_DONTNEED, 0, end)

    return release


@dataclass
class EventFileState:
    """One event file read up to ``end``, the end of its last complete record: all a later look
    needs to read only the records appended since (:func:`read_on`).

    The warnings are kept apart as the whole-file read orders them: framing damage before
    ``end``, the ``trailing`` damage after it (a record still being written: said until it is
    complete), then decoding damage.
    """

    path: Path
    prefix: str  # tag prefix of a Keras split folder (``train/``)
    scalars: pd.DataFrame
    end: int
    hparams: dict = field(default_factory=dict)
    first_wall: float | None = None
    plugins: dict[str, str] = field(default_factory=dict)  # tag -> first plugin declared
    unplugged: frozenset[str] = frozenset()  # tensor tags left out for want of a plugin declaration
    frame_damage: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)
    decode_damage: list[str] = field(default_factory=list)
    start: int = 0  # where the read that made this state began (0: the whole file)

    def run(self) -> Run:
        """The Run of this file as :func:`read_file` gives it."""
        folder, _ = run_location(self.path)
        meta: dict = {"tensorboard_files": 1}
        if self.hparams:
            meta["hparams"] = dict(self.hparams)
        if self.first_wall is not None:
            meta["_tb_first_event_wall"] = self.first_wall
        warnings = [f"{self.path}: {d}" for d in self.frame_damage + self.trailing + self.decode_damage]
        return Run(name=folder.name, path=str(folder), format=FORMAT, scalars=self.scalars, meta=meta,
                   warnings=warnings, files=[str(self.path)])


def _decode(path: Path, buf, next_data, fast: bool, base: int = 0, plugins: dict[str, str] | None = None,
            release=None) -> tuple[Decoded, list[str], list[str], int]:
    """Frame and decode the records of ``buf`` (the file from byte ``base``); the result holds no view of
    ``buf``. Returns the decoded points, the framing damage before the end of the last complete
    record, the damage after it, and that end (relative to ``buf``). ``plugins``: tag plugins
    declared before ``base`` (first declaration wins)."""
    framing = frame_records(buf, next_data, base)
    if not len(framing.offsets):
        if base:
            return None, [], framing.damage, 0  # type: ignore[return-value] - nothing complete yet
        raise ParseError(path, "not a TensorBoard event file: no valid record found")
    if release is not None and len(framing.offsets):
        release(len(buf))  # framed: the bytes are touched again a part at a time (tb_fast._decode_chunked)
    dec = decode_fast(buf, framing, release) if fast else decode_protobuf(buf, framing)
    if plugins:
        for tag, plugin in dec.plugins.items():
            plugins.setdefault(tag, plugin)
        dec.plugins = plugins
    end = int(framing.offsets[-1]) + int(framing.lengths[-1]) + FOOTER_BYTES
    # The walk's last skip ran to the end of the buffer when bytes follow the last complete record.
    split = len(framing.damage) - (1 if end < len(buf) and framing.damage else 0)
    dec.records = None
    return dec, framing.damage[:split], framing.damage[split:], end


def _unplugged(dec: Decoded) -> frozenset[str]:
    """Tags with tensor points that are not (yet) declared scalars."""
    if not dec.is_tensor.any():
        return frozenset()
    mask = dec.scalar_mask()
    if mask.all():
        return frozenset()
    return frozenset(dec.tag_names[c] for c in np.unique(dec.codes[~mask]))


def read_state(path: Path, *, fast: bool = True) -> EventFileState:
    """Read one whole event file into an :class:`EventFileState` (see :func:`read_file`)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if not size:
                raise ParseError(path, "not a TensorBoard event file: empty file")
            # A read-only map: pages are read as the framing touches them and belong to the
            # page cache, so a huge (or sparse, or zero-padded) file costs no heap copy.
            buf = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_READ)
            try:
                dec, before, after, end = _decode(path, buf, _data_finder(fh.fileno(), size), fast,
                                                  release=_page_releaser(buf))
            finally:
                try:
                    buf.close()
                except BufferError:  # a view is still alive (an exception's frames): closed when collected
                    pass
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from exc
    _, prefix = run_location(path)
    unplugged = _unplugged(dec)
    return EventFileState(path=path, prefix=prefix, scalars=_scalars_frame(dec, prefix), end=end,
                          hparams=dict(dec.hparams), first_wall=dec.first_wall, plugins=dict(dec.plugins),
                          unplugged=unplugged, frame_damage=before, trailing=after,
                          decode_damage=list(dec.damage))


def read_on(state: EventFileState, *, fast: bool = True) -> EventFileState:
    """The file of ``state`` with the records appended since read and merged in: only the bytes
    after ``state.end`` are read. Whatever a whole read would say differently (a record that
    cannot be decoded, a plugin declared late for points already left out) makes it a whole read."""
    path = state.path
    try:
        with open(path, "rb") as fh:
            fh.seek(state.end)
            buf = fh.read()  # the appended bytes only: small while a run trains
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not buf:
        return EventFileState(**{**state.__dict__, "start": state.end})
    dec, before, after, end = _decode(path, buf, None, fast, base=state.end, plugins=dict(state.plugins))
    if dec is None:  # only part of a record so far
        return EventFileState(**{**state.__dict__, "trailing": after, "start": state.end})
    late = state.unplugged & {t for t, p in dec.plugins.items() if p == SCALARS_PLUGIN}
    if dec.damage or late:
        return read_state(path, fast=fast)
    unplugged = state.unplugged | _unplugged(dec)
    hparams = {**state.hparams, **dec.hparams}
    plugins = dict(dec.plugins)
    appended = _scalars_frame(dec, state.prefix)
    scalars = _concat([state.scalars, appended]) if len(appended) else state.scalars
    return EventFileState(path=path, prefix=state.prefix, scalars=scalars, end=state.end + end, hparams=hparams,
                          first_wall=state.first_wall, plugins=plugins, unplugged=unplugged,
                          frame_damage=state.frame_damage + before, trailing=after,
                          decode_damage=list(state.decode_damage), start=state.end)


def read_file(path: Path, *, fast: bool = True) -> Run:
    """Read one event file into a Run (one per file; :func:`merge` joins a run's files).

    ``fast=False`` decodes every record with tensorboard's protobuf classes (the
    reference the tests compare the bulk decoder with).
    """
    return read_state(path, fast=fast).run()


def _scalars_frame(dec: Decoded, prefix: str) -> pd.DataFrame:
    """The tidy frame of the decoded scalar points (columns moved, not copied, when possible)."""
    keep = dec.scalar_mask() if dec.is_tensor.any() else None  # simple values only: every point is one
    if keep is not None and not keep.all():
        dec.codes, dec.steps, dec.walls, dec.values = (a[keep] for a in (dec.codes, dec.steps, dec.walls, dec.values))
    if not len(dec.codes):
        return empty_scalars()
    used = np.flatnonzero(np.bincount(dec.codes, minlength=len(dec.tag_names)))
    names = [prefix + dec.tag_names[i] for i in used]
    if len(used) < len(dec.tag_names):
        remap = np.full(len(dec.tag_names), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        dec.codes = remap[dec.codes]
    codes = dec.codes.astype(np.int8 if len(names) < 128 else np.int16 if len(names) < 32768 else np.int32)
    dec.codes = None
    tags = pd.Categorical.from_codes(codes, dtype=_tag_dtype(tuple(names)), validate=False)
    frame = pd.DataFrame(
        {"tag": tags, "step": dec.steps, "wall_time": dec.walls, "value": dec.values}, copy=False
    )
    frame.columns = _COLUMNS
    dec.steps = dec.walls = dec.values = None
    return frame


@lru_cache(maxsize=TAG_DTYPES)
def _tag_dtype(names: tuple[str, ...]) -> pd.CategoricalDtype:
    """The tag column's dtype for these tags, in this order: built once and shared by every file
    that logs them (a fleet's runs), since building the categories costs more than the rest of a
    small file's frame. Dtypes are immutable, so sharing one changes nothing."""
    return pd.CategoricalDtype(pd.Index(names), ordered=False)


def read(path: Path) -> list[Run]:
    """Reader entry point: one Run per event file."""
    return [read_file(Path(path))]


def read_batch(paths: Sequence[Path]) -> dict[str, list[Run] | None]:
    """Reader entry point for many files at once: the runs of the small event files among ``paths``
    that one shared pass decodes exactly as :func:`read` would (``parsers.tb_batch``), by path; None
    for a path looked at and left to :func:`read` (not an event file by name, large, damaged,
    unusual). Paths after the byte budget ran out are left out of the answer."""
    looked: dict[str, list[Run] | None] = {}
    candidates: list[Path] = []
    total = 0
    for path in map(Path, paths):
        if "tfevents" not in path.name:
            looked[str(path)] = None
            continue
        try:
            size = os.stat(path).st_size
        except OSError:
            looked[str(path)] = None  # read alone, which says why
            continue
        if total + min(size, BATCH_FILE_MAX) > BATCH_BYTES:
            break
        looked[str(path)] = None
        if 0 < size <= BATCH_FILE_MAX:
            candidates.append(path)
            total += size
    if len(candidates) < 2:
        return looked  # nothing to share a pass with: read alone, once
    picked: list[Path] = []
    data: list[bytes] = []
    for path in candidates:
        try:
            with open(path, "rb") as fh:
                data.append(fh.read())
        except OSError:
            continue  # read alone, which says why
        picked.append(path)
    for path, content, dec in zip(picked, data, decode_files(data)):
        if dec is None:
            continue
        _, prefix = run_location(path)
        unplugged = _unplugged(dec)
        state = EventFileState(path=path, prefix=prefix, scalars=_scalars_frame(dec, prefix), end=len(content),
                               hparams={}, first_wall=dec.first_wall, plugins=dict(dec.plugins),
                               unplugged=unplugged)
        looked[str(path)] = [state.run()]
    return looked


def resume(path: Path, state: EventFileState | None) -> tuple[list[Run], EventFileState]:
    """Reader entry point for a file read before: only the records appended since ``state`` are read
    (``state`` None: the whole file)."""
    state = read_state(Path(path)) if state is None else read_on(state)
    return [state.run()], state


def _file_order_key(run: Run) -> tuple[float, int, str]:
    df = run.scalars
    first = float(df["wall_time"].iloc[0]) if len(df) else run.meta.get("_tb_first_event_wall", np.inf)
    if first is None or not np.isfinite(first):
        first = np.inf
    m = _NAME_TIME.search(Path(run.files[0]).name) if run.files else None
    return first, int(m.group(1)) if m else 0, run.files[0] if run.files else ""


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate scalars frames, uniting the tag categories without per-point strings."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_scalars()
    tags = union_categoricals([f["tag"] for f in frames])
    return pd.DataFrame(
        {
            "tag": tags,
            "step": np.concatenate([f["step"].to_numpy() for f in frames]),
            "wall_time": np.concatenate([f["wall_time"].to_numpy() for f in frames]),
            "value": np.concatenate([f["value"].to_numpy() for f in frames]),
        },
        copy=False,
    )


def _supersede(parts: list[Run]) -> tuple[pd.DataFrame, list[StepOverlap]]:
    """Concatenate files in time order, dropping points a later file logged again."""
    frames = [p.scalars for p in parts]
    if len(parts) == 1:
        return frames[0], []
    file_idx = np.concatenate([np.full(len(f), k, dtype=np.int32) for k, f in enumerate(frames)])
    df = _concat(frames)
    tag_codes = df["tag"].cat.codes.to_numpy()
    n_tags = len(df["tag"].cat.categories)
    steps = df["step"].to_numpy()
    dropped = np.zeros(len(df), dtype=bool)
    overlaps: list[StepOverlap] = []
    for k in range(1, len(parts)):
        mine = file_idx == k
        if not mine.any():
            continue
        # first step of each tag in file k, as written
        idx = np.flatnonzero(mine)
        codes_k = tag_codes[idx]
        uniq, first_pos = np.unique(codes_k, return_index=True)
        first_step = np.full(n_tags, np.iinfo(np.int64).max, dtype=np.int64)
        first_step[uniq] = steps[idx[first_pos]]
        hit = (file_idx < k) & ~dropped & (steps >= first_step[tag_codes])
        if not hit.any():
            continue
        for src in np.unique(file_idx[hit]):
            sel = hit & (file_idx == src)
            s = steps[sel]
            overlaps.append(
                StepOverlap(
                    source=parts[src].files[0],
                    superseded_by=parts[k].files[0],
                    step_start=int(s.min()),
                    step_end=int(s.max()),
                    points=int(sel.sum()),
                    steps=int(len(np.unique(s))),
                )
            )
        dropped |= hit
    if dropped.any():
        df = df.loc[~dropped].reset_index(drop=True)
        df["tag"] = df["tag"].cat.remove_unused_categories()
    return df, overlaps


def merge(runs: list[Run]) -> Run:
    """Join the event files of one run: restarts superseded and recorded, warnings unioned."""
    parts = sorted(runs, key=_file_order_key) if len(runs) > 1 else list(runs)  # one file: nothing to order
    scalars, overlaps = _supersede(parts)
    meta: dict = {}
    for p in parts:
        for k, v in p.meta.items():
            if k == "hparams":
                meta.setdefault("hparams", {}).update(v)
            elif k != "_tb_first_event_wall" and k != "tensorboard_files":
                meta[k] = v
    if len(parts) == 1:  # one event file: the run is the file's (roles already inferred once)
        run = parts[0]
        run.meta = meta
    else:
        run = merged_run(parts[0], parts, scalars, meta, overlaps)
    run.meta["tensorboard_files"] = len(run.files)
    return run


register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        read_batch=read_batch,
        merge=merge,
        resume=resume,
        priority=10,
        description="TensorBoard event files (tfevents): simple_value and tensor scalars",
    )
)
