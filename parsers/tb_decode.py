"""Decode scalar points out of framed TensorBoard event records.

Two paths with one output (:class:`Decoded`):

* :func:`decode_protobuf`: every record through tensorboard's own ``Event`` protobuf
  class. The reference, and the fallback for anything unusual.
* :func:`parsers.tb_fast.decode_fast`: scalar events decoded in bulk from the wire
  format with NumPy; records it does not recognise go through :func:`decode_records`.

A point is either a legacy ``simple_value`` or a rank-0 float tensor. Tensors are only
scalars when their tag's plugin is ``scalars``; TF2 writers may declare the plugin on
the first event of a tag only, so the filter runs once the whole file is decoded
(:meth:`Decoded.scalar_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tb_records import Framing, payload_crc_ok

SCALARS_PLUGIN = "scalars"
HPARAMS_PLUGIN = "hparams"


@dataclass
class Decoded:
    """Columns of every candidate scalar point of one file, in file order."""

    tag_names: list[str]
    codes: np.ndarray  # int32 index into tag_names
    steps: np.ndarray  # int64
    walls: np.ndarray  # float64
    values: np.ndarray  # float64
    is_tensor: np.ndarray  # bool: came from a tensor (needs the scalars plugin)
    records: np.ndarray  # int32/int64: index of the record each point came from
    plugins: dict[str, str] = field(default_factory=dict)  # tag -> plugin_name declared
    hparams: dict[str, Any] = field(default_factory=dict)
    first_wall: float | None = None  # wall_time of the first event of the file
    damage: list[str] = field(default_factory=list)

    def scalar_mask(self) -> np.ndarray:
        """Points that are scalars: simple values, and tensors of tags declared ``scalars``."""
        if not len(self.codes):
            return np.zeros(0, dtype=bool)
        tag_ok = np.array([self.plugins.get(t) == SCALARS_PLUGIN for t in self.tag_names], dtype=bool)
        return ~self.is_tensor | tag_ok[self.codes]


class _Builder:
    """Accumulates points one by one (fallback path only: few records)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.codes: list[int] = []
        self.steps: list[int] = []
        self.walls: list[float] = []
        self.values: list[float] = []
        self.tensor: list[bool] = []
        self.records: list[int] = []

    def code(self, tag: str) -> int:
        return self.index.setdefault(tag, len(self.index))

    def add(self, tag: str, step: int, wall: float, value: float, is_tensor: bool, record: int) -> None:
        self.codes.append(self.code(tag))
        self.steps.append(step)
        self.walls.append(wall)
        self.values.append(value)
        self.tensor.append(is_tensor)
        self.records.append(record)

    def columns(self) -> tuple[np.ndarray, ...]:
        """The points as typed arrays: (codes, steps, walls, values, is_tensor, records)."""
        return (
            np.asarray(self.codes, np.int32),
            np.asarray(self.steps, np.int64),
            np.asarray(self.walls, np.float64),
            np.asarray(self.values, np.float64),
            np.asarray(self.tensor, bool),
            np.asarray(self.records, np.int64),
        )


def _event_class():
    from tensorboard.compat.proto import event_pb2

    return event_pb2.Event


def _tensor_scalar(tensor) -> float | None:
    """The value of a rank-0 numeric tensor, else None."""
    if len(tensor.tensor_shape.dim):
        return None
    from tensorboard.util import tensor_util

    try:
        arr = tensor_util.make_ndarray(tensor)
    except Exception:  # unsupported dtype or malformed content: not a scalar we can read
        return None
    if arr.ndim != 0 or arr.dtype.kind not in "fiub":
        return None
    return float(arr)


