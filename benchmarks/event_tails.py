"""Event files with hostile tails (issue #15 item 8): time and peak memory of reading each; and a
growing file read from where the last look stopped (issue #17 item 4).

Run: ``nice -n 10 .venv/bin/python benchmarks/event_tails.py [--zeros-mb 256] [--sparse-gb 2]
[--long-steps 100000 --append-steps 100] [--only-append]``

Appended records: a long run (``--long-steps`` events of loss, LR and grad norm) written by
tensorboard's EventFileWriter; each trial appends ``--append-steps`` more with the same writer,
then times :class:`parsers.tail.TailReader` (reads only the bytes after the last record it read,
merges them into the run it holds) against ``parsers.load`` of the same folder (the whole file
again, what the app and ``lrdoctor watch`` did before). Both give the same scalars (checked). The
same for a Lightning-style ``metrics.csv`` grown by Python's csv writer.

Each case is a 2,000-point file written by tensorboard's EventFileWriter in a temporary
folder, then damaged: a zero-filled tail, a sparse tail (``truncate``: no disk space), and a
record header claiming 4 GiB with a valid length CRC in the middle. Each is read in a fresh
process (``read_file``) with a time limit; the table gives seconds, tracemalloc's peak, the
peak RSS, the points read and the warning.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POINTS = 2000
TIME_LIMIT_S = 120

_PROBE = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {repo!r})
from parsers.tensorboard import read_file
from parsers import tb_records
tb_records.shift_tables()
tracemalloc.start()
t = time.perf_counter()
run = read_file(__import__('pathlib').Path({path!r}))
print(json.dumps({{"s": time.perf_counter() - t, "traced": tracemalloc.get_traced_memory()[1],
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "points": len(run.scalars), "warnings": run.warnings}}))
"""


def write(folder: Path) -> Path:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True)
    writer = EventFileWriter(str(folder))
    for i in range(POINTS):
        value = Summary.Value(tag="train/loss", simple_value=1.0 / (i + 1))
        writer.add_event(Event(wall_time=1.7e9 + i, step=i, summary=Summary(value=[value])))
    writer.close()
    return next(folder.glob("*tfevents*"))


