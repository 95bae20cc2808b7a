"""The tests' guard against hangs: a body that runs too long fails instead of hanging the run.

Shared by the fuzzers (tests/fuzz, one limit per example) and the hostile-input tests
(tests/parsers); imported as ``tests.timeouts`` (pytest puts the repository on ``sys.path``).
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError (the test or the example fails: a hang) when the body runs longer than
    ``seconds``. Uses SIGALRM, so only in the main thread; the previous handler is put back."""

    def expired(signum, frame):  # noqa: ARG001
        raise TimeoutError(f"hang: no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
