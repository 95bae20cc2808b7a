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
from functools import lru_cache
from typing import Callable

import numpy as np

from .tb_decode import Decoded, _Builder, decode_records, empty_decoded, finish
from .tb_records import CRC_TABLE, HEADER_BYTES, SHORT_PAYLOAD, Framing, bulk_crc, byte_views, mask_crc, shift_tables

# Top-level Event field keys that mean "not a summary" (file_version, graph_def,
# log_message, session_log, tagged_run_metadata, meta_graph_def): nothing to read.
_NON_SUMMARY_KEYS = frozenset({0x1A, 0x22, 0x32, 0x3A, 0x42, 0x4A})
_SKIP = "skip"
DT_FLOAT, DT_DOUBLE = 1, 2
# 256 KiB each; keyed by a byte's distance to the end of its field group (~16 in use).
PAIR_TABLES = 32
# Files whose records span more than this are decoded this much at a time (_decode_chunked): the
# per-record columns of one part (~30 bytes a record) and its temporaries stay a few MB, and the
# bytes of the parts done are released, so reading a large file holds little beyond its points.
DECODE_CHUNK_BYTES = 2 << 20
# Records matched against a layout per NumPy batch: large enough to amortise the Python
# overhead (~60 array operations per batch), small enough to keep temporaries ~ 5 MB.
PASS_CHUNK = 1 << 16
# After SPLIT_AFTER passes over one length group, a pass matching under SPLIT_FRACTION of
# the remaining records (more than SPLIT_MIN of them) means many layouts share the length
# (hundreds of same-length tags): the group is split by tag bytes once, so the work stays
# linear instead of one full pass per tag. A few layouts per length never pay for a split.
SPLIT_AFTER = 8
SPLIT_FRACTION = 0.25
SPLIT_MIN = 4096
_HASH_MUL = 0x9E3779B97F4A7C15  # 2^64 / golden ratio: spreads the second word's bits


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
    tag_start: int  # where the tag's bytes are (splits crowded length groups)
    tag_end: int


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
        if step_len > 8:  # negative or huge steps: rare, left to the protobuf path
            return None
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
    tag_start, tag_end = i, i + size
    i += size
    if i >= vend:
        return None
    if p[i] == 0x15 and i + 5 == vend:
        return Layout(tag, step_pos, step_len, i + 1, 4, False, None, tag_start, tag_end)
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
    return Layout(tag, step_pos, step_len, found[0], found[1], True, plugin, tag_start, tag_end)


@lru_cache(maxsize=PAIR_TABLES)
def _pair_table(k: int) -> np.ndarray:
    """CRC contribution of a little-endian byte pair followed by ``k`` bytes (65536 entries)."""
    t = shift_tables()
    w = np.arange(1 << 16, dtype=np.uint32)
    return t[k + 1][w & 0xFF] ^ t[k][w >> 8]


class _Slots:
    """One output slot per record: the fast path yields at most one point per record."""

    def __init__(self, n: int, plugins: bool = False) -> None:
        self.has = np.zeros(n, dtype=bool)
        self.codes = np.empty(n, dtype=np.int32)
        self.steps = np.empty(n, dtype=np.int64)
        self.walls = np.empty(n, dtype=np.float64)
        self.values = np.empty(n, dtype=np.float64)
        self.tensor = np.empty(n, dtype=bool)
        # with ``plugins``: the plugin each matched record declares (0: none, else 1 + its place in
        # ``plugin_names``), for files that share one pass but keep their own declarations (tb_batch)
        self.plugin = np.zeros(n, dtype=np.int16) if plugins else None
        self.plugin_names: dict[str, int] = {}

    def put(self, at: np.ndarray, builder) -> None:
        """The fallback builder's points (one per record) into the slots ``at``."""
        self.has[at] = True
        self.codes[at] = builder.codes
        self.steps[at] = builder.steps
        self.walls[at] = builder.walls
        self.values[at] = builder.values
        self.tensor[at] = builder.tensor

    def plugin_code(self, plugin: str | None) -> int:
        """The code ``plugin`` is recorded under in :attr:`plugin`."""
        return self.plugin_names.setdefault(plugin, len(self.plugin_names)) + 1 if plugin else 0