def _hparams(value) -> dict[str, Any]:
    """Hyperparameters from an hparams-plugin ``session_start_info`` summary value."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    except Exception:  # malformed plugin content: no hparams rather than a failure
        return {}
    if not data.HasField("session_start_info"):
        return {}
    out: dict[str, Any] = {}
    for name, v in data.session_start_info.hparams.items():
        kind = v.WhichOneof("kind")
        if kind == "number_value":
            out[name] = v.number_value
        elif kind == "string_value":
            out[name] = v.string_value
        elif kind == "bool_value":
            out[name] = v.bool_value
    return out


def decode_records(buf: bytes, framing: Framing, indices: np.ndarray, builder: _Builder, dec: Decoded) -> list[int]:
    """Decode the records ``indices`` with the protobuf classes into ``builder``.

    Returns the records that could not be parsed at all (checked for CRC damage later).
    """
    event_cls = _event_class()
    undecodable: list[int] = []
    mv = memoryview(buf)
    for i in indices.tolist():
        off = int(framing.offsets[i])
        try:
            ev = event_cls.FromString(mv[off : off + int(framing.lengths[i])])
        except Exception:  # DecodeError and friends: damaged or not an Event
            undecodable.append(i)
            continue
        if i == 0:
            dec.first_wall = ev.wall_time
        if not ev.HasField("summary"):
            continue
        for v in ev.summary.value:
            plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
            if plugin:
                dec.plugins.setdefault(v.tag, plugin)
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                builder.add(v.tag, ev.step, ev.wall_time, v.simple_value, False, i)
            elif kind == "tensor":
                if plugin == HPARAMS_PLUGIN:
                    dec.hparams.update(_hparams(v))
                    # A placeholder point (dropped by scalar_mask) so this record's CRC is checked.
                    builder.add(v.tag, ev.step, ev.wall_time, np.nan, True, i)
                    continue
                x = _tensor_scalar(v.tensor)
                if x is not None:
                    builder.add(v.tag, ev.step, ev.wall_time, x, True, i)
    return undecodable


def finish(
    buf: bytes,
    framing: Framing,
    cols: list[tuple],
    dec: Decoded,
    undecodable: list[int],
    to_check: np.ndarray | None = None,
) -> Decoded:
    """Join point chunks in file order, drop points of records whose payload CRC fails, report damage.

    ``to_check``: the records whose payload CRC still needs checking (default: every
    record that yielded a point, and the undecodable ones).
    """
    codes, steps, walls, values, tensor, records = (
        np.concatenate(c) if len(c) > 1 else c[0] for c in zip(*cols)
    )
    if len(records) > 1 and np.any(records[1:] < records[:-1]):
        order = np.argsort(records, kind="stable")
        codes, steps, walls, values, tensor, records = (
            a[order] for a in (codes, steps, walls, values, tensor, records)
        )
    if to_check is None:
        to_check = np.unique(np.concatenate([records, np.asarray(undecodable, dtype=np.int64)]))
    arr = np.frombuffer(buf, dtype=np.uint8)
    ok = payload_crc_ok(arr, framing.offsets[to_check], framing.lengths[to_check], framing.stored_crc[to_check])
    bad = to_check[~ok]
    for i in bad.tolist():
        dec.damage.append(
            f"record at byte {int(framing.offsets[i]) - 12} has a CRC mismatch: "
            f"skipped 1 record ({int(framing.lengths[i]) + 16} bytes)"
        )
    for i in sorted(set(undecodable) - set(bad.tolist())):
        dec.damage.append(f"record at byte {int(framing.offsets[i]) - 12} is not a valid event: skipped")
    if len(bad):
        keep = ~np.isin(records, bad)
        codes, steps, walls, values, tensor, records = (
            a[keep] for a in (codes, steps, walls, values, tensor, records)
        )
    dec.codes, dec.steps, dec.walls, dec.values, dec.is_tensor, dec.records = (
        codes, steps, walls, values, tensor, records
    )
    return dec


def empty_decoded() -> Decoded:
    """A Decoded with no points yet."""
    e = np.empty(0)
    return Decoded([], e.astype(np.int32), e.astype(np.int64), e, e, e.astype(bool), e.astype(np.int64))


def decode_protobuf(buf: bytes, framing: Framing) -> Decoded:
    """Decode every record with tensorboard's protobuf classes (reference path)."""
    dec = empty_decoded()
    builder = _Builder()
    undecodable = decode_records(buf, framing, np.arange(len(framing.offsets)), builder, dec)
    dec.tag_names = list(builder.index)
    return finish(buf, framing, [builder.columns()], dec, undecodable)
