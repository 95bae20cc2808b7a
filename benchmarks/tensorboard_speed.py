"""Speed and memory of the TensorBoard reader against tbparse and EventAccumulator.

Run: ``.venv/bin/python benchmarks/tensorboard_speed.py [--points 1000000] [--small 100000]``

Files are generated with tensorboard's own ``EventFileWriter`` (one scalar per event, as
PyTorch's SummaryWriter writes them), in both encodings: legacy ``simple_value`` and
rank-0 float tensors of the ``scalars`` plugin (TF2 / ``new_style``). They are cached in
``--cache`` (generation takes about a minute per million points: tensorboard's writer
computes CRCs in pure Python).

Our time is the best of three runs (the machine may be shared; the minimum is the
least disturbed measurement); tbparse and EventAccumulator run once.
tbparse needs tens of seconds per million points, so by default it is timed on a
smaller file of the same kind (``--small`` points) and the ratio is per point; the table
says so. EventAccumulator runs with ``size_guidance={'scalars': 0, 'tensors': 0}`` (keep
everything), then ``Reload()`` and reading every tag's ``Scalars``/``Tensors``.
Our time is ``parsers.load(file)`` (sniff, read, merge, roles). Peak memory of our
reader is measured with tracemalloc in a fresh subprocess (imports and the CRC table
done before tracing starts) and compared with the file size plus three times the final
DataFrame (``memory_usage(deep=True)``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TRAIN_TAGS = ("train/loss", "train/lr", "train/grad_norm")
VAL_TAGS = ("val/loss", "val/acc")
VAL_EVERY = 50  # validation points every this many steps, as a training loop would log them
WALL_START = 1.7e9


def generate(path: Path, points: int, encoding: str) -> Path:
    """Write an event file of ``points`` scalars with tensorboard's EventFileWriter."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.types_pb2 import DT_FLOAT
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    path.mkdir(parents=True, exist_ok=True)
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    rng = np.random.default_rng(0)
    writer = EventFileWriter(str(path), max_queue_size=10_000, flush_secs=3600)
    written = step = 0
    while written < points:
        tags = TRAIN_TAGS + (VAL_TAGS if step % VAL_EVERY == 0 else ())
        wall = WALL_START + 0.05 * step
        for tag in tags:
            if written >= points:
                break
            v = float(rng.standard_normal())
            if encoding == "simple_value":
                value = Summary.Value(tag=tag, simple_value=v)
            else:
                value = Summary.Value(tag=tag, tensor=TensorProto(dtype=DT_FLOAT, float_val=[v]), metadata=meta)
            writer.add_event(Event(wall_time=wall, step=step, summary=Summary(value=[value])))
            written += 1
        step += 1
    writer.close()
    return next(path.glob("*tfevents*"))


def ensure_file(cache: Path, points: int, encoding: str) -> Path:
    """The cached generated file for (points, encoding), generating it when missing."""
    folder = cache / f"{encoding}_{points}"
    done = folder / "DONE"
    if done.exists():
        return next(folder.glob("*tfevents*"))
    if folder.exists():
        for f in folder.iterdir():
            f.unlink()
    print(f"generating {points:,} {encoding} points in {folder} ...", flush=True)
    f = generate(folder, points, encoding)
    done.write_text("ok")
    return f


OUR_REPEATS = 3  # best of 3, as timeit does: the machine is shared, the minimum is the signal


def time_ours(path: Path) -> tuple[float, int]:
    """``parsers.load`` on the file: sniffing, reading, merging, roles (what a user calls)."""
    import parsers

    best = float("inf")
    for _ in range(OUR_REPEATS):
        gc.collect()
        t = time.perf_counter()
        (run,) = parsers.load(path)
        best = min(best, time.perf_counter() - t)
        n = len(run.scalars)
        del run
    return best, n


def time_tbparse(path: Path, encoding: str) -> tuple[float, int]:
    from tbparse import SummaryReader

    gc.collect()
    t = time.perf_counter()
    reader = SummaryReader(str(path))
    df = reader.scalars if encoding == "simple_value" else reader.tensors
    return time.perf_counter() - t, len(df)


