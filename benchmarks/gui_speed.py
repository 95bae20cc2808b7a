"""How fast the app gets curves on screen, and how smoothly a huge run pans.

    .venv/bin/python benchmarks/gui_speed.py [--work DIR] [--points N] [--runs N]

Generates (once, cached in DIR) a folder of 100 CSV runs and one CSV run with 10M
points, then for each starts a fresh process that opens the app on it, and reports
the time from process start to the first paint with the curves drawn (import, window,
load, analysis-independent: the curves appear before the analysis ends). On the 10M
run it also measures the frame time of a pan (repaint after shifting the x range)
at full zoom-out and zoomed in to 1% of the run. Offscreen platform unless
QT_QPA_PLATFORM says otherwise. Live runs: three TensorBoard runs written with TensorBoard's
own writer are opened while still "training"; a divergence is appended to each in turn and
the time from the append (flushed) to the app's banner is measured, beside the library's own
read of the appended records + re-analysis of that run (``RunWatcher.poll``) in the same process
as the reference. ``--live-only`` measures only that.
Prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PAN_FRAMES = 30
PAN_SHIFT = 0.01  # fraction of the view width per frame
STEPS_PER_RUN = 2000


def make_runs_folder(root: Path, n_runs: int) -> Path:
    """``n_runs`` Lightning-style CSV runs (step, train_loss, val_loss, lr) of 2,000 steps."""
    folder = root / f"runs_{n_runs}"
    if folder.exists():
        return folder
    rng = np.random.default_rng(0)
    steps = np.arange(STEPS_PER_RUN)
    for i in range(n_runs):
        lr = 10 ** rng.uniform(-4, -1)
        loss = 2.5 * np.exp(-steps * lr * 5) + 0.1 + 0.05 * rng.standard_normal(steps.size)
        val = np.where(steps % 100 == 0, loss + 0.05, np.nan)
        run = folder / f"run_{i:03d}"
        run.mkdir(parents=True)
        with (run / "metrics.csv").open("w") as fh:
            fh.write("step,train_loss,val_loss,lr\n")
            for s, a, b in zip(steps, loss, val):
                fh.write(f"{s},{a:.6f},{'' if np.isnan(b) else f'{b:.6f}'},{lr:.6g}\n")
    return folder


def make_huge_run(root: Path, points: int) -> Path:
    """One CSV run with ``points`` training-loss points (and a sparse LR column)."""
    folder = root / f"huge_{points}"
    path = folder / "metrics.csv"
    if path.exists():
        return folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    chunk = 1_000_000
    with path.open("w") as fh:
        fh.write("step,train_loss,lr\n")
        for start in range(0, points, chunk):
            steps = np.arange(start, min(start + chunk, points))
            loss = 2.0 * np.exp(-steps / (points / 4)) + 0.1 + 0.05 * rng.standard_normal(steps.size)
            lr = 1e-3 * (1 + np.cos(np.pi * steps / points)) / 2
            np.savetxt(fh, np.column_stack([steps, loss, lr]), fmt=["%d", "%.5f", "%.4g"], delimiter=",")
    return folder


CHILD = r"""
import json, sys, time
T0 = float(sys.argv[2])
from lrdoctor.gui.app import application
app = application()
from lrdoctor.gui.main_window import MainWindow
from PySide6.QtCore import QSettings
import tempfile, os
win = MainWindow(QSettings(os.path.join(tempfile.mkdtemp(), "g.ini"), QSettings.Format.IniFormat))
win.resize(1400, 900)
win.show()
result = {}
def drawn():
    if win.curves.items and "curves_s" not in result:
        win.curves.glw.repaint()
        result["curves_s"] = time.time() - T0
        result["points"] = int(sum(c.x.size for _, _, c in win.curves.items.values()))
win.curves.curvesDrawn.connect(drawn)
win.open_paths([sys.argv[1]])
while "curves_s" not in result:
    app.processEvents()
    time.sleep(0.002)
