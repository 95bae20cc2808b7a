"""Render the app's main views to PNG files, to look at them.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/gui/render_screenshots.py [OUT_DIR]

Writes (default OUT_DIR /tmp/lrdoctor_shots): empty window, a sweep (curves, sweep and
fleet tabs), a single run with a finding clicked, an LR range test, a run with a metrics
panel on relative time, a real multi-metric log, a live run whose appended divergence
raised the banner, the exported view (PNG), and the single run under a dark palette.
Settings go to a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
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
    open_wait(win, REPO.parent / "shared" / "real_logs" / "hf_trainer_state")
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
    open_wait(win, REPO.parent / "shared" / "real_logs" / "ultralytics")
    win.tags_panel.filter.setText("mAP50")
    shot(win, "10_real_log_filtered_metrics")
    win.close()

    win = window()
    open_wait(win, REPO.parent / "shared" / "real_logs" / "tensorboard")
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lrdoctor_shots"))
