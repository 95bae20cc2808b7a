"""Proof that nothing wrote to the user's files: a digest of every file under some folders, the
same before and after (the house rule: user log files are never written to). Imported as
``tests.untouched``."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_digest(*roots: str | Path) -> dict[str, tuple[str, float]]:
    """``{path: (sha256 of its bytes, modification time)}`` of every file under ``roots``."""
    out = {}
    for root in roots:
        for f in sorted(Path(root).rglob("*")):
            if f.is_file():
                out[str(f)] = (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime)
    return out
