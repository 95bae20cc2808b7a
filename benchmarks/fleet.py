"""Fleet-shape benchmark (issue #14): every ratio against a reference measured in the same run.

Run: ``nice -n 10 .venv/bin/python benchmarks/fleet.py [--only NAME ...] [--scale 0.2]``

The logs are written with the real writers and cached in ``--cache`` (first run: about a
minute, tensorboard's writer computes its CRCs in pure Python):

* TensorBoard: tensorboard's own ``EventFileWriter`` (one scalar per event, as PyTorch's
  ``SummaryWriter`` writes them): 300 run folders x 4 tags x 500 steps, and one run of
  1000 tags x 300 steps. Reference: TensorBoard's Rust data server
  (``tensorboard_data_server``, shipped with the tensorboard pip package), started on the
  folder with ``--reload once --samples-per-plugin scalars=all`` and asked over its gRPC
  API (``ListScalars`` / ``ReadScalars``, as ``tensorboard.data.grpc_provider`` does) until
  every point is readable: end to end, process start included.
* Lightning ``metrics.csv``, 1M rows: the CSVLogger layout (sparse train / lr / val rows,
  columns in first-logged order), written with ``csv.DictWriter`` as Lightning's
  ``_ExperimentWriter`` does. Reference: ``pandas.read_csv`` on the same file.
* W&B history JSONL, 1M rows: ``run.history()``'s frame written with
  ``DataFrame.to_json(orient="records", lines=True)``. Reference: ``pandas.read_json(lines=True)``.
* Peak memory of ``parsers.load`` on each file, in fresh processes (tracemalloc peak, and peak
  RSS above the post-import baseline in a run without tracemalloc), against file size + 2x the
  final DataFrame.
* Analysis: ``analyze`` per run on 2,000-point runs (the 4 tags x 500 steps fleet runs).

Ours is the best of ``--repeats`` runs (the machine is shared: the minimum is the least
disturbed measurement); so is each reference. Sections below are independent benchmarks
(``BENCHMARKS``); add a section as a function returning :class:`Row` objects.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WALL_START = 1.7e9
# Shapes of issue #14's table (scaled by --scale).
FLEET_RUNS, FLEET_TAGS, FLEET_STEPS = 300, 4, 500
WIDE_TAGS, WIDE_STEPS = 1000, 300
TABLE_ROWS = 1_000_000
SERVER_POLL_S = 0.01  # how often the Rust server is asked whether every point is readable
SERVER_TIMEOUT_S = 300


@dataclass
class Row:
    """One line of the table: our time, the reference's, and what is compared."""

    work: str
    ours: float  # seconds (or bytes for memory rows)
    reference_name: str
    reference: float | None
    target: str  # what the ratio must be, in words
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        return None if not self.reference else self.ours / self.reference


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def best_of_pair(ours: Callable[[], object], ref: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Best wall times of ``ours`` and ``ref`` called in turn ``repeats`` times each, and ours' last
    result: taking turns, both meet the same moments of a shared machine (timed one after the
    other, a burst of other work lands on one side and the ratio swings by +-0.3)."""
    best_ours, best_ref, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = ours()
        best_ours = min(best_ours, time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        ref()
        best_ref = min(best_ref, time.perf_counter() - t)
    return best_ours, best_ref, out


# =========================================================================== writers
def _loss_curve(steps: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    n = max(len(steps), 1)
    return (1.5 + 3.0 * (1 + steps / (n / 20)) ** -0.7) * scale * (1 + 0.03 * rng.standard_normal(len(steps)))


def write_tb_run(folder: Path, tags: list[str], steps: int, seed: int) -> None:
    """One run folder written with tensorboard's EventFileWriter, one scalar per event."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    s = np.arange(steps)
    series = {}
    for k, tag in enumerate(tags):
        if tag.endswith("lr"):
            series[tag] = 3e-4 * 0.5 * (1 + np.cos(np.pi * s / steps))
        else:
            series[tag] = _loss_curve(s, rng, 1.0 + 0.01 * k)
    writer = EventFileWriter(str(folder), max_queue_size=100_000, flush_secs=3600)
    for i in range(steps):
        wall = WALL_START + 0.5 * i
        for tag in tags:
            value = Summary.Value(tag=tag, simple_value=float(series[tag][i]))
            writer.add_event(Event(wall_time=wall, step=i, summary=Summary(value=[value])))
    writer.close()


def ensure(folder: Path, make: Callable[[Path], None]) -> Path:
    """``folder`` made by ``make`` once (a DONE marker says it is complete)."""
    if (folder / "DONE").exists():
        return folder
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"writing {folder} ...", file=sys.stderr, flush=True)
    make(folder)
    (folder / "DONE").write_text("ok")
    return folder


