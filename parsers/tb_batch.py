"""Many small event files framed and decoded in one go (a fleet of run folders, a file each).

The bulk decoder's cost is per pass (a few dozen NumPy calls per length group and layout), not per
record: a 100 KB file of 2,000 scalar events pays the same passes as a file a hundred times longer.
Files written by the same code share their layouts, so their bytes are laid end to end in one
buffer and framed and matched as one file, each pass serving every file at once.

A file's result is taken from the shared pass only when it is certain to be what reading it alone
gives (:func:`decode_files` says which): its records tile it exactly (so its own framing finds the
same records and no damage), every record is a single-scalar event the bulk matcher took (so no
CRC damage, no hparams) or one it skips (the file version), no tag declares two plugins (so which
declaration came first cannot matter) and its first event carries a wall time. Anything else
(damage, histograms, a record the protobuf path would decode) is left for the caller to read
alone, as are files whose length groups are crowded enough for the matcher to split them (its tag
order then follows a hash, not the file). Tensor points are kept as the file's own plugin
declarations say, as a lone read keeps them. The tags are coded in the order reading the file alone gives:
length groups shortest first, within one by the first record of each tag, then tags seen only in
the file's last records (which it decodes through the protobuf path).
"""

from __future__ import annotations

import struct
import numpy as np

from .tb_decode import Decoded, empty_decoded
from .tb_fast import PREFIX_BLOCK, SPLIT_MIN, _Slots, match_records
from .tb_records import FOOTER_BYTES, FRAME_BYTES, HEADER_BYTES, Framing, byte_views, frame_records, header_crc_ok

# Zero bytes after the last file: the matcher's tail (records it leaves to the protobuf path) then
# falls in the padding, not in the last file.
PADDING = 2 * PREFIX_BLOCK
# Files are walked in lock step (one record of each per step) while at least 1 in this many is
# still being walked; the longest few are then framed one by one.
LOCKSTEP_SHARE = 8
# ... and while at least this many are: a step costs ~10 us whatever the number of files, and a
# 2,000-record file framed alone (the predicted walk) ~2 ms, so its 2,000 steps pay only when shared
# by about ten files (4 files walked in lock step cost 2.5x framing each alone; 32 files, half).
LOCKSTEP_MIN_FILES = 12


def decode_files(data: list[bytes]) -> list[Decoded | None]:
    """Each file's decoded points (as :func:`parsers.tb_fast.decode_fast` on it alone gives them,
    with ``records`` relative to the file), or None for a file to be read alone."""
    sizes = [len(d) for d in data]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if data else np.empty(0, np.int64)
    ends = starts + np.asarray(sizes, dtype=np.int64)
    buf = b"".join(data) + bytes(PADDING)
    framing = _frame_files(buf, data, starts, ends)
    offsets, lengths = framing.offsets, framing.lengths.astype(np.int64)
    n = len(offsets)
    out: list[Decoded | None] = [None] * len(data)
    if not n:
        return out
    rec_start = offsets - HEADER_BYTES
    rec_end = offsets + lengths + FOOTER_BYTES
    # records of each file: [first[k], last[k]) by where they start
    first = np.searchsorted(rec_start, starts, side="left")
    last = np.searchsorted(rec_start, ends, side="left")
    # a file is tiled when its records run back to back from its first byte to its last
    gaps = np.concatenate(([0], np.cumsum(rec_start[1:] != rec_end[:-1])))
    slots = _Slots(n, plugins=True)
    dec = empty_decoded()
    tag_index, fallback = match_records(buf, framing, slots, dec)
    # records neither matched nor skipped cleanly: the protobuf path's (left to a file read alone)
    odd = np.zeros(n + 1, dtype=np.int64)
    if fallback:
        odd[1:] = np.cumsum(np.bincount(np.asarray(fallback, dtype=np.int64), minlength=n) > 0)
    names = list(tag_index)
    plugin_names = [""] + list(slots.plugin_names)
    for k in range(len(data)):
        a, b = int(first[k]), int(last[k])
        if b <= a or rec_start[a] != starts[k] or rec_end[b - 1] != ends[k]:
            continue
        if gaps[b - 1] - gaps[a] or odd[b] - odd[a]:
            continue
        if lengths[a] < 9 or buf[int(offsets[a])] != 0x09:
            continue  # no wall time on the first event: the protobuf path decides what it is
        out[k] = _file_points(buf, slots, names, plugin_names, offsets, lengths, a, b, int(starts[k]),
                              int(ends[k]))
    return out


