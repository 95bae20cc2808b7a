"""What the curves view draws: readable ticks, the LR axis, metrics panels, x axes, never a blank
screen while re-analysing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from lrdoctor.gui.axes import ElapsedTimeAxis, ReadableAxis, format_tick  # noqa: E402

LOAD_TIMEOUT_MS = 120_000


def open_and_wait(qtbot, win, *paths: Path) -> None:
    with qtbot.waitSignal(win.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        win.open_paths([str(p) for p in paths])


def test_tick_labels_are_plain_values_with_prefixes() -> None:
    assert format_tick(3e-4, 1e-4) == "300µ"
    assert format_tick(41_200, 200) == "41.2k"
    assert format_tick(0.25, 0.05) == "0.25"
    assert format_tick(2_500, 500) == "2,500"
    assert format_tick(-1.5e-3, 5e-4) == "−1.5m"


def test_axes_have_no_multiplier_and_titles_do_not_overlap(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    view = app_window.curves
    for name in ("loss", "lr", "grad"):
        axis = view.plots[name].getAxis("left")
        assert isinstance(axis, ReadableAxis) and not axis.autoSIPrefix
        assert axis.labelText == ""  # panel titles sit above the panels, not rotated beside them
        assert view.plots[name].titleLabel.text
    titles = [view.plots[n].titleLabel.sceneBoundingRect() for n in ("loss", "lr", "grad")]
    for a, b in zip(titles, titles[1:]):
        assert not a.intersects(b)


def test_lr_axis_is_log_over_decades_and_ranged_around_a_constant_lr(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    view = app_window.curves
    lr = next(c for _, _, c in view.items.values() if c.role == "lr").y
    spans_decades = lr[lr > 0].max() / lr[lr > 0].min() >= 10
    assert view.lr_plot.getViewBox().state["logMode"][1] == spans_decades
    if not spans_decades and np.ptp(lr) == 0:
        lo, hi = view.lr_plot.getViewBox().viewRange()[1]
        assert lo >= 0 and hi == pytest.approx(2 * lr[0])


def test_relative_time_axis_picks_its_unit(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    app_window.ws.set_x_mode("relative")
    axis = app_window.curves.loss_plot.getAxis("bottom")
    assert isinstance(axis, ElapsedTimeAxis)
    axis.tickSpacing(0, 90, 800)
    assert axis.unit == "s" and axis.tickStrings([30.0], 1, 15.0) == ["30 s"]
    axis.tickSpacing(0, 7 * 3600, 800)
    assert axis.unit == "h"
    axis.tickSpacing(0, 5 * 86400, 800)
    assert axis.unit == "d"


def test_ticked_metric_gets_its_own_panel_sharing_x_and_shading(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    view = app_window.curves
    tags = app_window.tags_panel
    def item():
        return next(tags.tree.topLevelItem(i).child(j) for i in range(tags.tree.topLevelItemCount())
                    for j in range(tags.tree.topLevelItem(i).childCount())
                    if tags.tree.topLevelItem(i).child(j).toolTip(0) == "validation/accuracy")

    with qtbot.waitSignal(view.curvesDrawn):
        item().setCheckState(0, Qt.CheckState.Checked)
    assert view.metric_tags_drawn == ["validation/accuracy"]
    panel = view.plots["m0"]
    assert panel.isVisible() and panel.titleLabel.text == "validation/accuracy"
    drawn = [c for _, _, c in view.items.values() if c.tag == "validation/accuracy"]
    assert len(drawn) == 1 and drawn[0].x.size == 40
    assert panel.getViewBox().linkedView(0) is view.loss_plot.getViewBox()
    if view.shaded:  # the findings are shaded in the metric panel too
        assert any(item in panel.items for item in view.region_items)
    # The tag filter picks panels too; clearing the tick and the filter hides the panel.
    item().setCheckState(0, Qt.CheckState.Unchecked)
    assert not view.plots["m0"].isVisible()
    tags.filter.setText("accuracy")
    assert view.metric_tags_drawn == ["validation/accuracy"] and view.plots["m0"].isVisible()
    tags.filter.setText("")
    assert not view.plots["m0"].isVisible()


def test_runs_compare_by_epoch_when_logged(qtbot, app_window, real_logs):
    path = real_logs / "hf_trainer_state" / "whisper-large-v2-ja"
    open_and_wait(qtbot, app_window, path)
    run = app_window.ws.runs[0]
    if app_window.ws.primary_tag(run, "epoch") is None:
        pytest.skip("this log has no epoch column")
    app_window.ws.set_x_mode("epoch")
    curve = next(c for _, _, c in app_window.curves.items.values() if c.role == "train_loss")
    epochs = app_window.ws.series(run, app_window.ws.primary_tag(run, "epoch"))["value"].to_numpy()
    assert curve.x[-1] == pytest.approx(np.nanmax(epochs), rel=0.05)
    assert "Epoch" in app_window.curves.plots["loss"].getAxis("bottom").labelText or any(
        "Epoch" in p.getAxis("bottom").labelText for p in app_window.curves.plots.values())


def test_adding_a_folder_keeps_results_and_only_analyses_new_runs(qtbot, app_window, corpus):
    first = corpus / "runs" / "digits_mlp-68c1"
    open_and_wait(qtbot, app_window, first)
    before = app_window.ws.analysis
    seen: list[tuple[int, int]] = []
    still_shown: list[bool] = []

    def on_progress(done: int, total: int, _name: str) -> None:
        seen.append((done, total))
        still_shown.append(app_window.ws.analysis is not None and bool(app_window.findings.tree.topLevelItemCount()
                                                                        or app_window.ws.analysis.runs))

    app_window.loadFinished.connect(lambda: still_shown.append(app_window.ws.analysis is before))
    app_window.open_paths([str(first)])  # the same run again: nothing changed on disk
    with qtbot.waitSignal(app_window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        pass
    assert still_shown and all(still_shown)
    assert app_window.ws.analysis.runs[0] is before.runs[0]  # kept, not analysed again
    assert "0 runs" in app_window.status_label.text() or "kept" in app_window.status_label.text()
    worker_progress = app_window.progress
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-f351")
    assert len(app_window.ws.analysis.runs) == 2
    assert app_window.ws.analysis.runs[0] is before.runs[0]
    assert worker_progress.format().endswith("runs")
