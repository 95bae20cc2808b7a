"""W&B offline / synced run folder reader (``wandb/run-YYYYMMDD_HHMMSS-<id>/``).

One :class:`Run` per run folder, from:

- ``files/config.yaml``: hyperparameters (safe YAML; W&B's ``{key: {value: ...}}`` unwrapped)
  into ``meta["config"]``;
- ``files/wandb-summary.json``: last values, ``meta["summary"]``;
- ``files/wandb-metadata.json``: host, GPU type and count (``meta["gpu"]``, ``meta["gpu_count"]``);
- the history: ``files/wandb-history.jsonl`` (old clients) and the binary ``run-<id>.wandb``,
  where every current client keeps it. That file is a LevelDB log (32 KiB blocks of
  records with a 7-byte header: crc32, length, FULL/FIRST/MIDDLE/LAST) after a 7-byte
  ``:W&B`` file header; each record is a protobuf ``wandb_internal_pb2.Record``.
  The protobufs come from the optional ``wandb`` package (``pip install "lrdoctor[wandb]"``).
  The framing is read here, read-only: the ``DataStore`` class that older ``wandb``
  releases shipped opens the file for writing (``r+b``), refuses to run outside W&B's
  internal process, and is gone from current releases. A file cut short yields every whole
  record before the cut, and a warning.
- ``files/output.log`` (the console) when the run has no other history and the console
  matches a pattern of :mod:`parsers.text_patterns`.

A folder still being written is followed with :func:`resume` (``parsers.tail.TailReader``): each
history file (JSON lines, the binary log, the console) is read only from the end of the last whole
record or line the previous look held; the run is what a whole read gives.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import yaml

from .bounded import json_load_file, json_loads, yaml_load_file
from .errors import ParseError
from .model import Run, concat_scalars, make_scalars
from .registry import Reader, register
from .tail import CUT_LINE_MESSAGE, MAX_HELD_TABLE_BYTES, SEAL_BYTES

FORMAT = "wandb_run_dir"
RUN_DIR = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(?P<id>[A-Za-z0-9]+)$")
KNOWN_FILES = ("config.yaml", "wandb-summary.json", "wandb-metadata.json", "wandb-history.jsonl", "output.log")
INSTALL_HINT = 'pip install "lrdoctor[wandb]"'

# LevelDB log framing as W&B writes it (see the module docstring).
BLOCK_LEN = 32768
HEADER_LEN = 7
FILE_IDENT = b":W&B"
FILE_MAGIC = 0xBEE1
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) & 0xFFFFFFFF for t in (FULL, FIRST, MIDDLE, LAST)}


def run_dir_of(path: Path) -> Path | None:
    """The W&B run folder ``path`` belongs to, or None."""
    parent = path.parent
    if RUN_DIR.match(parent.name):
        return parent
    if parent.name == "files" and RUN_DIR.match(parent.parent.name):
        return parent.parent
    return None


def sniff(path: Path) -> bool:
    """A known file of a W&B run folder (the ``.wandb`` file must start with ``:W&B``)."""
    run_dir = run_dir_of(path)
    if run_dir is None:
        return False
    if path.suffix == ".wandb" and path.parent == run_dir:
        with open(path, "rb") as fh:
            return fh.read(4) == FILE_IDENT
    return path.parent.name == "files" and path.name in KNOWN_FILES


# -- binary transaction log ---------------------------------------------------------
class TruncatedLog(Exception):
    """The log ends inside a record."""


def iter_wandb_records(data: bytes, *, path: Path, base: int = 0) -> Iterator[tuple[bytes, int]]:
    """Yield ``(payload, end)`` for every whole record of a W&B ``.wandb`` log, ``end`` the file
    offset just past it. ``data`` is the file's bytes from offset ``base`` on (0: the whole file,
    whose header is checked; else the end of a whole record read before).

    Raises :class:`TruncatedLog` after the last whole record when the data stops inside a
    record (a file cut short, or still being written), and :class:`ParseError` for a bad file header.
    """
    if base == 0:
        if len(data) < HEADER_LEN:
            raise ParseError(path, "too short for a W&B log header")
        ident, magic, version = struct.unpack("<4sHB", data[:HEADER_LEN])
        if ident != FILE_IDENT or magic != FILE_MAGIC:
            raise ParseError(path, "not a W&B transaction log (bad file header)")
        if version != 0:
            raise ParseError(path, f"unsupported W&B log version {version}")
    pos = max(base, HEADER_LEN)  # file offsets: the 32 KiB blocks are counted from the file's start
    pending = bytearray()
    in_fragment = False
    size = base + len(data)
    while pos < size:
        left_in_block = BLOCK_LEN - pos % BLOCK_LEN
        if left_in_block < HEADER_LEN:  # block trailer: zero padding
            pos += left_in_block
            continue
        if pos + HEADER_LEN > size:
            raise TruncatedLog(f"cut inside a record header at byte {pos}")
        checksum, length, rtype = struct.unpack_from("<IHB", data, pos - base)
        if rtype == 0 and length == 0 and checksum == 0:
            # zero-filled rest of a block (preallocated / not yet written)
            pos += left_in_block
            continue
        start = pos + HEADER_LEN
        if start + length > size:
            raise TruncatedLog(f"cut inside a record at byte {pos}")
        payload = data[start - base : start - base + length]
        if rtype not in _TYPE_CRC or zlib.crc32(payload, _TYPE_CRC[rtype]) & 0xFFFFFFFF != checksum:
            raise TruncatedLog(f"corrupt record at byte {pos} (checksum mismatch)")
        pos = start + length
        if rtype == FULL:
            yield bytes(payload), pos
        elif rtype == FIRST:
            pending = bytearray(payload)
            in_fragment = True
        elif in_fragment:
            pending += payload
            if rtype == LAST:
                in_fragment = False
                yield bytes(pending), pos
    if in_fragment:
        raise TruncatedLog("cut inside a record split across blocks")


@dataclass
class HeldFile:
    """One history file of a run folder read up to ``end`` (the end of its last whole record or
    line): its points so far, so a later look reads only what was appended. ``notes`` are what
    the records before ``end`` said (undecodable records, unreadable lines); ``info`` the run
    facts read from them; ``count`` the records (or unreadable lines) so far."""

    device: int
    inode: int
    end: int
    head: bytes  # the file's first bytes and the bytes just before ``end``: a file rewritten in
    seal: bytes  # place no longer holds them there
    scalars: pd.DataFrame
    count: int = 0
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _open_at(path: Path, held: HeldFile | None) -> tuple[Any, HeldFile | None]:
    """``path`` opened for reading, positioned after what ``held`` holds; ``held`` comes back None
    (read it whole) when the file is another one, shorter, or changed before that position."""
    fh = open(path, "rb")
    if held is None:
        return fh, None
    st = os.fstat(fh.fileno())
    same = (st.st_dev, st.st_ino) == (held.device, held.inode) and st.st_size >= held.end
    if same and fh.read(len(held.head)) == held.head:
        fh.seek(held.end - len(held.seal))
        if fh.read(len(held.seal)) == held.seal:
            return fh, held
    fh.seek(0)
    return fh, None


def _held(st: os.stat_result, before: HeldFile | None, data: bytes, done: int, scalars: pd.DataFrame,
          **kw: Any) -> HeldFile:
    """The position after ``data[:done]`` (the bytes read from ``before.end``, or the whole file)."""
    base = before.end if before is not None else 0
    head = (before.head if before else b"") + data[:done]
    seal = (before.seal if before else b"") + data[:done]
    return HeldFile(st.st_dev, st.st_ino, base + done, head[:SEAL_BYTES], seal[-SEAL_BYTES:], scalars, **kw)


def _history_from_wandb_file(path: Path, warnings: list[str], held: HeldFile | None = None
                              ) -> tuple[pd.DataFrame, dict, HeldFile]:
    """History points and run info from a ``.wandb`` file; with ``held``, only the records written
    after it are decoded. Returns the points, the info and what is held for the next look."""
    from wandb.proto import wandb_internal_pb2  # optional extra; ImportError handled by caller

    fh, held = _open_at(path, held)
    with fh:
        data = fh.read()
        st = os.fstat(fh.fileno())
    base = held.end if held is not None else 0
    tags: list[str] = []
    steps: list[int] = []
    walls: list[float] = []
    values: list[float] = []
    info: dict[str, Any] = dict(held.info) if held is not None else {}
    notes = list(held.notes) if held is not None else []
    records = held.count if held is not None else 0
    done = 0  # bytes of ``data`` up to the end of the last whole record
    cut = None
    try:
        for payload, end in iter_wandb_records(data, path=path, base=base):
            done = end - base
            record = wandb_internal_pb2.Record()
            try:
                record.ParseFromString(payload)
            except Exception:  # protobuf's DecodeError: one bad record, keep the others
                notes.append(f"{path}: an undecodable record was skipped")
                continue
            records += 1
            kind = record.WhichOneof("record_type")
            if kind == "run":
                info.setdefault("display_name", record.run.display_name or None)
                info.setdefault("project", record.run.project or None)
                info.setdefault("entity", record.run.entity or None)
            elif kind == "history":
                _add_history(record.history, tags, steps, walls, values)
    except TruncatedLog as exc:
        cut = f"{path}: file cut short ({exc}); the {records} whole records before the cut were read"
    new = make_scalars(tags, steps, walls, values)
    scalars = concat_scalars([held.scalars, new]) if held is not None else new
    warnings.extend(notes)
    if cut:
        warnings.append(cut)
    state = _held(st, held, data, done, scalars, count=records, notes=notes, info=dict(info))
    return scalars, {**info, "records": records}, state


def _add_history(history, tags: list, steps: list, walls: list, values: list) -> None:
    row: dict[str, float] = {}
    step = history.step.num if history.HasField("step") else None
    wall = math.nan
    for item in history.item:
        key = "/".join(item.nested_key) if item.nested_key else item.key
        try:
            value = json_loads(item.value_json)
        except ValueError:
            continue
        if key == "_step" and isinstance(value, (int, float)):
            step = int(value) if step is None else step
        elif key == "_timestamp" and isinstance(value, (int, float)):
            wall = float(value)
        elif not key.startswith("_") and isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = float(value)
        elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity") and not key.startswith("_"):
            row[key] = float(value.replace("Infinity", "inf"))
    if step is None:
        return
    for key, value in row.items():
        tags.append(key)
        steps.append(int(step))
        walls.append(wall)
        values.append(value)


def _jsonl_row(line: str, tags: list, steps: list, walls: list, values: list) -> bool:
    """The points of one history line; False when it is not a history record."""
    try:
        row = json_loads(line)
    except ValueError:
        return False
    if not isinstance(row, dict) or not isinstance(row.get("_step"), (int, float)):
        return False
    wall = float(row["_timestamp"]) if isinstance(row.get("_timestamp"), (int, float)) else math.nan
    for key, value in row.items():
        if key.startswith("_") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        tags.append(key)
        steps.append(int(row["_step"]))
        walls.append(wall)
        values.append(float(value))
    return True


def _history_from_jsonl(path: Path, warnings: list[str], held: HeldFile | None = None
                        ) -> tuple[pd.DataFrame, HeldFile]:
    """History points of ``files/wandb-history.jsonl``; with ``held``, only the lines appended after
    it are parsed. A last line without its line end counts when it is a whole JSON line, and
    otherwise waits for the rest (said with the cut-line note)."""
    fh, held = _open_at(path, held)
    with fh:
        data = fh.read()
        st = os.fstat(fh.fileno())
    done = data.rfind(b"\n") + 1
    tags: list[str] = []
    steps: list[int] = []
    walls: list[float] = []
    values: list[float] = []
    bad = held.count if held is not None else 0
    for line in io.StringIO(data[:done].decode("utf-8", errors="replace"), newline=None):
        if line.strip() and not _jsonl_row(line, tags, steps, walls, values):
            bad += 1
    new = make_scalars(tags, steps, walls, values)
    scalars = concat_scalars([held.scalars, new]) if held is not None else new
    state = _held(st, held, data, done, scalars, count=bad)
    last = data[done:].decode("utf-8", errors="replace")
    cut = False
    if last.strip():
        tags, steps, walls, values = [], [], [], []
        try:
            json_loads(last)
        except ValueError:
            cut = True
        else:
            if _jsonl_row(last, tags, steps, walls, values):
                scalars = concat_scalars([scalars, make_scalars(tags, steps, walls, values)])
            else:
                bad += 1
    if bad:
        warnings.append(f"{path}: {bad} unreadable history line(s) skipped")
    if cut:
        warnings.append(f"{path}: {CUT_LINE_MESSAGE}")
    return scalars, state


# -- text files ---------------------------------------------------------------------
def unwrap_config(config: Any) -> dict[str, Any]:
    """W&B's ``{key: {desc: ..., value: ...}}`` config as ``{key: value}`` (``_wandb`` dropped)."""
    if not isinstance(config, dict):
        return {}
    out = {}
    for key, entry in config.items():
        if key in ("_wandb", "wandb_version"):
            continue
        out[key] = entry["value"] if isinstance(entry, dict) and "value" in entry else entry
    return out


