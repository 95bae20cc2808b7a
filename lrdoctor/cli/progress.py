"""The CLI's progress bar: tqdm on stderr, silent when stderr is not a terminal or with ``--quiet``."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from lrdoctor.fleet.execute import Progress


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress | None]:
    """A ``progress(done, total, what)`` callback (the fleet executor's) drawing a bar on stderr.

    ``None`` (no bar, no tqdm import) when ``quiet`` or when stderr is not a terminal: pipelines
    and CI logs keep their stderr for warnings and errors.
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    class _Bar(tqdm):
        # No monitor thread (the bar is redrawn on every update anyway): the fleet forks its pool
        # workers only from a single-threaded process, which starts them at once.
        monitor_interval = 0

    bar = _Bar(desc="analysing", unit="run", file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(done: int, total: int, what: str) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.set_postfix_str(str(what)[-40:], refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
