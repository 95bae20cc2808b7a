"""TFRecord framing of TensorBoard event files, walked over the file's bytes (a read-only map).

A record is ``uint64 length | uint32 masked_crc32c(length) | payload | uint32
masked_crc32c(payload)``, little endian. :func:`frame_records` finds every record,
checks the length CRCs in bulk with NumPy and resynchronises after damage by scanning
forward for the next header whose length CRC holds. Runs of zero bytes (a preallocated
or sparse tail, a crash that left zeros) are jumped over without a per-position scan:
a valid header always holds a non-zero byte. Payload CRCs are checked by the decoders
(:func:`payload_crc_ok` in bulk), only for the records they take data from.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

HEADER_BYTES = 12  # uint64 length + uint32 length CRC
FOOTER_BYTES = 4  # uint32 payload CRC
FRAME_BYTES = HEADER_BYTES + FOOTER_BYTES
_CRC32C_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8  # TFRecord's CRC masking constant
# Payloads up to this size are CRC-checked with the vectorised position tables (a table of
# this many 1 KiB rows is built once); longer ones (rare: images, graphs) byte by byte.
SHORT_PAYLOAD = 2048
# Positions scanned per NumPy batch while resynchronising after damage (bounds temporaries).
RESYNC_WINDOW = 1 << 20
# Bytes checked per step when jumping over a run of zeros (bounds the temporaries; a
# zero-filled gigabyte takes a fraction of a second).
ZERO_SCAN = 1 << 22
# Records whose payload CRC is checked per vectorised batch (bounds the byte-matrix size).
CRC_BATCH_BYTES = 8 << 20
# Predicted framing walk (see _walk): lengths remembered, context matched to find the
# period, how much history must repeat before it is trusted, and prediction batch sizes.
HISTORY = 8192
PERIOD_CONTEXT = 8
PERIOD_CANDIDATES = 64
PERIOD_VERIFY = 2048
PREDICT_MIN = 64
PREDICT_MAX = 1 << 18  # 2 MiB of int64 starts per batch at most
PREDICT_MISSES = 3  # short predictions in a row before walking in Python for a while
PYTHON_WALK = 2048  # records walked in Python when the lengths do not repeat
# Records walked in Python before a period guess: a few periods of a typical log (one event
# per tag per step), so small files (a fleet of runs) and a period that shifts (the step
# varint grows a byte at steps 128, 16384...) are predicted again at once. The walk doubles
# on each failed guess up to PYTHON_WALK, so logs that never repeat pay little for guessing.
FIRST_WALK = 128
LENGTH_LUT = 1 << 20  # header CRCs looked up per distinct length below this length


def _crc_table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_CRC32C_POLY), t >> 1).astype(np.uint32)
    return t


CRC_TABLE = _crc_table()
_CRC_TABLE_LIST = [int(x) for x in CRC_TABLE]


def crc32c(data: bytes | memoryview) -> int:
    """CRC32C of ``data`` (pure Python; for short or rare buffers)."""
    crc = 0xFFFFFFFF
    tab = _CRC_TABLE_LIST
    for b in bytes(data):
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int | np.ndarray) -> int | np.ndarray:
    """TFRecord's masked CRC: rotate right by 15 and add a constant."""
    if isinstance(crc, np.ndarray):
        c = crc.astype(np.uint32)
        return (((c >> np.uint32(15)) | (c << np.uint32(17))) + np.uint32(_MASK_DELTA)).astype(np.uint32)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@lru_cache(maxsize=1)
def shift_tables() -> np.ndarray:
    """``T[k, b]``: the raw CRC contribution of byte ``b`` followed by ``k`` zero bytes.

    CRC is affine, so ``crc(x) = crc(zeros(L)) ^ XOR_j T[L-1-j, x_j]``: every byte's
    contribution is independent and records of one length are checked in bulk.
    """
    tables = np.empty((SHORT_PAYLOAD, 256), dtype=np.uint32)
    cur = CRC_TABLE.copy()
    for k in range(SHORT_PAYLOAD):
        tables[k] = cur
        cur = CRC_TABLE[cur & 0xFF] ^ (cur >> np.uint32(8))
    return tables