def time_event_accumulator(path: Path, encoding: str) -> tuple[float, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gc.collect()
    t = time.perf_counter()
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    n = 0
    if encoding == "simple_value":
        for tag in acc.Tags()["scalars"]:
            n += len(acc.Scalars(tag))
    else:
        for tag in acc.Tags()["tensors"]:
            n += len(acc.Tensors(tag))
    return time.perf_counter() - t, n


_MEMORY_PROBE = """
import json, sys, tracemalloc
sys.path.insert(0, {repo!r})
import parsers, parsers.tensorboard, parsers.tb_fast, parsers.tb_records, parsers.tb_decode
parsers.readers()
parsers.tb_records.shift_tables()
tracemalloc.start()
(run,) = parsers.load({path!r})
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({{"peak": peak, "df": int(run.scalars.memory_usage(deep=True).sum()), "rows": len(run.scalars)}}))
"""


def memory_ours(path: Path) -> dict:
    """Peak traced memory of reading ``path`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE.format(repo=str(REPO), path=str(path))],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="points per big file (each encoding)")
    ap.add_argument("--small", type=int, default=100_000, help="points of the file tbparse is timed on")
    ap.add_argument("--ea-small", action="store_true", help="time EventAccumulator on the small file too")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/lrdoctor_tb_bench"))
    args = ap.parse_args(argv)

    rows = []
    for encoding in ("simple_value", "tensor"):
        big = ensure_file(args.cache, args.points, encoding)
        small = ensure_file(args.cache, args.small, encoding) if args.small < args.points else big
        ours_s, ours_n = time_ours(big)
        ours_small_s, ours_small_n = time_ours(small)
        tbp_s, tbp_n = time_tbparse(small, encoding)
        ea_file = small if args.ea_small else big
        ea_s, ea_n = time_event_accumulator(ea_file, encoding)
        mem = memory_ours(big)
        size = big.stat().st_size
        rows.append(
            dict(
                encoding=encoding,
                points=ours_n,
                size=size,
                ours_s=ours_s,
                ours_rate=ours_n / ours_s,
                tbp_file=tbp_n,
                tbp_s=tbp_s,
                tbp_ratio=(tbp_s / tbp_n) / (ours_small_s / ours_small_n),
                ea_n=ea_n,
                ea_s=ea_s,
                ea_ratio=(ea_s / ea_n) / ((ours_s / ours_n) if ea_file == big else (ours_small_s / ours_small_n)),
                peak=mem["peak"],
                budget=size + 3 * mem["df"],
            )
        )

    print()
    print(f"TensorBoard reader benchmark ({args.points:,} points per encoding; tbparse timed on "
          f"{args.small:,}-point files, ratios per point against our time on the same file)")
    print(f"ours: best of {OUR_REPEATS} runs of parsers.load; tbparse and EventAccumulator: one run each; "
          f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    head = (f"{'encoding':<13}{'points':>10}{'file MB':>9}{'ours s':>8}{'pts/s':>12}"
            f"{'tbparse s':>11}{'(pts)':>9}{'x faster':>10}{'EA s':>8}{'(pts)':>10}{'x faster':>10}"
            f"{'peak MB':>9}{'budget MB':>11}{'peak/budget':>12}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['encoding']:<13}{r['points']:>10,}{r['size'] / 1e6:>9.1f}{r['ours_s']:>8.2f}"
            f"{r['ours_rate']:>12,.0f}{r['tbp_s']:>11.2f}{r['tbp_file']:>9,}{r['tbp_ratio']:>10.1f}"
            f"{r['ea_s']:>8.2f}{r['ea_n']:>10,}{r['ea_ratio']:>10.1f}"
            f"{r['peak'] / 1e6:>9.1f}{r['budget'] / 1e6:>11.1f}{r['peak'] / r['budget']:>12.2f}"
        )
    print("budget = file size + 3 x final DataFrame; targets: >=20x tbparse, >=10x EventAccumulator, "
          ">=1M pts/s, peak/budget <= 1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