def gpu_info(metadata: dict[str, Any]) -> dict[str, Any]:
    """GPU type and count from ``wandb-metadata.json`` (NVIDIA or Apple silicon)."""
    out: dict[str, Any] = {}
    if metadata.get("gpu"):
        out["gpu"] = metadata["gpu"]
        out["gpu_count"] = int(metadata.get("gpu_count") or 1)
    elif isinstance(metadata.get("gpu_nvidia"), list) and metadata["gpu_nvidia"]:
        out["gpu"] = metadata["gpu_nvidia"][0].get("name")
        out["gpu_count"] = len(metadata["gpu_nvidia"])
    elif isinstance(metadata.get("apple"), dict) and metadata["apple"].get("name"):
        out["gpu"] = metadata["apple"]["name"]
        out["gpu_count"] = 1
    if "cpu_count" in metadata:
        out["cpu_count"] = metadata["cpu_count"]
    for key in ("host", "os", "python", "program", "startedAt", "cuda"):
        if metadata.get(key) is not None:
            out[key] = metadata[key]
    return out


def _load_json(path: Path, warnings: list[str]) -> Any:
    try:
        return json_load_file(path)
    except (ValueError, UnicodeDecodeError) as exc:
        warnings.append(f"{path}: not valid JSON, skipped ({str(exc).splitlines()[0]})")
        return None


