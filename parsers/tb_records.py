"""TFRecord framing of TensorBoard event files, walked over the whole file's bytes.

A record is ``uint64 length | uint32 masked_crc32c(length) | payload | uint32
masked_crc32c(payload)``, little endian. :func:`frame_records` finds every record,
checks the length CRCs in bulk with NumPy and resynchronises after damage by scanning
forward for the next header whose length CRC holds. Payload CRCs are checked by the
decoders (:func:`payload_crc_ok` in bulk), only for the records they take data from.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache

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
# Records whose payload CRC is checked per vectorised batch (bounds the byte-matrix size).
CRC_BATCH_BYTES = 8 << 20


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


def unmask_crc(masked: np.ndarray) -> np.ndarray:
    """Inverse of :func:`mask_crc` for arrays."""
    r = (masked.astype(np.uint32) - np.uint32(_MASK_DELTA)).astype(np.uint32)
    return ((r >> np.uint32(17)) | (r << np.uint32(15))).astype(np.uint32)


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
    lengths: np.ndarray  # payload length (int64)
    stored_crc: np.ndarray  # masked payload CRC as stored (uint32)
    damage: list[str] = field(default_factory=list)  # human-readable, without the file name
    skipped_bytes: int = 0


def _walk(buf: bytes, start: int) -> list[int]:
    """Record starts from ``start`` following the length fields (stops at the end of data)."""
    unpack = struct.Struct("<Q").unpack_from
    n = len(buf)
    starts: list[int] = []
    append = starts.append
    pos = start
    last = n - FRAME_BYTES
    while pos <= last:
        append(pos)
        pos += unpack(buf, pos)[0] + FRAME_BYTES
    return starts


def header_crc_ok(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Whether the length CRC of the headers at ``starts`` holds (vectorised)."""
    crc = np.full(len(starts), 0xFFFFFFFF, dtype=np.uint32)
    for j in range(8):
        crc = CRC_TABLE[(crc ^ arr[starts + j]) & 0xFF] ^ (crc >> np.uint32(8))
    crc ^= np.uint32(0xFFFFFFFF)
    stored = np.zeros(len(starts), dtype=np.uint32)
    for j in range(4):
        stored |= arr[starts + 8 + j].astype(np.uint32) << np.uint32(8 * j)
    return mask_crc(crc) == stored


def _resync(buf: bytes, arr: np.ndarray, start: int) -> int | None:
    """The first position >= ``start`` holding a valid header whose payload CRC also holds."""
    n = len(buf)
    pos = start
    while pos <= n - FRAME_BYTES:
        hi = min(n - FRAME_BYTES + 1, pos + RESYNC_WINDOW)
        cand = np.arange(pos, hi, dtype=np.int64)
        for p in cand[header_crc_ok(arr, cand)]:
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


def frame_records(buf: bytes) -> Framing:
    """Find every intact record of an event file held in ``buf``.

    A bad length CRC starts a resync; a record running past the end of the file is a
    truncated last record. Both are reported in ``Framing.damage`` and skipped.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    n = len(buf)
    all_starts: list[np.ndarray] = []
    damage: list[str] = []
    skipped = 0
    pos = 0
    while pos < n:
        starts = np.asarray(_walk(buf, pos), dtype=np.int64)
        bad = np.flatnonzero(~header_crc_ok(arr, starts)) if len(starts) else np.empty(0, np.int64)
        if len(bad):
            good = starts[: bad[0]]
            all_starts.append(good)
            bad_at = int(starts[bad[0]])
            nxt = _resync(buf, arr, bad_at + 1)
            stop = n if nxt is None else nxt
            skipped += stop - bad_at
            damage.append(
                f"corrupt record header (length CRC mismatch) at byte {bad_at}: "
                f"skipped {stop - bad_at} bytes" + ("" if nxt is not None else " to the end of the file")
            )
            if nxt is None:
                break
            pos = nxt
            continue
        all_starts.append(starts)
        end = int(starts[-1]) + FRAME_BYTES + struct.unpack_from("<Q", buf, int(starts[-1]))[0] if len(starts) else pos
        if end > n:  # the last walked record runs past the end: truncated
            all_starts[-1] = starts[:-1]
            cut = int(starts[-1])
            skipped += n - cut
            damage.append(f"truncated last record at byte {cut}: skipped {n - cut} bytes (1 record)")
        elif end < n:  # fewer than a header's worth of bytes left
            skipped += n - end
            damage.append(f"truncated last record at byte {end}: skipped {n - end} bytes")
        break
    starts = np.concatenate(all_starts) if all_starts else np.empty(0, np.int64)
    if len(starts):
        lengths = np.zeros(len(starts), dtype=np.int64)
        for j in range(8):
            lengths |= arr[starts + j].astype(np.int64) << (8 * j)
    else:
        lengths = np.empty(0, np.int64)
    offsets = starts + HEADER_BYTES
    ends = offsets + lengths
    stored = np.zeros(len(starts), dtype=np.uint32)
    for j in range(4):
        stored |= arr[ends + j].astype(np.uint32) << np.uint32(8 * j)
    return Framing(offsets, lengths, stored, damage, skipped)


def looks_like_event_file(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts with a valid record header."""
    if len(head) < HEADER_BYTES:
        return False
    length = struct.unpack_from("<Q", head, 0)[0]
    stored = struct.unpack_from("<I", head, 8)[0]
    return mask_crc(crc32c(head[:8])) == stored and length < (1 << 40)