def make_fleet(root: Path, runs: int) -> None:
    tags = ["train/loss", "train/lr", "train/grad_norm", "val/loss"]
    for r in range(runs):
        write_tb_run(root / f"run_{r:04d}", tags, FLEET_STEPS, seed=r)


def make_wide(root: Path, tags: int, steps: int) -> None:
    names = ["train/loss", "train/lr"] + [f"layer_{i:04d}/grad_norm" for i in range(tags - 2)]
    write_tb_run(root / "wide_run", names, steps, seed=1)


def make_lightning_csv(root: Path, rows: int) -> Path:
    """A CSVLogger ``metrics.csv``: per step a train row; an lr row every 10; a val row every 500."""
    version = root / "lightning_logs" / "version_0"
    version.mkdir(parents=True)
    rng = np.random.default_rng(0)
    records: list[dict] = []
    step = 0
    loss = _loss_curve(np.arange(rows), rng)
    while len(records) < rows:
        records.append({"train_loss": float(loss[len(records)]), "epoch": step // 5000, "step": step})
        if step % 10 == 0 and len(records) < rows:
            records.append({"lr-AdamW": 3e-4 * 0.5 * (1 + np.cos(np.pi * step / rows)), "step": step})
        if step % 500 == 0 and len(records) < rows:
            records.append({"val_loss": float(loss[len(records)]) * 1.05, "epoch": step // 5000, "step": step})
        step += 1
    keys: list[str] = []
    for rec in records:  # Lightning's _ExperimentWriter: keys in first-logged order
        keys.extend(k for k in rec if k not in keys)
    with open(version / "metrics.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(records)
    (version / "hparams.yaml").write_text("lr: 0.0003\nbatch_size: 64\n")
    return version / "metrics.csv"


def make_wandb_jsonl(root: Path, rows: int) -> Path:
    """``run.history()`` of a long run written as JSON lines (sparse val column)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    steps = np.arange(rows)
    val = np.full(rows, np.nan)
    val[::500] = _loss_curve(steps, rng)[::500] * 1.05
    frame = pd.DataFrame({
        "_step": steps,
        "_runtime": steps * 0.5 + 1.0,
        "_timestamp": WALL_START + steps * 0.5,
        "train/loss": _loss_curve(steps, rng),
        "train/lr": 3e-4 * 0.5 * (1 + np.cos(np.pi * steps / rows)),
        "val/loss": val,
        "epoch": steps // 5000,
    })
    path = root / "run_abc123_history.jsonl"
    frame.to_json(path, orient="records", lines=True)
    return path


# =========================================================================== references
def rust_server_binary() -> Path:
    """The ``server`` binary of the tensorboard-data-server package."""
    import tensorboard_data_server

    return Path(tensorboard_data_server.server_binary())


def time_rust_server(logdir: Path, expected_points: int) -> float:
    """Start the Rust data server on ``logdir``; seconds until every scalar point is readable."""
    import grpc
    from tensorboard.data.proto import data_provider_pb2, data_provider_pb2_grpc

    with tempfile.TemporaryDirectory(prefix="fleet_bench_server_") as tmp:
        port_file = Path(tmp) / "port"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(rust_server_binary()), f"--logdir={logdir}", "--reload=once",
             "--samples-per-plugin=scalars=all", "--port=0", f"--port-file={port_file}", "--die-after-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while not port_file.exists() or not port_file.read_text().endswith("\n"):
                if time.perf_counter() - t0 > SERVER_TIMEOUT_S or proc.poll() is not None:
                    raise RuntimeError("data server did not start")
                time.sleep(SERVER_POLL_S / 10)
            port = int(port_file.read_text())
            options = [("grpc.max_receive_message_length", 1 << 30)]
            with grpc.insecure_channel(f"localhost:{port}", options=options) as channel:
                stub = data_provider_pb2_grpc.TensorBoardDataProviderStub(channel)
                while True:
                    req = data_provider_pb2.ReadScalarsRequest()
                    req.experiment_id = ""
                    req.plugin_filter.plugin_name = "scalars"
                    req.downsample.num_points = 1 << 30
                    res = stub.ReadScalars(req)
                    got = sum(len(t.data.step) for r in res.runs for t in r.tags)
                    if got >= expected_points:
                        return time.perf_counter() - t0
                    if time.perf_counter() - t0 > SERVER_TIMEOUT_S:
                        raise RuntimeError(f"data server: only {got} of {expected_points} points")
                    time.sleep(SERVER_POLL_S)
        finally:
            proc.stdin.close()
            proc.kill()
            proc.wait()


# =========================================================================== memory probe
_MEMORY_PROBE = r"""
import json, sys, tracemalloc
sys.path.insert(0, {repo!r})
import parsers
parsers.readers()
from parsers import tb_records
tb_records.shift_tables()
def rss(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
base = rss('VmRSS:')
try:
    open('/proc/self/clear_refs', 'w').write('5')  # reset the peak RSS
except OSError:
    pass
if {trace!r}:
    tracemalloc.start()
runs = parsers.load({path!r})
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
hwm = rss('VmHWM:')
df = sum(int(r.scalars.memory_usage(deep=True).sum()) for r in runs)
print(json.dumps({{"traced": peak, "rss": hwm - base, "df": df}}))
"""


def memory_of(path: Path) -> dict:
    """Peak memory of ``parsers.load(path)``, each measure in a fresh interpreter of its own: the
    tracemalloc peak, and the peak RSS of a load without tracemalloc (whose own records of every
    allocation would count in the RSS: ~10-15 MB on a 1M-row table)."""
    def probe(trace: bool) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE.format(repo=str(REPO), path=str(path), trace=trace)],
            check=True, capture_output=True, text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    traced, untraced = probe(True), probe(False)
    return {"traced": traced["traced"], "rss": untraced["rss"], "df": untraced["df"]}


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name != "DONE")


# =========================================================================== sections
class Context:
    """Command-line settings and the written logs, made lazily and shared by the sections."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cache: Path = args.cache
        s = args.scale
        self.fleet_runs = max(2, int(FLEET_RUNS * s))
        self.wide_tags = max(4, int(WIDE_TAGS * s))
        self.rows = max(1000, int(TABLE_ROWS * s))

    def fleet(self) -> Path:
        return ensure(self.cache / f"tb_fleet_{self.fleet_runs}x{FLEET_TAGS}x{FLEET_STEPS}",
                      lambda p: make_fleet(p, self.fleet_runs))

    def wide(self) -> Path:
        return ensure(self.cache / f"tb_wide_{self.wide_tags}x{WIDE_STEPS}",
                      lambda p: make_wide(p, self.wide_tags, WIDE_STEPS))

    def lightning(self) -> Path:
        root = ensure(self.cache / f"lightning_{self.rows}", lambda p: make_lightning_csv(p, self.rows))
        return root / "lightning_logs" / "version_0" / "metrics.csv"

    def jsonl(self) -> Path:
        root = ensure(self.cache / f"wandb_jsonl_{self.rows}", lambda p: make_wandb_jsonl(p, self.rows))
        return root / "run_abc123_history.jsonl"


def _load_points(path: Path) -> tuple[int, int]:
    import parsers

    runs = parsers.load(path)
    return len(runs), sum(len(r.scalars) for r in runs)


def bench_tb_fleet(ctx: Context) -> list[Row]:
    """The fleet read path (``lrdoctor.fleet.load_paths``, what ``lrdoctor inspect/export DIR`` run: by
    default this process and forked workers, as the data server reads on every core) and
    ``parsers.load`` (one process), against the data server. Ours are timed before the server's: its
    gRPC client leaves threads in this process, and the fleet forks workers only from a single thread."""
    import parsers
    from lrdoctor.fleet import default_jobs, load_paths

    root = ctx.fleet()
    expected = ctx.fleet_runs * FLEET_TAGS * FLEET_STEPS
    serial, runs = best_of(lambda: parsers.load(root), ctx.args.repeats)
    assert sum(len(r.scalars) for r in runs) == expected, "not every point read"
    fleet, runs = best_of(lambda: load_paths([root], cache=False), ctx.args.repeats)
    assert sum(len(r.scalars) for r in runs) == expected, "not every point read"
    ref = min(time_rust_server(root, expected) for _ in range(ctx.args.repeats))
    work = f"{ctx.fleet_runs} TensorBoard run folders, {FLEET_TAGS} tags x {FLEET_STEPS} steps"
    return [Row(f"{work}, fleet read path ({default_jobs()} processes)", fleet,
                "Rust data server, end to end", ref, "<= 1"),
            Row(f"{work}, parsers.load (one process)", serial, "Rust data server, end to end", ref, "info")]


def bench_tb_wide(ctx: Context) -> list[Row]:
    import parsers

    root = ctx.wide()
    expected = ctx.wide_tags * WIDE_STEPS
    ours, runs = best_of(lambda: parsers.load(root), ctx.args.repeats)
    assert sum(len(r.scalars) for r in runs) == expected, "not every point read"
    ref = min(time_rust_server(root, expected) for _ in range(ctx.args.repeats))
    return [Row(f"one run, {ctx.wide_tags} tags x {WIDE_STEPS} steps", ours,
                "Rust data server, end to end", ref, "<= 1")]


def bench_lightning(ctx: Context) -> list[Row]:
    import pandas as pd

    import parsers

    path = ctx.lightning()
    ours, ref, runs = best_of_pair(lambda: parsers.load(path), lambda: pd.read_csv(path), ctx.args.repeats)
    assert len(runs) == 1 and runs[0].format == "lightning_csv", runs
    return [Row(f"Lightning metrics.csv, {ctx.rows:,} rows", ours, "pandas.read_csv", ref, "<= 1.5")]


def bench_jsonl(ctx: Context) -> list[Row]:
    import pandas as pd

    import parsers

    path = ctx.jsonl()
    ours, ref, runs = best_of_pair(lambda: parsers.load(path), lambda: pd.read_json(path, lines=True),
                                   ctx.args.repeats)
    assert len(runs) == 1 and runs[0].format == "wandb_history", runs
    return [Row(f"W&B history JSONL, {ctx.rows:,} rows", ours, "pandas.read_json(lines=True)", ref, "<= 1.2")]


def bench_memory(ctx: Context) -> list[Row]:
    rows = []
    for label, path in (("metrics.csv", ctx.lightning()), ("history JSONL", ctx.jsonl()),
                        (f"TB {ctx.wide_tags} tags", ctx.wide())):
        m = memory_of(path)
        budget = tree_size(path) + 2 * m["df"]
        peak = max(m["traced"], m["rss"])
        rows.append(Row(f"peak memory, {label} (traced {m['traced'] / 1e6:.0f} MB, RSS {m['rss'] / 1e6:.0f} MB)",
                        peak, "file size + 2x DataFrame", budget, "<= 1", unit="B"))
    return rows


def bench_analysis(ctx: Context) -> list[Row]:
    """``analyze_run`` per run and ``compare_runs`` per run, on runs as a worker receives them
    (unpickled: no index or frame built yet), wall and CPU time (the CPU time is what the run
    costs however busy the shared machine is)."""
    import pickle

    import parsers
    from lrdoctor.analysis import analyze_run, compare_runs

    runs = list(parsers.load(ctx.fleet()))[: ctx.args.analysis_runs]
    points = int(np.median([len(r.scalars) for r in runs]))
    shipped = pickle.dumps(runs)
    for r in runs[:2]:
        analyze_run(r)  # warm lazy imports
    best = {"wall": float("inf"), "cpu": float("inf"), "cmp_wall": float("inf"), "cmp_cpu": float("inf")}
    for _ in range(ctx.args.repeats):
        fresh = pickle.loads(shipped)
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        analyses = [analyze_run(r) for r in fresh]
        t2, c2 = time.perf_counter(), time.process_time()
        compare_runs(fresh, analyses)
        t3, c3 = time.perf_counter(), time.process_time()
        n = len(fresh)
        for key, value in (("wall", (t2 - t) / n), ("cpu", (c2 - c) / n),
                           ("cmp_wall", (t3 - t2) / n), ("cmp_cpu", (c3 - c2) / n)):
            best[key] = min(best[key], value)
    return [
        Row(f"analysis per {points:,}-point run (mean of {len(runs)}; CPU {best['cpu'] * 1e3:.1f} ms)",
            best["wall"], "target 30 ms", 0.030, "<= 1"),
        Row(f"compare_runs per run, {len(runs)} runs (CPU {best['cmp_cpu'] * 1e3:.1f} ms)",
            best["cmp_wall"], "-", None, "info"),
    ]


# =========================================================================== execution (helper "fleet")
_CPU_SAMPLER = r"""
import json, os, sys, select
root, tick, period = int(sys.argv[1]), os.sysconf("SC_CLK_TCK"), float(sys.argv[2])
def tree():
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    mine = {}
    for pid in cpu:
        p, hops = pid, 0
        while p not in (0, 1, root) and hops < 64:
            p, hops = parents.get(p, 0), hops + 1
        if p == root and pid != os.getpid():
            mine[pid] = cpu[pid]
    return mine
seen = tree()
start = dict(seen)
print("ready", flush=True)
while not select.select([sys.stdin], [], [], period)[0]:
    for pid, t in tree().items():
        seen[pid] = max(seen.get(pid, 0.0), t)
for pid, t in tree().items():
    seen[pid] = max(seen.get(pid, 0.0), t)
print(json.dumps(sum(t - start.get(pid, 0.0) for pid, t in seen.items())))
"""


class CpuMeter:
    """CPU seconds used by this process and every process below it (pool workers, the fork server,
    Dask nannies and workers), sampled from /proc while the work runs (Linux only).

    The sampler is a separate process, not a thread: a thread here would change how the fleet
    starts its workers (it forks only a single-threaded process). A process's last sample is at
    most SAMPLE_S old when it exits, so a short-lived worker's final moments can be missed: cores
    busy is a slight underestimate, never an overestimate.
    """

    SAMPLE_S = 0.1

    def __enter__(self) -> "CpuMeter":
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CPU_SAMPLER, str(os.getpid()), str(self.SAMPLE_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout.readline().strip() == "ready"
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        out, _ = self._proc.communicate("")
        self.cpu = float(out.strip().splitlines()[-1])

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0


def _measure(root: Path, n: int, **kw: object) -> CpuMeter:
    """``analyze_paths([root], **kw)`` under a CpuMeter, with the load average just before."""
    from lrdoctor.fleet import analyze_paths

    load = os.getloadavg()[0]
    with CpuMeter() as meter:
        analysis = analyze_paths([root], **kw)
    assert len(analysis.runs) == n, (len(analysis.runs), n)
    meter.load = load
    return meter


def _busy(m: CpuMeter) -> str:
    return f"{m.cores:.2f} cores busy, load {m.load:.1f}"


def bench_execution(ctx: Context) -> list[Row]:
    """``analyze_paths`` on N-run fleets: serial, the default (this process + workers), a 2-worker
    LocalCluster, the cache. The LocalCluster rows come last: the cluster leaves threads in this
    process, and the default path forks its workers only from a single-threaded process."""
    import shutil

    from lrdoctor.fleet import default_jobs
    from lrdoctor.fleet.cache import ResultCache

    rows: list[Row] = []
    sizes = sorted({max(2, int(x * ctx.args.scale)) for x in EXECUTION_RUNS})
    roots = {n: ensure(ctx.cache / f"tb_fleet_{n}x{FLEET_TAGS}x{FLEET_STEPS}", lambda p, n=n: make_fleet(p, n))
             for n in sizes}
    serial_s: dict[int, float] = {}
    for n, root in roots.items():
        label = f"analyze {n} TB runs"
        serial = _measure(root, n, jobs=1, cache=False)
        serial_s[n] = serial.wall
        rows.append(Row(f"{label}, serial ({_busy(serial)})", serial.wall, "serial", serial.wall, "reference"))
        jobs = default_jobs()
        pool = _measure(root, n, cache=False)  # the CLI's default: this process and jobs - 1 workers
        rows.append(Row(f"{label}, default: {jobs} processes ({_busy(pool)})", pool.wall,
                        "serial", serial.wall, f"~1/{jobs}"))
        store = Path(tempfile.mkdtemp(prefix="lrdoctor-bench-cache-"))
        try:
            cache = ResultCache(store)
            _measure(root, n, cache=cache)  # fill
            warm = _measure(root, n, cache=cache)  # the CLI's default: a pool only when the work pays for one
            rows.append(Row(f"{label}, cached re-run, nothing changed ({_busy(warm)})", warm.wall,
                            "serial", serial.wall, "seconds"))
            for r in range(3):  # three runs rewritten (same shape, new files)
                run = root / f"run_{r:04d}"
                for f in run.glob("*tfevents*"):
                    f.unlink()
                write_tb_run(run, ["train/loss", "train/lr", "train/grad_norm", "val/loss"], FLEET_STEPS, seed=r)
            three = _measure(root, n, cache=cache)
            rows.append(Row(f"{label}, cached re-run, 3 changed ({_busy(three)})", three.wall,
                            "serial", serial.wall, "seconds"))
        finally:
            shutil.rmtree(store, ignore_errors=True)
    try:
        import distributed
    except ImportError:
        return rows
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        # A cluster's workers are long-lived: their one-time import of lrdoctor (pandas, SciPy, the
        # analysis) is timed apart, as the pool's workers fork with it already done.
        start = time.perf_counter()
        client.run(__import__, "lrdoctor.fleet.execute")
        warm_s = time.perf_counter() - start
        for n, root in roots.items():
            dask = _measure(root, n, scheduler=client, cache=False)
            rows.append(Row(f"analyze {n} TB runs, LocalCluster 2 workers ({_busy(dask)}; their import "
                            f"{warm_s:.1f} s before)", dask.wall, "serial", serial_s[n], "~1/2"))
    return rows


# Fleet sizes of the execution rows (scaled by --scale).
EXECUTION_RUNS = (300, 1000)

# Sections in the order they print.
BENCHMARKS: dict[str, Callable[[Context], list[Row]]] = {
    "tb_fleet": bench_tb_fleet,
    "tb_wide": bench_tb_wide,
    "lightning": bench_lightning,
    "jsonl": bench_jsonl,
    "memory": bench_memory,
    "analysis": bench_analysis,
    "execution": bench_execution,
}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value / 1e6:,.0f} MB" if unit == "B" else f"{value:.3f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=list(BENCHMARKS), help="sections to run (default: all)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink every shape (0.1 for a quick look)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--analysis-runs", type=int, default=30, help="fleet runs the analysis time is averaged on")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lrdoctor_fleet_bench")
    args = ap.parse_args(argv)
    ctx = Context(args)
    rows: list[Row] = []
    for name in args.only or list(BENCHMARKS):
        rows.extend(BENCHMARKS[name](ctx))
        print(f"[{name} done]", file=sys.stderr, flush=True)
    print(f"\nfleet benchmark (best of {args.repeats}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs)")
    head = f"{'work':<62}{'lrdoctor':>12}  {'reference':<32}{'ref':>12}{'ratio':>8}  target"
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        print(f"{r.work:<62}{_fmt(r.ours, r.unit):>12}  {r.reference_name:<32}{_fmt(r.reference, r.unit):>12}"
              f"{ratio:>8}  {r.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