def make_cases(root: Path, zeros_mb: int, sparse_gb: int) -> dict[str, Path]:
    sys.path.insert(0, str(REPO))
    from parsers.tb_records import crc32c, frame_records, mask_crc

    cases = {}
    f = write(root / "zeros")
    with open(f, "ab") as fh:
        for _ in range(zeros_mb):
            fh.write(bytes(1 << 20))
    cases[f"zero-filled tail, {zeros_mb} MB"] = f
    f = write(root / "sparse")
    with open(f, "r+b") as fh:
        fh.truncate(sparse_gb << 30)
    cases[f"sparse tail, {sparse_gb} GB"] = f
    f = write(root / "header")
    data = f.read_bytes()
    starts = frame_records(data).offsets - 12
    at = int(starts[len(starts) // 2])
    header = struct.pack("<Q", 4 << 30)
    header += struct.pack("<I", mask_crc(crc32c(header)))
    f.write_bytes(data[:at] + header + data[at:])
    cases["header claiming 4 GiB mid-file"] = f
    return cases


APPEND_TRIALS = 5


def measure_append(root: Path, long_steps: int, append_steps: int) -> None:
    """Print the time of reading a long run after a small append: only the appended records vs all."""
    import time

    import pandas as pd
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    sys.path.insert(0, str(REPO))
    import parsers
    from parsers.tail import TailReader

    folder = root / "long_run"
    writer = EventFileWriter(str(folder), max_queue_size=1000)
    step = 0

    def append(n: int) -> None:
        nonlocal step
        for _ in range(n):
            values = [Summary.Value(tag="train/loss", simple_value=2.0 / (1 + step * 1e-3)),
                      Summary.Value(tag="lr", simple_value=1e-3), Summary.Value(tag="grad_norm", simple_value=1.0)]
            writer.add_event(Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=values)))
            step += 1
        writer.flush()

    t = time.perf_counter()
    append(long_steps)
    written = time.perf_counter() - t
    size = sum(f.stat().st_size for f in folder.iterdir())
    reader = TailReader()
    reader.load(folder)
    tail_s, whole_s = [], []
    for _ in range(APPEND_TRIALS):
        append(append_steps)
        t = time.perf_counter()
        held = reader.load(folder)
        tail_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        full = parsers.load(folder)
        whole_s.append(time.perf_counter() - t)
        pd.testing.assert_frame_equal(held[0].scalars, full[0].scalars)
    writer.close()
    tail, whole = sorted(tail_s)[len(tail_s) // 2], sorted(whole_s)[len(whole_s) // 2]
    print(f"\nlong run: {long_steps:,} steps x 3 tags ({size / 1e6:.1f} MB, written in {written:.0f} s), "
          f"+{append_steps} steps per look, median of {APPEND_TRIALS}")
    print(f"{'read after the append':<44}{'seconds':>10}")
    print(f"{'parsers.load (the whole file again)':<44}{whole:>10.4f}")
    print(f"{'TailReader.load (appended records only)':<44}{tail:>10.4f}")
    print(f"{'ratio whole / appended-only':<44}{whole / tail:>9.0f}x  (same scalars: checked)")
    print(f"resumed {reader.resumed} times, read whole {reader.whole} time(s)")


def measure_csv_append(root: Path, long_steps: int, append_steps: int) -> None:
    """The same for a Lightning-style ``metrics.csv`` written with Python's csv writer (CSVLogger's)."""
    import csv
    import time

    import pandas as pd

    sys.path.insert(0, str(REPO))
    import parsers
    from parsers.tail import TailReader

    folder = root / "long_csv" / "version_0"
    folder.mkdir(parents=True)
    path = folder / "metrics.csv"
    step = 0

    def append(n: int) -> None:
        nonlocal step
        with open(path, "a", newline="") as fh:
            writer = csv.writer(fh)
            if step == 0:
                writer.writerow(["epoch", "step", "train_loss", "lr", "grad_norm"])
            for _ in range(n):
                writer.writerow([step // 1000, step, f"{2.0 / (1 + step * 1e-3):.6f}", 1e-3, 1.0])
                step += 1

    append(long_steps)
    reader = TailReader()
    reader.load(folder)
    tail_s, whole_s = [], []
    for _ in range(APPEND_TRIALS):
        append(append_steps)
        t = time.perf_counter()
        held = reader.load(folder)
        tail_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        full = parsers.load(folder)
        whole_s.append(time.perf_counter() - t)
        pd.testing.assert_frame_equal(held[0].scalars, full[0].scalars)
    tail, whole = sorted(tail_s)[len(tail_s) // 2], sorted(whole_s)[len(whole_s) // 2]
    print(f"\nmetrics.csv: {long_steps:,} rows x 3 metrics ({path.stat().st_size / 1e6:.1f} MB), "
          f"+{append_steps} rows per look, median of {APPEND_TRIALS}")
    print(f"{'parsers.load (the whole file again)':<44}{whole:>10.4f}")
    print(f"{'TailReader.load (appended lines parsed only)':<44}{tail:>10.4f}")
    print(f"{'ratio whole / appended-only':<44}{whole / tail:>9.0f}x  (same scalars: checked; the held table")
    print(f"{'':<44}{'':>10}   is turned into scalars again on each look)")
    print(f"resumed {reader.resumed} times, read whole {reader.whole} time(s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zeros-mb", type=int, default=256)
    ap.add_argument("--sparse-gb", type=int, default=2)
    ap.add_argument("--long-steps", type=int, default=100_000)
    ap.add_argument("--append-steps", type=int, default=100)
    ap.add_argument("--only-append", action="store_true", help="measure only the appended-records case")
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout whose reader is measured")
    args = ap.parse_args(argv)
    if args.only_append:
        with tempfile.TemporaryDirectory(prefix="event_tails_") as tmp:
            measure_append(Path(tmp), args.long_steps, args.append_steps)
            measure_csv_append(Path(tmp), args.long_steps, args.append_steps)
        return 0
    with tempfile.TemporaryDirectory(prefix="event_tails_") as tmp:
        cases = make_cases(Path(tmp), args.zeros_mb, args.sparse_gb)
        print(f"{'case':<34}{'seconds':>10}{'traced MB':>11}{'RSS MB':>8}{'points':>8}  warning")
        for name, path in cases.items():
            try:
                out = subprocess.run([sys.executable, "-c", _PROBE.format(repo=str(args.repo), path=str(path))],
                                     capture_output=True, text=True, timeout=TIME_LIMIT_S, check=True)
            except subprocess.TimeoutExpired:
                print(f"{name:<34}{'> ' + str(TIME_LIMIT_S):>10}{'-':>11}{'-':>8}{'-':>8}  did not finish")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            warning = r["warnings"][0].split(": ", 1)[1] if r["warnings"] else "-"
            print(f"{name:<34}{r['s']:>10.2f}{r['traced'] / 1e6:>11.0f}{r['rss'] / 1e6:>8.0f}"
                  f"{r['points']:>5}/{POINTS}  {warning}")
        measure_append(Path(tmp), args.long_steps, args.append_steps)
        measure_csv_append(Path(tmp), args.long_steps, args.append_steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
