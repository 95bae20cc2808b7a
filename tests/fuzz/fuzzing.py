"""Shared machinery of the fuzzers: seeds from real logs, byte mutations, example budgets.

The default test run is a smoke run (a few examples per target, seconds in total); set
``LRDOCTOR_FUZZ_EXAMPLES=N`` for N examples per target (e.g. 2000 for a long run).
"""

from __future__ import annotations

import os
from functools import partial

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import parsers
from tests.timeouts import time_limit

# Examples per target in the default (smoke) run: enough to exercise every mutation kind.
SMOKE_EXAMPLES = 3
EXAMPLES = int(os.environ.get("LRDOCTOR_FUZZ_EXAMPLES", SMOKE_EXAMPLES))
# Seconds one example may take before it counts as a hang (a real file loads in well under one).
HANG_SECONDS = 20
# Seed files are cut to this many bytes: mutations matter more than length, and small files are fast.
SEED_BYTES = 48 * 1024
# Warnings that mean an exception escaped a reader or the analyzer and was caught by a boundary.
ESCAPE_MARKERS = ("reader failed", "not read: ", "run not assembled", "sniffer", "the analysis failed")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES == SMOKE_EXAMPLES,  # the smoke run is the same every time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large],
    database=None,
)

# Byte strings that probe the parsers' edges: numbers that overflow, non-finite spellings,
# deep nesting, binary zeros, line ends of every kind, YAML aliases.
TOKENS = [b"nan", b"-inf", b"1e400", b"-1e-400", b"-5", b"9" * 40, b"0x1p3", b"[" * 3000, b"{" * 50,
          b'{"a":' * 2000, b"\x00" * 64, b"\r", b"\n", b"\r\n", b"\xff\xfe", b",", b"\t", b'"',
          b"&a [*a]", b"*a", b"\x1b[2J", "\u202e".encode()]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after a few random edits: flips, inserts (random or edge tokens), deletions, cuts, copies."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "token", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 256))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            size = draw(st.integers(1, 512))
            data[at:at] = data[at:at + size]
    return bytes(data)


# ``with no_hang():`` around one example: a hang fails that example (hypothesis then shows its bytes).
no_hang = partial(time_limit, HANG_SECONDS)


def check_loaded(runs: parsers.RunList) -> None:
    """What every load must give, whatever the bytes: valid runs, and one-line warnings with no escape."""
    for run in runs:
        parsers.validate_scalars(run.scalars)
    for warning in runs.all_warnings():
        text = str(warning)
        assert "\n" not in warning.message, text
        assert not any(marker in text for marker in ESCAPE_MARKERS), f"escaped exception: {text}"
