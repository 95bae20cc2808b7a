"""Event files with hostile tails (issue #15 item 8): time and peak memory of reading each; and a
growing file read from where the last look stopped (issue #17 item 4).

Run: ``nice -n 10 .venv/bin/python benchmarks/event_tails.py [--zeros-mb 256] [--sparse-gb 2]
[--long-steps 100000 --append-steps 100] [--only-append]``

Appended records: a long run (``--long-steps`` steps of loss, LR and grad norm) in each format a
run is followed in (a TensorBoard event file by tensorboard's EventFileWriter, a Lightning-style
``metrics.csv`` by Python's csv writer, W&B history JSON lines, a build-nanogpt-style console log);
each trial appends ``--append-steps`` more with the same writer, then times
:class:`parsers.tail.TailReader` (reads only what was appended since its last look, merged into the
run it holds) against ``parsers.load`` of the same folder (the whole file again). Both give the same
scalars (checked). ``--repo`` measures another checkout's readers (e.g. one before a change).

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


class _Writer:
    """A training run's log in one format, grown by its own writer (``append(n)`` writes ``n`` more steps)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.step = 0
        folder.mkdir(parents=True)

    def values(self) -> tuple[float, float, float]:
        return 2.0 / (1 + self.step * 1e-3), 1e-3, 1.0 + (self.step % 7) * 0.01

    def close(self) -> None:
        pass


class _TensorBoard(_Writer):
    """tensorboard's EventFileWriter (what SummaryWriter writes through)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.writer = EventFileWriter(str(folder), max_queue_size=1000)

    def append(self, n: int) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        for _ in range(n):
            loss, lr, norm = self.values()
            values = [Summary.Value(tag="train/loss", simple_value=loss), Summary.Value(tag="lr", simple_value=lr),
                      Summary.Value(tag="grad_norm", simple_value=norm)]
            self.writer.add_event(Event(wall_time=1.7e9 + self.step, step=self.step, summary=Summary(value=values)))
            self.step += 1
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class _LightningCsv(_Writer):
    """Python's csv writer, as Lightning's CSVLogger writes metrics.csv."""

    def append(self, n: int) -> None:
        import csv

        with open(self.folder / "metrics.csv", "a", newline="") as fh:
            writer = csv.writer(fh)
            if self.step == 0:
                writer.writerow(["epoch", "step", "train_loss", "lr", "grad_norm"])
            for _ in range(n):
                loss, lr, norm = self.values()
                writer.writerow([self.step // 1000, self.step, f"{loss:.6f}", lr, norm])
                self.step += 1


class _WandbHistory(_Writer):
    """W&B history records as JSON lines (``_step``, ``_runtime``, ``_timestamp`` and the metrics)."""

    def append(self, n: int) -> None:
        import json

        with open(self.folder / "run_history.jsonl", "a") as fh:
            for _ in range(n):
                loss, lr, norm = self.values()
                fh.write(json.dumps({"train/loss": loss, "train/lr": lr, "train/grad_norm": norm, "_step": self.step,
                                     "_runtime": self.step * 0.1, "_timestamp": 1.7e9 + self.step * 0.1}) + "\n")
                self.step += 1


class _Console(_Writer):
    """A console log as build-nanogpt prints it (``step N | loss: ... | lr ... | norm: ... | dt: ...ms``)."""

    def append(self, n: int) -> None:
        with open(self.folder / "train.log", "a") as fh:
            for _ in range(n):
                loss, lr, norm = self.values()
                fh.write(f"step {self.step:5d} | loss: {loss:.6f} | lr {lr:.4e} | norm: {norm:.4f} | "
                         f"dt: {412.5 + self.step % 9:.2f}ms | tok/sec: {1271000.0 + self.step % 13:.2f}\n")
                self.step += 1


WRITERS: dict[str, type[_Writer]] = {
    "TensorBoard event file": _TensorBoard,
    "metrics.csv (Lightning)": _LightningCsv,
    "W&B history JSONL": _WandbHistory,
    "console text log": _Console,
}


def measure_append(root: Path, long_steps: int, append_steps: int, repo: Path = REPO,
                   only: list[str] | None = None) -> None:
    """Print, per format, the time of a look after a small append: :class:`parsers.tail.TailReader`
    (what the app and ``lrdoctor watch`` do) against ``parsers.load`` of the same folder (the whole
    file again), as a ratio measured in the same run; both give the same scalars (checked)."""
    import time

    import pandas as pd

    sys.path.insert(0, str(repo))
    import parsers
    from parsers.tail import TailReader

    print(f"\nlong run of {long_steps:,} steps (3 metrics), +{append_steps} steps per look, "
          f"median of {APPEND_TRIALS} looks; reader: {repo}")
    print(f"{'format':<26}{'MB':>6}{'whole s':>10}{'look s':>10}{'whole/look':>12}  looks resumed/whole")
    for name, kind in WRITERS.items():
        if only and not any(o.lower() in name.lower() for o in only):
            continue
        writer = kind(root / name.split()[0].replace("&", ""))
        writer.append(long_steps)
        size = sum(f.stat().st_size for f in writer.folder.rglob("*") if f.is_file())
        reader = TailReader()
        reader.load(writer.folder)
        looks_before = (reader.resumed, reader.whole)
        tail_s, whole_s = [], []
        for _ in range(APPEND_TRIALS):
            writer.append(append_steps)
            t = time.perf_counter()
            held = reader.load(writer.folder)
            tail_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            full = parsers.load(writer.folder)
            whole_s.append(time.perf_counter() - t)
            pd.testing.assert_frame_equal(held[0].scalars, full[0].scalars)
        writer.close()
        tail, whole = sorted(tail_s)[len(tail_s) // 2], sorted(whole_s)[len(whole_s) // 2]
        print(f"{name:<26}{size / 1e6:>6.1f}{whole:>10.4f}{tail:>10.4f}{whole / tail:>11.0f}x  "
              f"{reader.resumed - looks_before[0]}/{reader.whole - looks_before[1]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zeros-mb", type=int, default=256)
    ap.add_argument("--sparse-gb", type=int, default=2)
    ap.add_argument("--long-steps", type=int, default=100_000)
    ap.add_argument("--append-steps", type=int, default=100)
    ap.add_argument("--only-append", action="store_true", help="measure only the appended-records case")
    ap.add_argument("--formats", nargs="*", help="appended-records case: only these formats (tensorboard, csv, ...)")
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout whose reader is measured")
    args = ap.parse_args(argv)
    if args.only_append:
        with tempfile.TemporaryDirectory(prefix="event_tails_") as tmp:
            measure_append(Path(tmp), args.long_steps, args.append_steps, args.repo, args.formats)
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
        measure_append(Path(tmp), args.long_steps, args.append_steps, args.repo, args.formats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
