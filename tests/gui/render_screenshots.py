"""Render the app's main views to PNG files, to look at them.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/gui/render_screenshots.py [OUT_DIR]

Writes (default OUT_DIR /tmp/lrdoctor_shots): empty window, a sweep (curves, sweep and
fleet tabs), a single run with a finding clicked, an LR range test, a run with a metrics
panel on relative time, a real multi-metric log, a live run whose appended divergence
raised the banner, a text log and a W&B history that another process keeps appending to (opened,
growing, diverged), the exported view (PNG), and the single run under a dark palette.
Settings go to a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a script: tests.paths (and the conftest it loads) import as under pytest

from tests.paths import CORPUS, REAL_LOGS  # noqa: E402
WAIT_S = 120.0


def main(out_dir: str) -> int:
    """Render every view into ``out_dir``; returns 0."""
    tmp = tempfile.mkdtemp(prefix="lrdoctor_shots_")
    os.environ.setdefault("LRDOCTOR_CONFIG_DIR", tmp)
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from lrdoctor.gui.app import application
    from lrdoctor.gui.main_window import MainWindow

    app = application()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def settle(seconds: float = 0.3) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.02)

    def window() -> MainWindow:
        win = MainWindow(QSettings(str(Path(tmp) / "gui.ini"), QSettings.Format.IniFormat))
        win.resize(1500, 950)
        win.show()
        settle()
        return win

    def open_wait(win: MainWindow, path: Path) -> None:
        done: list[int] = []
        win.analysisFinished.connect(lambda: done.append(1))
        win.open_paths([str(path)])
        end = time.time() + WAIT_S
        while not done and time.time() < end:
            app.processEvents()
            time.sleep(0.02)
        settle()

    def shot(win: MainWindow, name: str) -> None:
        settle()
        path = out / f"{name}.png"
        win.grab().save(str(path))
        print(path)

    win = window()
    shot(win, "01_empty")
    win.close()

    win = window()
    open_wait(win, CORPUS / "sweeps" / "sweep_synth_clf_adam")
    shot(win, "02_sweep_curves")
    win.tabs.setCurrentWidget(win.sweep_view)
    shot(win, "03_sweep_view")
    win.close()

    win = window()
    open_wait(win, CORPUS / "runs" / "digits_mlp-68c1")
    rows = win.findings.items()
    if rows:
        win.findings.tree.setCurrentItem(rows[0])
        win.findings._activate(rows[0])
    win.curves.show_readout(sum(win.curves.x_range()) / 2)
    shot(win, "04_run_finding_zoomed")
    win.close()

    win = window()
    open_wait(win, REAL_LOGS / "hf_trainer_state")
    win.tabs.setCurrentWidget(win.fleet)
    shot(win, "07_fleet_table")
    win.close()

    win = window()
    open_wait(win, CORPUS / "runs" / "digits_mlp-68c1")
    win.ws.set_metric_tag("validation/accuracy", True)
    win.ws.set_x_mode("relative")
    shot(win, "08_metric_panel_relative_time")
    win.curves.export(str(out / "09_exported_view.png"))
    print(out / "09_exported_view.png")
    win.curves.export(str(out / "09_exported_view.pdf"))
    win.close()

    win = window()
    open_wait(win, REAL_LOGS / "ultralytics")
    win.tags_panel.filter.setText("mAP50")
    shot(win, "10_real_log_filtered_metrics")
    win.close()

    win = window()
    open_wait(win, REAL_LOGS / "tensorboard")
    win.ws.set_x_mode("wall")
    shot(win, "12_real_tensorboard_wall_time")
    win.ws.set_x_mode("step")
    win.close()

    import importlib.util

    spec = importlib.util.spec_from_file_location("tests_conftest", REPO / "tests" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    live = conftest.LiveTensorBoardRun(Path(tmp) / "live" / "run")
    live.healthy(200)
    win = window()
    open_wait(win, Path(tmp) / "live")
    live.diverge(25)
    end = time.time() + WAIT_S
    while not win.banner.isVisible() and time.time() < end:
        app.processEvents()
        time.sleep(0.02)
    shot(win, "11_live_banner")
    win.close()
    live.close()

    live_lines(app, window, open_wait, shot, settle, Path(tmp) / "live_lines")

    win = window()
    open_wait(win, CORPUS / "range_tests" / "lr_find_synth_clf_adam")
    win.tabs.setCurrentWidget(win.range_view)
    shot(win, "05_range_test")
    win.close()

    dark = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#1f2329"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#16191d"), (QPalette.ColorRole.AlternateBase, "#22262c"),
        (QPalette.ColorRole.Text, "#e6e6e6"), (QPalette.ColorRole.Button, "#2a2f36"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3b82f6"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.Mid, "#8a8f98"),
        (QPalette.ColorRole.ToolTipBase, "#2a2f36"), (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.PlaceholderText, "#8a8f98"),
    ):
        dark.setColor(role, QColor(color))
    QApplication.setPalette(dark)
    win = window()
    open_wait(win, CORPUS / "runs" / "digits_mlp-68c1")
    shot(win, "06_dark_run")
    win.close()
    return 0


# A training script's logs as another process writes them: build-nanogpt's log.txt (the real one,
# line by line, then a loss that blows up to NaN) and a W&B history (the real spaceinvaders one).
_LINE_WRITER = r"""
import sys, time
from pathlib import Path
real, out = Path(sys.argv[1]), Path(sys.argv[2])
text = (real / "text_logs/build-nanogpt-agndm/log_linear_lr/log.txt").read_text().splitlines(True)[300:3000]
history = (real / "wandb_run_dirs/spaceinvaders-mfts/wandb/wandb-history.jsonl").read_text().splitlines(True)[20:]
log, hist = open(out / "nanogpt" / "log.txt", "a"), open(out / "spaceinvaders" / "wandb-history.jsonl", "a")
for i in range(max(len(text), len(history))):
    if i < len(text):
        log.write(text[i][: len(text[i]) // 2]); log.flush()  # the writer is mid-line now and then
        log.write(text[i][len(text[i]) // 2 :])
    if i < len(history):
        hist.write(history[i])
    if i % 25 == 0:
        log.flush(); hist.flush(); time.sleep(0.05)
step = int(text[-1].split()[0])
for k in range(1, 40):
    log.write(f"{step + k} train {3.2 * 1.6 ** k if k < 30 else float('nan')}\n"); log.flush(); time.sleep(0.05)
log.close(); hist.close()
"""


def live_lines(app, window, open_wait, shot, settle, folder: Path) -> None:
    """A text log and a W&B JSON-lines history that another process keeps appending to (cut mid-line):
    shots when opened, while they grow (the text log alone, then both runs), and once the text log's
    loss diverges."""
    import subprocess

    (folder / "nanogpt").mkdir(parents=True)
    (folder / "spaceinvaders").mkdir(parents=True)
    text = (REAL_LOGS / "text_logs" / "build-nanogpt-agndm" / "log_linear_lr" / "log.txt")
    history = REAL_LOGS / "wandb_run_dirs" / "spaceinvaders-mfts" / "wandb" / "wandb-history.jsonl"
    (folder / "nanogpt" / "log.txt").write_text("".join(text.read_text().splitlines(True)[:300]))
    (folder / "spaceinvaders" / "wandb-history.jsonl").write_text("".join(history.read_text().splitlines(True)[:20]))
    win = window()
    open_wait(win, folder)
    shot(win, "13_live_lines_opened")
    writer = subprocess.Popen([sys.executable, "-c", _LINE_WRITER, str(REAL_LOGS), str(folder)])
    settle(4.0)
    shot(win, "14_live_lines_growing")
    from PySide6.QtCore import Qt

    history_key = next(k for k in win.ws.keys() if "spaceinvaders" in k)
    win.runs_panel.item_for(history_key).setCheckState(0, Qt.CheckState.Checked)  # the W&B history grows too
    settle(2.0)
    shot(win, "15_live_lines_both_runs")
    win.runs_panel.item_for(history_key).setCheckState(0, Qt.CheckState.Unchecked)  # the tree is rebuilt as runs grow
    writer.wait(timeout=WAIT_S)
    end = time.time() + WAIT_S
    while not win.banner.isVisible() and time.time() < end:
        app.processEvents()
        time.sleep(0.02)
    settle(2.0)
    shot(win, "16_live_lines_diverged")
    win.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lrdoctor_shots"))
