"""A log still being written: its last line may be cut mid-number.

A training process appends a line at a time; a reader that arrives between two writes
sees the last line without its line end, and ``0.6703`` cut to ``0`` would read as a loss
of 0. Such a line is dropped with a warning, in every line-based reader.
"""

from __future__ import annotations

import os
from pathlib import Path

# Bytes read from the end to find the last line's content (a line end further back means
# the unterminated tail is longer than this, which is still a cut line).
TAIL_BYTES = 4096
CUT_LINE_MESSAGE = "the last line has no line end (file still being written, or cut short): skipped"


def last_line_is_cut(path: Path) -> bool:
    """True when the file's last line holds text but no line end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return False
            fh.seek(max(size - TAIL_BYTES, 0))
            tail = fh.read()
    except OSError:
        return False
    if tail.endswith((b"\n", b"\r")):
        return False
    last = tail.rsplit(b"\n", 1)[-1].rsplit(b"\r", 1)[-1]
    return bool(last.strip())