def _frame_files(buf: bytes, data: list[bytes], starts: np.ndarray, ends: np.ndarray) -> Framing:
    """The records of every file whose length fields lead from its first byte exactly to its last
    through headers whose CRCs hold (what its own framing finds, without damage); the records of
    other files are left out.

    Following length fields is sequential within a file but independent across files, so all files
    are walked in lock step, one record of each per NumPy step. Once few files are left (the longest
    runs), each of those is framed alone instead of paying a step per record for a handful.
    """
    views = byte_views(buf)
    u64 = views["u64"]
    m = len(data)
    whole = np.zeros(m, dtype=bool)  # the walk ended exactly at the file's end
    found: list[np.ndarray] = []
    ids = np.flatnonzero(ends > starts)  # files still being walked, their positions and ends
    pos, end = starts[ids], ends[ids]
    if len(ids) >= LOCKSTEP_MIN_FILES:  # as far as each file repeats the longest one's record lengths, at once
        known, pos = _template_prefix(u64, data, ids, pos, end)
        found.append(known)
        done = pos == end
        whole[ids[done]] = True
        ids, pos, end = ids[~done], pos[~done], end[~done]
    while len(ids) >= LOCKSTEP_MIN_FILES and len(ids) * LOCKSTEP_SHARE >= m:
        found.append(pos)  # a file whose walk fails is dropped whole below
        # a garbage length is clipped to one that never fits (and never overflows)
        nxt = pos + FRAME_BYTES + np.minimum(u64[pos], np.uint64(1 << 40)).astype(np.int64)
        going = nxt < end
        if going.all():
            pos = nxt
            continue
        whole[ids[nxt == end]] = True
        ids, pos, end = ids[going], nxt[going], end[going]
    active = ids
    # found step by step (one record of each file per step): in file order once sorted
    starts_found = np.sort(np.concatenate(found)) if found else np.empty(0, np.int64)
    if len(active):  # the few longest files: framed one by one
        owner = np.searchsorted(starts, starts_found, side="right") - 1
        starts_found = starts_found[~np.isin(owner, active)]
        alone = []
        for k in active.tolist():
            framing = frame_records(data[k])
            if framing.damage or not len(framing.offsets):
                continue
            if int(framing.offsets[-1]) + int(framing.lengths[-1]) + FOOTER_BYTES != len(data[k]):
                continue
            whole[k] = True
            alone.append(framing.offsets.astype(np.int64) - HEADER_BYTES + int(starts[k]))
        starts_found = np.sort(np.concatenate([starts_found, *alone]))
    owner = np.searchsorted(starts, starts_found, side="right") - 1
    rec = starts_found[whole[owner]]
    if len(rec):
        owner = np.searchsorted(starts, rec, side="right") - 1
        length = u64[rec]
        bad = np.unique(owner[~header_crc_ok(views, rec, length)])
        if len(bad):
            rec = rec[~np.isin(owner, bad)]
    length = u64[rec].astype(np.int64)
    offsets = rec + HEADER_BYTES
    lengths = length.astype(np.int32 if not len(length) or int(length.max()) < (1 << 31) else np.int64)
    stored = views["u32"][offsets + length] if len(rec) else np.empty(0, np.uint32)
    return Framing(offsets, lengths, stored)