HeldConsole = tuple[int, int, Any]  # device, inode and parsers.text.TextLogState of output.log


def _console_history(path: Path, warnings: list[str], held: HeldConsole | None = None
                     ) -> tuple[Any, dict, HeldConsole | None]:
    """The console's points when it is a metric log; with ``held``, only its appended lines are read."""
    from . import text

    st = os.stat(path)
    state = held[2] if held is not None and (st.st_dev, st.st_ino) == held[:2] and st.st_size >= held[2].end else None
    if state is None and not text.sniff(path):
        return None, {}, None
    try:
        runs, state = text.resume(path, state)
    except ParseError:
        return None, {}, None
    run = runs[0]
    warnings.extend(run.warnings)
    return (run.scalars, {"console_unparsed_lines": run.meta.get("unparsed_lines", 0)},
            (st.st_dev, st.st_ino, state) if state is not None else None)


@dataclass
class RunDirState:
    """A run folder read before: what each of its history files holds (by path), so a later look
    reads only what was appended to each. The small files (config, summary, metadata) are read
    again on every look: W&B rewrites them in place."""

    history: dict[str, HeldFile]
    console: HeldConsole | None
    end: int = 0  # each history file keeps its own position; the folder is never "shorter"
    start: int = 0  # 1 when this look continued from held positions