@lru_cache(maxsize=4096)
def zeros_crc(length: int) -> int:
    """CRC32C of ``length`` zero bytes."""
    return crc32c(bytes(length))


def bulk_crc(arr: np.ndarray, offsets: np.ndarray, length: int) -> np.ndarray:
    """Unmasked CRC32C of ``length`` bytes at each of ``offsets`` (``length <= SHORT_PAYLOAD``)."""
    flat = shift_tables().ravel()
    out = np.empty(len(offsets), dtype=np.uint32)
    batch = max(1, CRC_BATCH_BYTES // max(length, 1))
    cols = np.arange(length, dtype=np.int64)
    base = ((length - 1 - cols) * 256).astype(np.int64)
    for lo in range(0, len(offsets), batch):
        offs = offsets[lo : lo + batch]
        mat = arr[offs[:, None] + cols]
        contrib = flat[mat.astype(np.int64) + base]
        out[lo : lo + batch] = np.bitwise_xor.reduce(contrib, axis=1) if length else 0
    return out ^ np.uint32(zeros_crc(length))


def payload_crc_ok(arr: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Whether each payload's masked CRC32C equals the stored one (bool per record)."""
    ok = np.zeros(len(offsets), dtype=bool)
    if not len(offsets):
        return ok
    order = np.argsort(lengths, kind="stable")
    sorted_len = lengths[order]
    bounds = np.flatnonzero(np.diff(sorted_len)) + 1
    for grp in np.split(order, bounds):
        length = int(lengths[grp[0]])
        if length <= SHORT_PAYLOAD:
            ok[grp] = mask_crc(bulk_crc(arr, offsets[grp], length)) == stored[grp]
        else:
            for i in grp:
                o = int(offsets[i])
                ok[i] = mask_crc(crc32c(arr[o : o + length].tobytes())) == int(stored[i])
    return ok


@dataclass
class Framing:
    """Where the records of one file are, and what damage was met on the way."""

    offsets: np.ndarray  # payload start (int64)
    lengths: np.ndarray  # payload length (int32, int64 for records over 2 GiB)
    stored_crc: np.ndarray  # masked payload CRC as stored (uint32)
    damage: list[str] = field(default_factory=list)  # human-readable, without the file name
    skipped_bytes: int = 0


def _walk_python(buf: bytes, pos: int, limit: int) -> tuple[list[int], list[int], int]:
    """Follow the length fields for at most ``limit`` records: (starts, lengths, next position)."""
    unpack = struct.Struct("<Q").unpack_from
    unpack_crc = struct.Struct("<I").unpack_from
    last = len(buf) - FRAME_BYTES
    starts: list[int] = []
    lengths: list[int] = []
    while pos <= last and len(starts) < limit:
        length = unpack(buf, pos)[0]
        starts.append(pos)
        lengths.append(length)
        if length == 0 and unpack_crc(buf, pos + 8)[0] == 0:
            break  # zeros, not a header: the header check reports it, the resync jumps the run
        pos += length + FRAME_BYTES
    return starts, lengths, pos


def byte_views(buf: bytes) -> dict[str, np.ndarray]:
    """Overlapping views of ``buf``: ``views[t][i]`` is the little-endian ``t`` starting at byte ``i``.

    Stride 1, so one fancy-index gather reads an unaligned field at many offsets at once.
    """
    n = len(buf)
    out = {}
    types = (("u8", "u1"), ("u16", "<u2"), ("u32", "<u4"), ("u64", "<u8"), ("f32", "<f4"), ("f64", "<f8"))
    for name, dt in types + (("v16", "V16"), ("v32", "V32")):
        size = np.dtype(dt).itemsize
        out[name] = np.ndarray(shape=(max(n - size + 1, 0),), dtype=dt, buffer=buf, offset=0, strides=(1,))
    return out


def _period(hist: np.ndarray) -> int | None:
    """The smallest period with which the recent record lengths repeat, if they do."""
    h = len(hist)
    if h < PERIOD_CONTEXT + 2:
        return None
    ctx = hist[-PERIOD_CONTEXT:]
    windows = np.lib.stride_tricks.sliding_window_view(hist[:-1], PERIOD_CONTEXT)
    ends = np.flatnonzero((windows == ctx).all(axis=1)) + PERIOD_CONTEXT - 1
    periods = (h - 1 - ends)[::-1][:PERIOD_CANDIDATES]
    if len(periods) and np.all(ctx == ctx[0]):
        # A run of equal lengths (hundreds of same-length tags) matches itself at every shift,
        # so the recent matches say nothing: anchor the context on the run's first record
        # instead, whose earlier copies are whole periods (steps) back.
        changes = np.flatnonzero(hist[1:] != hist[:-1]) + 1
        anchor = int(changes[-1]) if len(changes) else -1
        if anchor >= PERIOD_CONTEXT:
            ctx = hist[anchor - PERIOD_CONTEXT + 1 : anchor + 1]
            before = np.flatnonzero((windows[: anchor - PERIOD_CONTEXT + 1] == ctx).all(axis=1)) + PERIOD_CONTEXT - 1
            back = (anchor - before)[::-1]
            # a period verifies only on a span of at least two of it: longer ones never do
            periods = np.union1d(periods, back[back <= PERIOD_VERIFY // 2][:PERIOD_CANDIDATES])
    # each candidate is verified on its last two periods (so it needs three in the history)
    periods = periods[(3 * periods <= h) & (2 * periods <= PERIOD_VERIFY)]
    if not len(periods):
        return None
    span = int(2 * periods.max())
    cols = h - span + np.arange(span)
    idx = cols[None, :] - periods[:, None]
    inside = cols[None, :] >= (h - 2 * periods)[:, None]
    # all candidates verified at once: do their last two periods repeat one period earlier?
    ok = ((hist[np.maximum(idx, 0)] == hist[cols][None, :]) | ~inside).all(axis=1)
    hits = np.flatnonzero(ok)
    # the longest verified period: it also predicts the shorter ones' repeats, and a run of
    # equal lengths inside a longer cycle (per-layer tags of one step) verifies at period 1
    return int(periods[hits[-1]]) if len(hits) else None


def _walk(buf: bytes, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Record starts (and their length fields) from ``start`` following the length fields (stops at the end of data).

    Following lengths is sequential, so a Python loop would cost ~0.5 us per record.
    Training logs repeat the same sequence of record lengths (one event per tag per
    step), so the walk predicts the next records from the recent period and checks the
    prediction in bulk: the length field at each predicted start is read and compared;
    the longest correct prefix is exactly what the sequential walk would have found.
    """
    views = byte_views(buf)
    u64, u32 = views["u64"], views["u32"]
    n = len(buf)
    out: list[np.ndarray] = []
    hist = np.empty(0, dtype=np.int64)
    pos = start
    batch = PREDICT_MIN
    misses = 0
    walk = FIRST_WALK
    period: int | None = None
    while pos <= n - FRAME_BYTES:
        if period is None:  # kept while its predictions hold entirely: the history just repeated it
            period = None if misses >= PREDICT_MISSES else _period(hist)
        if period is None:
            starts, lengths, pos = _walk_python(buf, pos, walk if misses < PREDICT_MISSES else PYTHON_WALK)
            walk = min(PYTHON_WALK, 2 * walk)
            out.append(np.asarray(starts, dtype=np.int64))
            walked = np.asarray(lengths, dtype=np.uint64)
            if lengths and lengths[-1] == 0 and int(u32[starts[-1] + 8]) == 0:
                break  # an all-zero header: stop here, the header CRC check reports it
            hist = np.concatenate([hist, walked.astype(np.int64)])[-HISTORY:]
            misses = 0
            continue
        pred = np.resize(hist[-period:], batch)
        starts = np.empty(batch, dtype=np.int64)
        starts[0] = pos
        np.cumsum(pred[:-1] + FRAME_BYTES, out=starts[1:])
        starts[1:] += pos
        starts = starts[starts <= n - FRAME_BYTES]
        actual = u64[starts]
        wrong = np.flatnonzero(actual != pred[: len(starts)].astype(np.uint64))
        j = int(wrong[0]) if len(wrong) else len(starts) - 1
        zero = np.flatnonzero(actual[: j + 1] == 0)
        if len(zero):
            zero = zero[u32[starts[zero] + 8] == 0]
        stop = len(zero) > 0
        if stop:  # zeros, not headers: stop at the first, the header CRC check reports it
            j = int(zero[0])
        out.append(starts[: j + 1])
        got = actual[: j + 1]
        pos = int(starts[j]) + FRAME_BYTES + int(got[-1])
        if stop or int(got.max()) >= 1 << 62:  # garbage length: stop here, the header CRC check reports it
            break
        hist = np.concatenate([hist, got.astype(np.int64)])[-HISTORY:]
        walk = FIRST_WALK
        batch = min(PREDICT_MAX, batch * 2) if not len(wrong) else max(PREDICT_MIN, 2 * (j + 1))
        if len(wrong):
            period = None
        misses = misses + 1 if j < PREDICT_MIN // 4 else 0
    if not out:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    starts = np.concatenate(out)
    del out
    # the length fields read again at the starts rather than kept piece by piece: one array at a time
    return starts, u64[starts]


def _length_crc(values: np.ndarray) -> np.ndarray:
    """Masked CRC32C of each uint64 value's 8 little-endian bytes."""
    v = values.astype(np.uint64)
    crc = np.full(len(v), 0xFFFFFFFF, dtype=np.uint32)
    for j in range(8):
        byte = ((v >> np.uint64(8 * j)) & np.uint64(0xFF)).astype(np.uint32)
        crc = CRC_TABLE[(crc ^ byte) & np.uint32(0xFF)] ^ (crc >> np.uint32(8))
    return mask_crc(crc ^ np.uint32(0xFFFFFFFF))


def header_crc_ok(views: dict[str, np.ndarray], starts: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Whether the length CRC of the headers at ``starts`` holds (vectorised).

    The CRC depends only on the length, and a file has few distinct lengths, so it is
    computed once per distinct length when the lengths are known.
    """
    if lengths is None:
        lengths = views["u64"][starts]
    stored = views["u32"][starts + 8]
    if len(lengths) and int(lengths.max()) < LENGTH_LUT:
        present = np.zeros(int(lengths.max()) + 1, dtype=bool)
        present[lengths] = True
        vals = np.flatnonzero(present)
        lut = np.zeros(len(present), dtype=np.uint32)
        lut[vals] = _length_crc(vals)
        return lut[lengths] == stored
    return _length_crc(lengths) == stored


NextData = Callable[[int], int]


def _next_nonzero(arr: np.ndarray, pos: int, next_data: NextData | None) -> int:
    """The first position >= ``pos`` holding a non-zero byte (``len(arr)`` when none).

    ``next_data(pos)`` (if given) is where the file's next data extent starts: holes of a
    sparse file read as zeros, so they are jumped without being read at all.
    """
    n = len(arr)
    while pos < n:
        if next_data is not None:
            pos = next_data(pos)
            if pos >= n:
                return n
        hi = min(n, pos + ZERO_SCAN)
        window = arr[pos:hi]
        if window.any():
            return pos + int(np.argmax(window != 0))
        pos = hi
    return n


def _resync(buf: bytes, views: dict[str, np.ndarray], start: int, next_data: NextData | None = None) -> int | None:
    """The first position >= ``start`` holding a valid header whose payload CRC also holds."""
    n = len(buf)
    pos = start
    while pos <= n - FRAME_BYTES:
        # A valid header holds a non-zero byte (the masked CRC of a zero length is not zero):
        # no position whose 12 header bytes are all zeros can start one.
        pos = max(pos, _next_nonzero(views["u8"], pos, next_data) - (HEADER_BYTES - 1))
        if pos > n - FRAME_BYTES:
            break
        hi = min(n - FRAME_BYTES + 1, pos + RESYNC_WINDOW)
        cand = np.arange(pos, hi, dtype=np.int64)
        # a header's length must fit in the rest of the file: drops nearly every position
        lengths = views["u64"][cand]
        fits = lengths <= (n - FRAME_BYTES - cand).astype(np.uint64)
        cand, lengths = cand[fits], lengths[fits]
        for p in cand[header_crc_ok(views, cand, lengths)]:
            p = int(p)
            length = struct.unpack_from("<Q", buf, p)[0]
            end = p + HEADER_BYTES + length
            if end + FOOTER_BYTES > n:
                continue
            stored = struct.unpack_from("<I", buf, end)[0]
            if mask_crc(crc32c(buf[p + HEADER_BYTES : end])) == stored:
                return p
        pos = hi
    return None


def frame_records(buf: bytes, next_data: NextData | None = None, base: int = 0) -> Framing:
    """Find every intact record of an event file held in ``buf`` (bytes or a read-only map).

    A bad length CRC starts a resync. A record running past the end of the file is a
    truncated last record, unless an intact record follows its start: then its header
    lied about its length (a valid CRC over a damaged length) and reading resumes there.
    Every skip is reported in ``Framing.damage`` with its byte range. ``next_data`` lets
    the resync jump the holes of a sparse file (see :func:`_next_nonzero`). ``base``: where
    ``buf`` starts in the file (the bytes appended after a record already read), so the
    damage names byte offsets of the file; offsets in the result stay relative to ``buf``.
    """
    views = byte_views(buf)
    n = len(buf)
    all_starts: list[np.ndarray] = []
    all_lengths: list[np.ndarray] = []
    damage: list[str] = []
    skipped = 0
    pos = 0
    while pos < n:
        starts, lengths = _walk(buf, pos)
        bad = np.flatnonzero(~header_crc_ok(views, starts, lengths)) if len(starts) else starts
        if len(bad):
            all_starts.append(starts[: bad[0]])
            all_lengths.append(lengths[: bad[0]])
            bad_at = int(starts[bad[0]])
            nxt = _resync(buf, views, bad_at + 1, next_data)
            stop = n if nxt is None else nxt
            skipped += stop - bad_at
            damage.append(
                f"corrupt record header (length CRC mismatch) at byte {base + bad_at}: "
                f"skipped {stop - bad_at} bytes" + ("" if nxt is not None else " to the end of the file")
            )
            if nxt is None:
                break
            pos = nxt
            continue
        all_starts.append(starts)
        all_lengths.append(lengths)
        end = int(starts[-1]) + FRAME_BYTES + int(lengths[-1]) if len(starts) else pos
        if end > n:  # the last walked record runs past the end: truncated, or a lying length
            all_starts[-1] = starts[:-1]
            all_lengths[-1] = lengths[:-1]
            cut = int(starts[-1])
            nxt = _resync(buf, views, cut + 1, next_data)
            if nxt is not None:
                skipped += nxt - cut
                damage.append(
                    f"record header at byte {base + cut} claims {int(lengths[-1]):,} bytes, past the end of the "
                    f"file: skipped {nxt - cut} bytes up to the next intact record at byte {base + nxt}"
                )
                pos = nxt
                continue
            skipped += n - cut
            damage.append(f"truncated last record at byte {base + cut}: skipped {n - cut} bytes (1 record)")
        elif end < n:  # fewer than a header's worth of bytes left
            skipped += n - end
            damage.append(f"truncated last record at byte {base + end}: skipped {n - end} bytes")
        break
    # one walk (an intact file): its arrays are this call's own, so no copy is made of them
    offsets = all_starts[0] if len(all_starts) == 1 else np.concatenate(all_starts) if all_starts else np.empty(0, np.int64)
    offsets += HEADER_BYTES  # this call's own array: record start -> payload start in place
    lengths = all_lengths[0] if len(all_lengths) == 1 else np.concatenate(all_lengths) if all_lengths else np.empty(0, np.uint64)
    del all_starts, all_lengths
    # int32 lengths save 4 bytes per record (records are far below 2 GiB)
    lengths = lengths.astype(np.int32 if not len(lengths) or int(lengths.max()) < (1 << 31) else np.int64)
    stored = views["u32"][offsets + lengths] if len(offsets) else np.empty(0, np.uint32)
    return Framing(offsets, lengths, stored, damage, skipped)


def looks_like_event_file(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts with a valid record header."""
    if len(head) < HEADER_BYTES:
        return False
    length = struct.unpack_from("<Q", head, 0)[0]
    stored = struct.unpack_from("<I", head, 8)[0]
    return mask_crc(crc32c(head[:8])) == stored and length < (1 << 40)