if sys.argv[3] == "pan":
    plot = win.curves.loss_plot
    def pan(width_fraction):
        plot.enableAutoRange()
        win.curves.glw.repaint()
        (lo, hi) = plot.getViewBox().viewRange()[0]
        width = (hi - lo) * width_fraction
        plot.setXRange(lo, lo + width, padding=0)
        win.curves.glw.repaint()
        times = []
        for i in range(%(frames)d):
            x0 = lo + width * %(shift)f * (i + 1)
            before = paints[0]
            t = time.perf_counter()
            plot.setXRange(x0, x0 + width, padding=0)
            while paints[0] == before:  # until the frame is painted once
                app.processEvents()
            times.append(time.perf_counter() - t)
        return times
    from PySide6.QtCore import QObject, QEvent
    paints = [0]
    class Counter(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                paints[0] += 1
            return False
    counter = Counter()
    win.curves.glw.viewport().installEventFilter(counter)
    result["pan_full"] = pan(1.0)
    result["pan_1pct"] = pan(0.01)
print("RESULT " + json.dumps(result), flush=True)
win.detach_workers()
import os as _os
_os._exit(0)
""" % {"frames": PAN_FRAMES, "shift": PAN_SHIFT}


LIVE_RUNS = 3
LIVE_CHILD = r"""
import json, sys, time, os, tempfile
from pathlib import Path
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
root = Path(sys.argv[1])
writers, losses, steps = {}, {}, {}
def add(name, loss):
    values = [summary_pb2.Summary.Value(tag="train/loss", simple_value=loss),
              summary_pb2.Summary.Value(tag="lr", simple_value=3e-3)]
    writers[name].add_event(event_pb2.Event(wall_time=time.time(), step=steps[name],
                                            summary=summary_pb2.Summary(value=values)))
    steps[name] += 10
for i in range(%(runs)d):
    name = f"run_{i}"
    (root / name).mkdir(parents=True, exist_ok=True)
    writers[name], losses[name], steps[name] = EventFileWriter(str(root / name)), 2.5, 0
    for _ in range(200):
        losses[name] = 0.5 + (losses[name] - 0.5) * 0.985
        add(name, losses[name])
    writers[name].flush()
from lrdoctor.gui.app import application
app = application()
from lrdoctor.gui.main_window import MainWindow
from lrdoctor.watch import RunWatcher
from PySide6.QtCore import QSettings
win = MainWindow(QSettings(os.path.join(tempfile.mkdtemp(), "g.ini"), QSettings.Format.IniFormat))
win.resize(1400, 900)
win.show()
done = []
win.analysisFinished.connect(lambda: done.append(1))
win.open_paths([str(root)])
while not done:
    app.processEvents(); time.sleep(0.002)
reference = RunWatcher([str(root)]); reference.start()
latencies, library = [], []
for name in list(writers):
    win.banner.hide()
    for i in range(25):
        losses[name] *= 1.3
        add(name, float("nan") if i == 24 else losses[name])
    t = time.perf_counter()
    writers[name].flush()
    while not (win.banner.isVisible() and name in win.banner.text()):
        app.processEvents(); time.sleep(0.001)
    latencies.append(time.perf_counter() - t)
    t = time.perf_counter()
    reference.poll()
    library.append(time.perf_counter() - t)
print("RESULT " + json.dumps({"banner": latencies, "library": library}), flush=True)
win.detach_workers()
os._exit(0)
""" % {"runs": LIVE_RUNS}


def measure_live(root: Path) -> dict:
    """Appended divergence -> banner in a fresh app process; returns the latencies (s)."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("LRDOCTOR_CONFIG_DIR", tempfile.mkdtemp())
    folder = Path(tempfile.mkdtemp(prefix="live_", dir=root))
    out = subprocess.run([sys.executable, "-c", LIVE_CHILD, str(folder)], env=env, capture_output=True, text=True,
                         timeout=1800)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"live benchmark child failed:\n{out.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def measure(path: Path, pan: bool) -> dict:
    """Start a fresh app process on ``path``; returns its timings."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("LRDOCTOR_CONFIG_DIR", tempfile.mkdtemp())
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), repr(t0), "pan" if pan else "-"],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def main() -> int:
    """Generate the inputs, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lrdoctor_gui_bench"))
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--live-only", action="store_true", help="measure only appended divergence -> banner")
    args = parser.parse_args()
    root = Path(args.work)
    root.mkdir(parents=True, exist_ok=True)
    if args.live_only:
        live = measure_live(root)
        banner, library = statistics.median(live["banner"]), statistics.median(live["library"])
        print(f"live run: appended divergence -> banner, median {1000 * banner:.0f} ms "
              f"(max {1000 * max(live['banner']):.0f}) over {LIVE_RUNS} runs; RunWatcher.poll (read appended "
              f"records + analyse, no GUI) {1000 * library:.0f} ms; banner / library = {banner / library:.1f}x")
        return 0
    t = time.time()
    runs = make_runs_folder(root, args.runs)
    huge = make_huge_run(root, args.points)
    print(f"inputs ready in {time.time() - t:.1f} s under {root}")

    live = measure_live(root)
    many = measure(runs, pan=False)
    big = measure(huge, pan=True)
    import parsers  # for context: how much of the launch time is reading the files

    read_times = {}
    for folder in (runs, huge):
        t = time.perf_counter()
        parsers.load(folder)
        read_times[folder] = time.perf_counter() - t
    ms = lambda xs: f"{1000 * statistics.median(xs):.1f} ms (p90 {1000 * sorted(xs)[int(0.9 * len(xs))]:.1f})"  # noqa: E731
    rows = [
        (f"{args.runs}-run folder: launch -> curves on screen", f"{many['curves_s']:.2f} s",
         f"{many['points']:,} points drawn (8 runs ticked)"),
        (f"1 run, {args.points:,} points: launch -> curves on screen", f"{big['curves_s']:.2f} s",
         f"{big['points']:,} points drawn"),
        (f"pan frame at full zoom-out ({args.points:,}-point run)", ms(big["pan_full"]), f"{PAN_FRAMES} frames"),
        (f"pan frame zoomed to 1% ({args.points:,}-point run)", ms(big["pan_1pct"]), f"{PAN_FRAMES} frames"),
    ]
    banner, library = statistics.median(live["banner"]), statistics.median(live["library"])
    rows += [
        ("live run: appended divergence -> banner (median)", f"{1000 * banner:.0f} ms (max {1000 * max(live['banner']):.0f})",
         f"{LIVE_RUNS} runs, TensorBoard writer flush to banner shown"),
        ("  reference: RunWatcher.poll (read appended + analyse, no GUI)", f"{1000 * library:.0f} ms",
         f"banner / library = {banner / library:.1f}x"),
    ]
    rows += [
        (f"  (of which parsers.load, {args.runs}-run folder, no GUI)", f"{read_times[runs]:.2f} s", "same files"),
        (f"  (of which parsers.load, {args.points:,}-point run, no GUI)", f"{read_times[huge]:.2f} s", "same file"),
        ("machine load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}", f"{os.cpu_count()} CPUs"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'time':<26}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<26}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