_WORD_VIEW = {1: "u8", 2: "u16", 3: "u32", 4: "u32", 5: "u64", 6: "u64", 7: "u64", 8: "u64"}
_WORD_DTYPE = {1: "u1", 2: "<u2", 3: "<u4", 4: "<u4", 5: "<u8", 6: "<u8", 7: "<u8", 8: "<u8"}
# Bytes gathered at once from each event's start (wall time and a step of up to 4 bytes);
# steps of 5..8 bytes take a block twice as large. One wide gather beats two narrow ones.
PREFIX_BLOCK = 16


def _word(views: dict[str, np.ndarray], offs: np.ndarray, pos: int, width: int) -> np.ndarray:
    """The ``width`` bytes at ``offs + pos`` as little-endian unsigned integers (one gather)."""
    w = views[_WORD_VIEW[width]][pos:][offs]
    if width in (3, 5, 6, 7):
        w = w & w.dtype.type((1 << (8 * width)) - 1)
    return w


@lru_cache(maxsize=256)
def _advance_tables(m: int) -> np.ndarray:
    """``A[b, v]``: raw CRC register ``v << 8b`` after ``m`` more zero bytes (linear, so per byte)."""
    v = np.arange(256, dtype=np.uint32)[None, :] << (8 * np.arange(4, dtype=np.uint32))[:, None]
    for _ in range(m):
        v = CRC_TABLE[v & np.uint32(0xFF)] ^ (v >> np.uint32(8))
    return v


def _advance(x: np.ndarray, m: int) -> np.ndarray:
    """CRC contributions computed as if the record ended ``m`` bytes earlier, moved to the real end."""
    if m == 0:
        return x
    t = _advance_tables(m)
    lanes = x.view(np.uint8)  # little-endian byte lanes: no shifts or masks
    return t[0][lanes[0::4]] ^ t[1][lanes[1::4]] ^ t[2][lanes[2::4]] ^ t[3][lanes[3::4]]


