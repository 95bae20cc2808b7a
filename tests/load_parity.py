"""The tail readers' contract: what a reader that follows growing files holds is exactly what
``parsers.load`` gives on the files as they are now. Imported as ``tests.load_parity``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import parsers


def assert_same_as_load(held: parsers.RunList, root: Path) -> None:
    """``held`` has the runs, points, metadata, roles, files, restarts and warnings of ``parsers.load(root)``."""
    full = parsers.load(root)
    assert [r.key for r in held] == [r.key for r in full]
    for mine, theirs in zip(held, full):
        pd.testing.assert_frame_equal(mine.scalars, theirs.scalars)
        assert (mine.meta, mine.warnings, mine.roles, mine.files, mine.overlaps) == (
            theirs.meta, theirs.warnings, theirs.roles, theirs.files, theirs.overlaps)
    assert [str(w) for w in held.all_warnings()] == [str(w) for w in full.all_warnings()]
