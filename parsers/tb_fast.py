"""Bulk decoding of scalar events straight from the protobuf wire format.

Scalar events written by one writer for one tag are byte-for-byte the same except for
the wall time, the step and the value. So records are grouped by length; one record
of a group (the representative) is parsed in Python to find its *layout* (where the
step varint and the value sit, which tag, which encoding); then every other record of
the group is checked against that layout at once: its payload CRC is recomputed from
the representative's CRC plus the contributions of the varying bytes only (CRC is
affine). A record that matches has the same structure, so its step/wall/value are
read as NumPy columns. Records that match no layout, and anything unusual (several
values per event, histograms, hparams, odd dtypes), go through the protobuf path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .tb_decode import Decoded, _Builder, decode_records, empty_decoded, finish
from .tb_records import SHORT_PAYLOAD, Framing, bulk_crc, mask_crc, shift_tables

# Top-level Event field keys that mean "not a summary" (file_version, graph_def,
# log_message, session_log, tagged_run_metadata, meta_graph_def): nothing to read.
_NON_SUMMARY_KEYS = frozenset({0x1A, 0x22, 0x32, 0x3A, 0x42, 0x4A})
_SKIP = "skip"
DT_FLOAT, DT_DOUBLE = 1, 2


@dataclass(frozen=True)
class Layout:
    """Where the varying fields of a single-scalar event sit in its payload."""

    tag: str
    step_pos: int
    step_len: int  # 0: step absent (0)
    value_pos: int
    value_width: int  # 4 (float32) or 8 (float64)
    is_tensor: bool
    plugin: str | None


def _varint(p: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = p[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def _tensor_value(p: bytes, i: int, end: int) -> tuple[int, int] | None:
    """(value position, width) of a rank-0 float/double TensorProto in ``p[i:end]``."""
    if i >= end or p[i] != 0x08:
        return None
    dtype, i = _varint(p, i + 1)
    if dtype not in (DT_FLOAT, DT_DOUBLE):
        return None
    width = 4 if dtype == DT_FLOAT else 8
    if i < end and p[i] == 0x12:  # tensor_shape: must be empty (rank 0)
        shape_len, i = _varint(p, i + 1)
        if shape_len:
            return None
    if i >= end:
        return None
    key = p[i]
    packed_key = 0x2A if dtype == DT_FLOAT else 0x32  # float_val / double_val, packed
    single_key = 0x2D if dtype == DT_FLOAT else 0x31  # the same, unpacked
    if key in (0x22, packed_key):  # tensor_content or packed values
        n, i = _varint(p, i + 1)
        if n != width:
            return None
        pos = i
    elif key == single_key:
        pos = i + 1
    else:
        return None
    return (pos, width) if pos + width == end else None


def parse_layout(p: bytes) -> Layout | str | None:
    """Layout of a single-scalar event, ``_SKIP`` for a non-summary event, None otherwise."""
    try:
        return _parse_layout(p)
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def _parse_layout(p: bytes) -> Layout | str | None:
    n = len(p)
    if n < 9 or p[0] != 0x09:
        return None
    i = 9
    step_pos = step_len = 0
    if i < n and p[i] == 0x10:
        _, j = _varint(p, i + 1)
        step_pos, step_len, i = i + 1, j - i - 1, j
    if i >= n:
        return _SKIP
    if p[i] != 0x2A:
        return _SKIP if p[i] in _NON_SUMMARY_KEYS else None
    size, i = _varint(p, i + 1)
    if i + size != n or p[i] != 0x0A:
        return None
    size, i = _varint(p, i + 1)
    vend = i + size
    if vend != n or p[i] != 0x0A:
        return None
    size, i = _varint(p, i + 1)
    tag = p[i : i + size].decode("utf-8")
    i += size
    if i >= vend:
        return None
    if p[i] == 0x15 and i + 5 == vend:
        return Layout(tag, step_pos, step_len, i + 1, 4, False, None)
    if p[i] != 0x42:
        return None
    size, i = _varint(p, i + 1)
    tend = i + size
    found = _tensor_value(p, i, tend)
    if found is None:
        return None
    i = tend
    plugin = None
    if i < vend:
        if p[i] != 0x4A:
            return None
        size, i = _varint(p, i + 1)
        if i + size != vend or p[i] != 0x0A:
            return None
        _, i = _varint(p, i + 1)
        if p[i] != 0x0A:
            return None
        size, i = _varint(p, i + 1)
        plugin = p[i : i + size].decode("utf-8")
    return Layout(tag, step_pos, step_len, found[0], found[1], True, plugin)


def _compose(cols: list[np.ndarray], dtype: type) -> np.ndarray:
    """Little-endian integer from byte columns."""
    out = cols[0].astype(dtype)
    for k, c in enumerate(cols[1:], start=1):
        out |= c.astype(dtype) << dtype(8 * k)
    return out


class _Slots:
    """One output slot per record: the fast path yields at most one point per record."""

    def __init__(self, n: int) -> None:
        self.has = np.zeros(n, dtype=bool)
        self.codes = np.empty(n, dtype=np.int32)
        self.steps = np.empty(n, dtype=np.int64)
        self.walls = np.empty(n, dtype=np.float64)
        self.values = np.empty(n, dtype=np.float64)
        self.tensor = np.empty(n, dtype=bool)


def _match_layout(
    arr: np.ndarray, offs: np.ndarray, stored: np.ndarray, length: int, lay: Layout, rep: bytes, rep_crc: int
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Which records at ``offs`` share the representative's layout (CRC-verified), and their varying bytes."""
    tables = shift_tables()
    var_cols = list(range(1, 9)) + list(range(lay.step_pos, lay.step_pos + lay.step_len))
    var_cols += list(range(lay.value_pos, lay.value_pos + lay.value_width))
    crc = np.full(len(offs), rep_crc, dtype=np.uint32)
    cols: dict[int, np.ndarray] = {}
    for c in var_cols:
        col = arr[c:][offs]
        cols[c] = col
        crc ^= tables[length - 1 - c][col ^ rep[c]]
    ok = mask_crc(crc) == stored
    # the step bytes must form one varint of exactly step_len bytes
    for k in range(lay.step_len):
        cont = (cols[lay.step_pos + k] & 0x80) != 0
        ok &= cont if k < lay.step_len - 1 else ~cont
    return ok, cols