def _lane(word: np.ndarray, byte: int, size: int) -> np.ndarray:
    """The ``size``-byte lane (1 or 2) starting at ``byte`` of each little-endian word, as a strided view."""
    per_word = word.dtype.itemsize // size
    return word.view(np.uint16 if size == 2 else np.uint8)[byte // size :: per_word]


def _varying_crc(
    views: dict[str, np.ndarray], offs: np.ndarray, length: int, lay: Layout
) -> tuple[np.ndarray, list[np.ndarray]]:
    """XOR of the CRC contributions of the varying fields, and the fields as words.

    The wall time and step sit at the start of the event, at a fixed position whatever
    the record length: their contributions are computed against the end of the step and
    then advanced to the record's end, so their 64 KiB pair tables serve every record
    length. The value sits at a fixed distance from the end (simple_value last, tensors
    before a fixed metadata block), so its tables are keyed by that distance directly.
    """
    tables = shift_tables()
    prefix = [(1, 8)] + ([(lay.step_pos, lay.step_len)] if lay.step_len else [])
    prefix_end = prefix[-1][0] + prefix[-1][1]
    # wall time and step come from one gather of a fixed-size block at the event start
    step_bytes = np.dtype(_WORD_DTYPE[lay.step_len]).itemsize if lay.step_len else 0
    block_size = PREFIX_BLOCK if lay.step_pos + step_bytes <= PREFIX_BLOCK else 2 * PREFIX_BLOCK
    block = views[f"v{block_size}"][offs]

    def field(pos: int, dtype: str) -> np.ndarray:
        return np.ndarray(shape=(len(offs),), dtype=dtype, buffer=block, offset=pos, strides=(block_size,))

    total = None
    words: list[np.ndarray] = []
    for group, end in ((prefix, prefix_end), ([(lay.value_pos, lay.value_width)], length)):
        in_block = group is prefix
        part = None
        for pos, width in group:
            if in_block:
                word = field(pos, _WORD_DTYPE[width])
                if width in (3, 5, 6, 7):
                    word = word & word.dtype.type((1 << (8 * width)) - 1)
            else:
                word = _word(views, offs, pos, width)
            words.append(word)
            for i in range(0, width, 2):
                c = pos + i
                if in_block:
                    lane = field(c, "<u2" if i + 1 < width else "u1")
                elif width > 2:
                    lane = _lane(word, i, 2 if i + 1 < width else 1)
                else:
                    lane = word
                if i + 1 < width:
                    contrib = _pair_table(end - 2 - c)[lane]
                else:
                    contrib = tables[end - 1 - c][lane]
                part = contrib if part is None else part ^ contrib
        part = _advance(part, length - end)
        total = part if total is None else total ^ part
    return total, words


def _match_layout(
    views: dict[str, np.ndarray], offs: np.ndarray, stored: np.ndarray, length: int, lay: Layout,
    const: int | np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Which records at ``offs`` have the representative's layout, and their varying fields
    (``const``: the CRC's constant part, or one per record).

    CRC is affine: ``crc(x) = C ^ XOR_c T_c[x_c]`` over the bytes that may differ from
    the representative, ``C`` taken from the representative. A record matches when that
    CRC equals its stored one and its step bytes form one varint of the same size.
    """
    crc, words = _varying_crc(views, offs, length, lay)
    ok = mask_crc(crc ^ (const.astype(np.uint32) if isinstance(const, np.ndarray) else np.uint32(const))) == stored
    if lay.step_len:
        k = lay.step_len
        step_word = words[1]
        dt = step_word.dtype.type
        cont = sum(0x80 << (8 * j) for j in range(k))
        expect = sum(0x80 << (8 * j) for j in range(k - 1))
        ok &= (step_word & dt(cont)) == dt(expect)
    return ok, words


def _steps(word: np.ndarray, k: int) -> np.ndarray:
    """Decode ``k``-byte varints held in little-endian words (7 payload bits per byte)."""
    if k <= 4:
        w = word.astype(np.uint32, copy=False)
        step = w & np.uint32(0x7F)
        for j in range(1, k):
            step |= (w >> np.uint32(j)) & np.uint32(0x7F << (7 * j))
        return step.astype(np.int64)
    w = word.astype(np.uint64, copy=False)
    step = w & np.uint64(0x7F)
    for j in range(1, k):
        step |= (w >> np.uint64(j)) & np.uint64(0x7F << (7 * j))
    return step.view(np.int64)


def _compact(a: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``a[keep]`` for increasing ``keep``, written in place chunk by chunk (no full-size copy).

    Safe because ``keep[j] >= j``: a chunk only overwrites slots no later chunk reads.
    """
    for lo in range(0, len(keep), PASS_CHUNK):
        hi = min(lo + PASS_CHUNK, len(keep))
        a[lo:hi] = a[keep[lo:hi]]
    return a[: len(keep)]


class _Matcher:
    """Assigns the records of one file to layouts, writing matched points into the slots."""

    def __init__(self, buf: bytes, framing: Framing, slots: _Slots, dec: Decoded) -> None:
        self.buf = buf
        self.arr = np.frombuffer(buf, dtype=np.uint8)
        self.views = byte_views(buf)
        self.offsets, self.lengths, self.stored = framing.offsets, framing.lengths, framing.stored_crc
        self.slots = slots
        self.dec = dec
        self.tag_index: dict[str, int] = {}
        self.fallback: list[int] = []

    def group(self, rem: np.ndarray, length: int) -> None:
        """Match the records ``rem`` (all of payload ``length``) layout by layout."""
        stack = [(rem, False)]
        while stack:
            rem, split = stack.pop()
            passes = 0
            while len(rem):
                r = int(rem[0])
                off = int(self.offsets[r])
                rep = self.buf[off : off + length]
                lay = parse_layout(rep) if length <= SHORT_PAYLOAD else None
                if lay == _SKIP:
                    rem = rem[1:]
                    continue
                rep_crc = int(bulk_crc(self.arr, self.offsets[r : r + 1], length)[0]) if lay is not None else 0
                if lay is None or mask_crc(rep_crc) != int(self.stored[r]):
                    self.fallback.append(r)  # the protobuf path decodes it and reports CRC damage
                    rem = rem[1:]
                    continue
                before = len(rem)
                rem = self._apply(rem, length, lay, rep_crc)
                passes += 1
                crowded = passes >= SPLIT_AFTER and before - len(rem) < SPLIT_FRACTION * before
                if not split and crowded and len(rem) > SPLIT_MIN:
                    # many layouts share this length (e.g. hundreds of same-length tags):
                    # split by the bytes where the representative's tag ends, then go on
                    subs = self._split(rem, lay)
                    if not self._apply_all(subs[::-1], length):  # in the order the stack takes them
                        stack.extend((sub, True) for sub in subs)
                    rem = rem[:0]
                elif not split and crowded and len(rem) > 1:
                    # too few records to split, but still one pass per tag: all at once when every
                    # record fits its tag's layout, taking the tags in the order these passes
                    # would (their first records' order: ``rem`` is in file order)
                    subs = sorted(self._split(rem, lay), key=lambda sub: int(sub[0]))
                    if self._apply_all(subs, length):
                        rem = rem[:0]
                    else:
                        split = True  # go on one pass per tag, without trying again

    def _split(self, rem: np.ndarray, lay: Layout) -> list[np.ndarray]:
        """Sub-groups of ``rem`` by (up to 16 of) the bytes where ``lay``'s tag sits."""
        u64 = self.views["u64"]
        offs = self.offsets[rem]
        key = np.zeros(len(rem), dtype=np.uint64)
        for end in (lay.tag_end, lay.tag_end - 8):
            size = min(8, end - lay.tag_start)
            if size <= 0:
                break
            word = u64[end - 8 :][offs] if size == 8 else u64[lay.tag_start :][offs]
            if size < 8:  # a short tag: keep its bytes only (never the wall time or step)
                word &= np.uint64((1 << (8 * size)) - 1)
            key = key * np.uint64(_HASH_MUL) ^ word
        _, inverse = np.unique(key, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.flatnonzero(np.diff(inverse[order])) + 1
        return [rem[g] for g in np.split(order, bounds)]

    def _apply_all(self, subs: list[np.ndarray], length: int) -> bool:
        """Match every sub-group against its own first record's layout in one pass: the same as
        :meth:`_apply` on each in turn when each record matches its sub-group's layout, which
        is then written; False (nothing written) when any record or layout is unusual, for the
        sub-groups to go one by one.

        Same-length records of different tags (a thousand per-layer norms) share where their step
        and value sit; only their constant bytes (the tag) differ, and those only change the
        constant part of the CRC. So one pass with one constant per sub-group checks them all,
        instead of one pass per tag.
        """
        if length > SHORT_PAYLOAD or len(subs) < 2:
            return False
        reps = np.array([int(sub[0]) for sub in subs], dtype=np.int64)
        layouts = []
        for r in reps.tolist():
            off = int(self.offsets[r])
            lay = parse_layout(self.buf[off : off + length])
            if not isinstance(lay, Layout):
                return False
            layouts.append(lay)
        first = layouts[0]
        shape = (first.step_pos, first.step_len, first.value_pos, first.value_width, first.is_tensor)
        if any((lay.step_pos, lay.step_len, lay.value_pos, lay.value_width, lay.is_tensor) != shape
               for lay in layouts):
            return False
        rep_offs = self.offsets[reps]
        rep_crc = bulk_crc(self.arr, rep_offs, length)
        if not np.array_equal(mask_crc(rep_crc), self.stored[reps]):
            return False
        consts = rep_crc ^ _varying_crc(self.views, rep_offs, length, first)[0]
        records = np.concatenate(subs)
        which = np.repeat(np.arange(len(subs), dtype=np.int32), [len(sub) for sub in subs])
        found = []
        for lo in range(0, len(records), PASS_CHUNK):  # chunks bound the temporaries
            part = records[lo : lo + PASS_CHUNK]
            ok, words = _match_layout(self.views, self.offsets[part], self.stored[part], length, first,
                                      consts[which[lo : lo + PASS_CHUNK]])
            if not ok.all():
                return False
            found.append((part, words))
        codes = np.array([self.tag_index.setdefault(lay.tag, len(self.tag_index)) for lay in layouts],
                         dtype=np.int32)
        for lay in layouts:
            if lay.plugin:
                self.dec.plugins.setdefault(lay.tag, lay.plugin)
        slots = self.slots
        plugin_codes = (np.array([slots.plugin_code(lay.plugin) for lay in layouts], dtype=np.int16)
                        if slots.plugin is not None else None)
        for lo, (part, words) in zip(range(0, len(records), PASS_CHUNK), found):
            slots.has[part] = True
            slots.codes[part] = codes[which[lo : lo + PASS_CHUNK]]
            if plugin_codes is not None:
                slots.plugin[part] = plugin_codes[which[lo : lo + PASS_CHUNK]]
            slots.tensor[part] = first.is_tensor
            slots.walls[part] = words[0].view(np.float64)
            slots.steps[part] = _steps(words[1], first.step_len) if first.step_len else 0
            slots.values[part] = words[-1].view(np.float32 if first.value_width == 4 else np.float64)
        return True

    def _apply(self, rem: np.ndarray, length: int, lay: Layout, rep_crc: int) -> np.ndarray:
        """Write the points of the records of ``rem`` matching ``lay``; return the others."""
        r = rem[:1]
        const = rep_crc ^ int(_varying_crc(self.views, self.offsets[r], length, lay)[0][0])
        code = self.tag_index.setdefault(lay.tag, len(self.tag_index))
        if lay.plugin:
            self.dec.plugins.setdefault(lay.tag, lay.plugin)
        slots = self.slots
        leftovers = []
        for lo in range(0, len(rem), PASS_CHUNK):  # chunks bound the temporaries
            part = rem[lo : lo + PASS_CHUNK]
            ok, words = _match_layout(self.views, self.offsets[part], self.stored[part], length, lay, const)
            every = bool(ok.all())
            if not every:
                words = [w[ok] for w in words]
            hit = part if every else part[ok]
            slots.has[hit] = True
            slots.codes[hit] = code
            if slots.plugin is not None:
                slots.plugin[hit] = slots.plugin_code(lay.plugin)
            slots.tensor[hit] = lay.is_tensor
            slots.walls[hit] = words[0].view(np.float64)
            slots.steps[hit] = _steps(words[1], lay.step_len) if lay.step_len else 0
            slots.values[hit] = words[-1].view(np.float32 if lay.value_width == 4 else np.float64)
            if not every:
                leftovers.append(part[~ok])
        return np.concatenate(leftovers) if leftovers else rem[:0]


def tail_start(buf: bytes, offsets: np.ndarray) -> int:
    """The first record the bulk matcher leaves to the protobuf path: its prefix block gather may
    read past a short record's end, so the last records of the buffer (at most a block away from
    its end) are decoded one by one instead."""
    return int(np.searchsorted(offsets, len(buf) - 2 * PREFIX_BLOCK, side="right"))


def match_records(buf: bytes, framing: Framing, slots: _Slots, dec: Decoded,
                  tag_index: dict[str, int] | None = None) -> tuple[dict[str, int], list[int]]:
    """Match every record of ``framing`` (but the tail of ``buf``, see :func:`tail_start`) against the
    layouts of single-scalar events, writing the points into ``slots``: the tag codes (tag -> code, in
    the order the tags were first matched, after those of ``tag_index`` when given) and the records
    left to the protobuf path (unordered). Length groups are taken shortest first; within one,
    layouts in the order of their first record."""
    offsets, lengths = framing.offsets, framing.lengths
    n = len(offsets)
    matcher = _Matcher(buf, framing, slots, dec)
    if tag_index is not None:
        matcher.tag_index = tag_index
    # stable sort of small integers is a radix sort: cast the lengths down when they fit
    small = lengths.astype(np.uint16) if n and int(lengths.max()) < (1 << 16) else lengths
    order = np.argsort(small, kind="stable")
    if n < (1 << 31):
        order = order.astype(np.int32)
    tail = tail_start(buf, offsets)
    matcher.fallback.extend(range(tail, n))
    if tail < n:
        order = order[order < tail]
    bounds = np.flatnonzero(np.diff(small[order])) + 1
    del small
    for group in np.split(order, bounds):
        if len(group):
            matcher.group(group, int(lengths[group[0]]))
    return matcher.tag_index, matcher.fallback


def decode_fast(buf: bytes, framing: Framing, release: Callable[[int], None] | None = None) -> Decoded:
    """Decode every scalar point of one file; same result as :func:`decode_protobuf`.

    A file of more than DECODE_CHUNK_BYTES is decoded a part at a time (:func:`_decode_chunked`);
    ``release(end)`` is then told when the bytes of ``buf`` before ``end`` are no longer needed."""
    offsets, lengths = framing.offsets, framing.lengths
    n = len(offsets)
    dec = empty_decoded()
    if n and lengths[0] >= 9 and buf[offsets[0]] == 0x09:
        dec.first_wall = struct.unpack_from("<d", buf, int(offsets[0]) + 1)[0]
    if n and int(offsets[-1]) - int(offsets[0]) > DECODE_CHUNK_BYTES:
        return _decode_chunked(buf, framing, dec, release)
    slots = _Slots(n)
    tag_index, fallback = match_records(buf, framing, slots, dec)
    builder = _Builder()
    builder.index = tag_index
    undecodable = decode_records(buf, framing, np.asarray(sorted(fallback), dtype=np.int64), builder, dec)
    dec.tag_names = list(builder.index)
    to_check = np.unique(np.asarray(builder.records + undecodable, dtype=np.int64))
    fb_records = np.asarray(builder.records, np.int64)
    if len(np.unique(fb_records)) == len(fb_records):
        # one point per fallback record (the usual case): into the slots, no concatenation
        slots.put(fb_records, builder)
        builder = _Builder()
    # chunked, so no full-size int64 index array exists even for a moment
    index_type = np.int32 if n < (1 << 31) else np.int64
    records = np.concatenate(
        [np.flatnonzero(slots.has[lo : lo + PASS_CHUNK]).astype(index_type) + lo for lo in range(0, n, PASS_CHUNK)]
        or [np.empty(0, index_type)]
    )
    slots.has = None
    fast_cols = [_compact(getattr(slots, name), records) for name in ("codes", "steps", "walls", "values", "tensor")]
    fast_cols.append(records)
    del slots
    cols = [tuple(fast_cols)]
    if builder.records:
        cols.append(builder.columns())
    return finish(buf, framing, cols, dec, undecodable, to_check)


def _chunk_bounds(offsets: np.ndarray) -> list[tuple[int, int]]:
    """Record ranges ``[a, b)`` whose payloads start within DECODE_CHUNK_BYTES of each other."""
    first = int(offsets[0])
    marks = np.arange(first, int(offsets[-1]) + 1, DECODE_CHUNK_BYTES, dtype=np.int64)
    cuts = np.searchsorted(offsets, marks, side="left").tolist() + [len(offsets)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _decode_chunked(buf: bytes, framing: Framing, dec: Decoded, release: Callable[[int], None] | None) -> Decoded:
    """:func:`decode_fast` on a large file, DECODE_CHUNK_BYTES of records at a time: each part is
    matched (tags coded across parts in one index) and its points written into columns sized for
    the whole file, so only one part's slots and temporaries exist at once, and the bytes of the
    parts done can be released. The points and damage are those of the whole-file pass, in file
    order; the tags are then coded in first-seen order (the protobuf path's), which unlike the
    matcher's length-group order does not depend on where the parts begin."""
    offsets, lengths, stored = framing.offsets, framing.lengths, framing.stored_crc
    n = len(offsets)
    index_type = np.int32 if n < (1 << 31) else np.int64
    out = _Slots(n)  # the columns of every point (at most one per record on this path)
    out.has = None
    out_records = np.empty(n, dtype=index_type)
    filled = 0
    tag_index: dict[str, int] = {}
    extra: list[tuple] = []  # points of records holding several (events of many values): rare
    undecodable: list[int] = []
    checks: list[np.ndarray] = []
    for a, b in _chunk_bounds(offsets):
        part = Framing(offsets[a:b], lengths[a:b], stored[a:b])
        slots = _Slots(b - a)
        _, fallback = match_records(buf, part, slots, dec, tag_index)
        builder = _Builder()
        builder.index = tag_index
        # the whole framing with the file's record numbers: records, damage and first wall as one pass
        undecodable += decode_records(buf, framing, np.asarray(sorted(fallback), dtype=np.int64) + a, builder, dec)
        fb = np.asarray(builder.records, np.int64)
        checks.append(fb)
        if len(np.unique(fb)) == len(fb):
            slots.put(fb - a, builder)
        else:
            extra.append(builder.columns())
        hit = np.flatnonzero(slots.has)
        k = len(hit)
        for name in ("codes", "steps", "walls", "values", "tensor"):
            getattr(out, name)[filled : filled + k] = getattr(slots, name)[hit]
        out_records[filled : filled + k] = hit + a
        filled += k
        del slots, hit
        if release is not None and b < n:
            release(int(offsets[b]) - HEADER_BYTES)  # where the next part's first record starts
    cols = [(out.codes[:filled], out.steps[:filled], out.walls[:filled], out.values[:filled], out.tensor[:filled],
             out_records[:filled])] + extra
    to_check = np.unique(np.concatenate(checks + [np.asarray(undecodable, dtype=np.int64)]))
    dec = finish(buf, framing, cols, dec, undecodable, to_check)
    names = list(tag_index)
    if len(dec.codes):  # tags in the order their first points come in the file
        first = np.full(len(names), len(dec.codes), dtype=np.int64)
        np.minimum.at(first, dec.codes, np.arange(len(dec.codes), dtype=np.int64))
        order = np.argsort(first, kind="stable")
        remap = np.empty(len(names), dtype=np.int32)
        remap[order] = np.arange(len(names), dtype=np.int32)
        dec.codes = remap[dec.codes]
        names = [names[i] for i in order.tolist()]
    dec.tag_names = names
    return dec