def _template_prefix(u64: np.ndarray, data: list[bytes], ids: np.ndarray, first: np.ndarray, last: np.ndarray,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The record starts each file ``[first, last)`` shares with the longest of them, from its first
    byte up to the first record whose length differs, and where each file's walk goes on from.

    Runs written by the same code log the same record lengths in the same order (one event per tag
    per step), so the longest file's walk predicts the others' record by record: every predicted
    start is checked by reading the length field there, and a file's prefix of correct predictions
    is exactly what following its own length fields finds (each start is the previous record's end).
    One gather checks every file's predictions at once instead of a lock step per record.
    """
    t = int(ids[np.argmax(last - first)])
    framing = frame_records(data[t])
    if not len(framing.offsets):
        return np.empty(0, np.int64), first
    rel = framing.offsets.astype(np.int64) - HEADER_BYTES
    lengths = framing.lengths.astype(np.uint64)
    rec_end = rel + FRAME_BYTES + framing.lengths.astype(np.int64)
    counts = np.searchsorted(rec_end, last - first, side="right")  # predicted records inside each file
    total = int(counts.sum())
    if not total:
        return np.empty(0, np.int64), first
    file_of = np.repeat(np.arange(len(first)), counts)
    k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    at = first[file_of] + rel[k]
    bad = np.flatnonzero(u64[at] != lengths[k])
    stop = counts.copy()  # each file's first wrong prediction (or all of them right)
    if len(bad):
        owners, first_bad = np.unique(file_of[bad], return_index=True)
        stop[owners] = k[bad[first_bad]]
    known = at[k < stop[file_of]]
    walked = np.where(stop > 0, rec_end[np.maximum(stop - 1, 0)], 0)
    return known, first + walked


def _file_points(
    buf: bytes, slots: _Slots, names: list[str], plugin_names: list[str], offsets: np.ndarray,
    lengths: np.ndarray, a: int, b: int, start: int, end: int,
) -> Decoded | None:
    """File ``[start, end)``'s points (records ``a..b-1``) with its tags coded as reading it alone codes them."""
    # the file's own tail: records its lone read leaves to the protobuf path (tb_fast.tail_start)
    tail = int(np.searchsorted(offsets[a:b], end - 2 * PREFIX_BLOCK, side="right"))
    if tail > SPLIT_MIN and int(np.unique(lengths[a : a + tail], return_counts=True)[1].max()) > SPLIT_MIN:
        return None  # a crowded length group: the lone read may split it in hash order
    recs = np.flatnonzero(slots.has[a:b])
    codes = slots.codes[a:b][recs]
    lens = lengths[a:b][recs]
    body = recs < tail
    used = np.unique(codes)
    # each tag's first (length, record) among the body records; tail-only tags after, by first record
    key = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(key, codes[body], lens[body] * (1 << 32) + recs[body])
    tail_first = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(tail_first, codes[~body], recs[~body])
    in_body = key[used] != np.iinfo(np.int64).max
    ordered = np.concatenate([used[in_body][np.argsort(key[used][in_body], kind="stable")],
                              used[~in_body][np.argsort(tail_first[used][~in_body], kind="stable")]])
    local = np.empty(len(names), dtype=np.int32)
    local[ordered] = np.arange(len(ordered), dtype=np.int32)
    plugins: dict[str, str] = {}
    declared = slots.plugin[a:b][recs]
    if declared.any():
        pairs = np.unique(np.stack([codes[declared > 0], declared[declared > 0]]), axis=1)
        if len(np.unique(pairs[0])) < pairs.shape[1]:
            return None  # a tag declaring two plugins: which came first decides, as the lone read orders them
        plugins = {names[t]: plugin_names[c] for t, c in pairs.T.tolist()}
    return Decoded(
        tag_names=[names[c] for c in ordered.tolist()],
        codes=local[codes],
        steps=slots.steps[a:b][recs],
        walls=slots.walls[a:b][recs],
        values=slots.values[a:b][recs],
        is_tensor=slots.tensor[a:b][recs],
        records=recs.astype(np.int64),
        plugins=plugins,
        first_wall=struct.unpack_from("<d", buf, int(offsets[a]) + 1)[0],
    )