def decode_fast(buf: bytes, framing: Framing) -> Decoded:
    """Decode every scalar point of one file; same result as :func:`decode_protobuf`."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    offsets, lengths, stored = framing.offsets, framing.lengths, framing.stored_crc
    n = len(offsets)
    dec = empty_decoded()
    slots = _Slots(n)
    tag_index: dict[str, int] = {}
    fallback: list[int] = []
    if n and lengths[0] >= 9 and buf[offsets[0]] == 0x09:
        dec.first_wall = struct.unpack_from("<d", buf, int(offsets[0]) + 1)[0]
    order = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[order])) + 1
    for group in np.split(order, bounds):
        if not len(group):
            continue
        length = int(lengths[group[0]])
        rem = group
        while len(rem):
            r = int(rem[0])
            off = int(offsets[r])
            rep = buf[off : off + length]
            lay = parse_layout(rep) if length <= SHORT_PAYLOAD else None
            if lay == _SKIP:
                rem = rem[1:]
                continue
            rep_crc = int(bulk_crc(arr, offsets[r : r + 1], length)[0]) if lay is not None else 0
            if lay is None or mask_crc(rep_crc) != int(stored[r]):
                fallback.append(r)  # the protobuf path decodes it and reports CRC damage
                rem = rem[1:]
                continue
            ok, cols = _match_layout(arr, offsets[rem], stored[rem], length, lay, rep, rep_crc)
            hit = rem[ok]
            code = tag_index.setdefault(lay.tag, len(tag_index))
            if lay.plugin:
                dec.plugins.setdefault(lay.tag, lay.plugin)
            slots.has[hit] = True
            slots.codes[hit] = code
            slots.tensor[hit] = lay.is_tensor
            slots.walls[hit] = _compose([cols[c][ok] for c in range(1, 9)], np.uint64).view(np.float64)
            if lay.step_len:
                parts = [cols[lay.step_pos + k][ok] & 0x7F for k in range(lay.step_len)]
                step = parts[0].astype(np.uint64)
                for k, part in enumerate(parts[1:], start=1):
                    step |= part.astype(np.uint64) << np.uint64(7 * k)
                slots.steps[hit] = step.view(np.int64)
            else:
                slots.steps[hit] = 0
            vcols = [cols[lay.value_pos + k][ok] for k in range(lay.value_width)]
            if lay.value_width == 4:
                slots.values[hit] = _compose(vcols, np.uint32).view(np.float32)
            else:
                slots.values[hit] = _compose(vcols, np.uint64).view(np.float64)
            rem = rem[~ok]
    builder = _Builder()
    builder.index = tag_index
    undecodable = decode_records(buf, framing, np.asarray(sorted(fallback), dtype=np.int64), builder, dec)
    dec.tag_names = list(builder.index)
    records = np.flatnonzero(slots.has)
    fast_cols = (
        slots.codes[records],
        slots.steps[records],
        slots.walls[records],
        slots.values[records],
        slots.tensor[records],
        records,
    )
    del slots
    cols = [fast_cols]
    if builder.records:
        cols.append(
            (
                np.asarray(builder.codes, np.int32),
                np.asarray(builder.steps, np.int64),
                np.asarray(builder.walls, np.float64),
                np.asarray(builder.values, np.float64),
                np.asarray(builder.tensor, bool),
                np.asarray(builder.records, np.int64),
            )
        )
    to_check = np.unique(np.asarray(builder.records + undecodable, dtype=np.int64))
    return finish(buf, framing, cols, dec, undecodable, to_check)