def read(path: Path) -> list[Run]:
    """Read the whole W&B run folder that ``path`` belongs to."""
    return resume(path, None)[0]


def resume(path: Path, state: RunDirState | None) -> tuple[list[Run], RunDirState]:
    """Reader entry point for a run folder read before: each history file (``wandb-history.jsonl``,
    the ``.wandb`` log, the console) is read only from where ``state`` left it (``state`` None: all
    of them whole); the run is what a whole read gives."""
    path = Path(path)
    run_dir = run_dir_of(path)
    if run_dir is None:
        raise ParseError(path, "not inside a W&B run folder (run-YYYYMMDD_HHMMSS-<id>)")
    run_id = RUN_DIR.match(run_dir.name)["id"]
    files_dir = run_dir / "files"
    warnings: list[str] = []
    consumed: list[str] = []
    meta: dict[str, Any] = {"run_id": run_id}
    held = state.history if state is not None else {}
    history: dict[str, HeldFile] = {}

    config_file = files_dir / "config.yaml"
    if config_file.is_file():
        consumed.append(str(config_file))
        try:
            meta["config"] = unwrap_config(yaml_load_file(config_file))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            warnings.append(f"{config_file}: not valid YAML, config skipped ({str(exc).splitlines()[0]})")
    summary_file = files_dir / "wandb-summary.json"
    if summary_file.is_file():
        consumed.append(str(summary_file))
        summary = _load_json(summary_file, warnings)
        if isinstance(summary, dict):
            meta["summary"] = summary
            if isinstance(summary.get("_runtime"), (int, float)):
                meta["runtime_s"] = float(summary["_runtime"])
    metadata_file = files_dir / "wandb-metadata.json"
    if metadata_file.is_file():
        consumed.append(str(metadata_file))
        metadata = _load_json(metadata_file, warnings)
        if isinstance(metadata, dict):
            meta.update(gpu_info(metadata))

    frames = []
    sources = []
    jsonl = files_dir / "wandb-history.jsonl"
    if jsonl.is_file():
        consumed.append(str(jsonl))
        scalars, history[str(jsonl)] = _history_from_jsonl(jsonl, warnings, held.get(str(jsonl)))
        frames.append(scalars)
        sources.append(str(jsonl))
    for wandb_file in sorted(run_dir.glob("*.wandb")):
        consumed.append(str(wandb_file))
        try:
            scalars, info, history[str(wandb_file)] = _history_from_wandb_file(
                wandb_file, warnings, held.get(str(wandb_file)))
        except ImportError:
            warnings.append(
                f"{wandb_file}: the history in this file needs the W&B protobufs: {INSTALL_HINT}"
            )
            meta["history_missing"] = str(wandb_file)
            continue
        except ParseError as exc:
            warnings.append(f"{wandb_file}: {exc.problem}")
            continue
        frames.append(scalars)
        sources.append(str(wandb_file))
        meta.update({k: v for k, v in info.items() if v is not None and k not in meta})
    console = files_dir / "output.log"
    console_state = None
    if console.is_file():
        consumed.append(str(console))
        if not any(len(f) for f in frames) and "history_missing" not in meta:
            scalars, console_meta, console_state = _console_history(
                console, warnings, state.console if state is not None else None)
            if scalars is not None and len(scalars):
                frames.append(scalars)
                sources.append(str(console))
                meta.update(console_meta)
    meta["history_sources"] = sources
    scalars = concat_scalars(frames)
    if len(scalars):
        scalars = scalars.drop_duplicates(["tag", "step"], keep="last", ignore_index=True)
    run = Run(name=run_id, path=str(run_dir), format=FORMAT, scalars=scalars, meta=meta, warnings=warnings,
              files=consumed)
    # a history too large to hold beside the run's own scalars is read whole on each look
    history = {k: h for k, h in history.items()
               if int(h.scalars.memory_usage(index=False).sum()) <= MAX_HELD_TABLE_BYTES}
    continued = state is not None and (bool(held.keys() & history.keys()) or state.console is not None)
    return [run], RunDirState(history, console_state, start=int(continued))


READER = register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        resume=resume,
        priority=20,
        description="W&B offline/synced run folder (config, summary, metadata, .wandb history)",
    )
)
