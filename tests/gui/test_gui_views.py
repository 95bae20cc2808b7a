"""What the curves view draws: readable ticks, the LR axis, metrics panels, x axes, never a blank
screen while re-analysing."""

from __future__ import annotations


import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from lrdoctor.gui.axes import ElapsedTimeAxis, ReadableAxis, format_tick  # noqa: E402
from tests.gui_waits import LOAD_TIMEOUT_MS, open_and_wait  # noqa: E402


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


def test_lr_axis_rule_follows_the_schedule_shape() -> None:
    from lrdoctor.gui.axes import lr_view

    t = np.linspace(0, 1, 1000)
    peak = 3e-4
    cosine = peak * (1 + np.cos(np.pi * t)) / 2
    assert lr_view(cosine) == (False, None)  # its tail near 0 alone does not make it log
    warmup_constant = np.minimum(1.0, t / 0.05) * peak
    assert lr_view(warmup_constant) == (False, None)
    step_decay = peak * 0.1 ** np.floor(t * 3)  # 3e-4, 3e-5, 3e-6: two decades
    assert lr_view(step_decay)[0]
    range_test = 1e-7 * (10 / 1e-7) ** t  # an LR range test sweeps eight decades
    assert lr_view(range_test)[0]
    assert lr_view(np.full(500, peak)) == (False, (0.0, 2 * peak))


def test_constant_lr_gets_a_sensible_range(qtbot, app_window, tmp_path):
    run = tmp_path / "const" / "metrics.csv"
    run.parent.mkdir()
    rng = np.random.default_rng(0)
    lines = ["step,train_loss,lr"] + [f"{s},{2 * np.exp(-s / 300) + 0.1 + 0.02 * rng.standard_normal():.5f},0.0003"
                                      for s in range(1000)]
    run.write_text("\n".join(lines) + "\n")
    open_and_wait(qtbot, app_window, run.parent)
    view = app_window.curves
    assert not view.lr_plot.getViewBox().state["logMode"][1]
    lo, hi = view.lr_plot.getViewBox().viewRange()[1]
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(6e-4)
    labels = view.lr_plot.getAxis("left").tickStrings([0.0, 2e-4, 4e-4], 1.0, 2e-4)
    assert labels == ["0", "200µ", "400µ"]


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
    # The filter filters the fixed panels too: none of their tags match, so they are hidden.
    assert not any(view.plots[n].isVisible() for n in ("loss", "lr", "grad"))
    assert {c.tag for _, _, c in view.items.values()} == {"validation/accuracy"}
    assert view.plots["m0"].getAxis("bottom").labelText  # the lowest shown panel carries the x title
    tags.filter.setText("^validation/")
    assert view.plots["loss"].isVisible() and not view.plots["lr"].isVisible()
    assert not view.plots["grad"].isVisible()
    assert {c.tag for _, _, c in view.items.values()} == {"validation/loss", "validation/accuracy"}
    tags.filter.setText("learning_rate|grad")
    assert [n for n in ("loss", "lr", "grad", "m0") if view.plots[n].isVisible()] == ["lr", "grad"]
    tags.filter.setText("nothing-is-called-this")
    assert not view.glw.isVisible() and "matches the tag filter" in view.message.text()
    tags.filter.setText("")
    assert not view.plots["m0"].isVisible()
    assert all(view.plots[n].isVisible() for n in ("loss", "lr", "grad"))


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


def test_export_view_has_title_and_legend_and_no_crosshair(qtbot, app_window, corpus, tmp_path):
    from PySide6.QtGui import QImage

    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    view = app_window.curves
    view.show_readout(sum(view.x_range()) / 2)  # the crosshair is on screen ...
    for kind in ("png", "svg", "pdf"):
        view.export(str(tmp_path / f"view.{kind}"))
    assert all(line.isVisible() for name, line in view.crosshair.items() if view.plots[name].isVisible())
    png = QImage(str(tmp_path / "view.png"))
    assert png.height() > 2 * view.glw.height()  # 2x pixels, plus the title and legend band on top
    svg = (tmp_path / "view.svg").read_text()
    assert "digits_mlp-68c1" in svg and "train/loss" in svg  # title and legend are text in the SVG
    assert (tmp_path / "view.pdf").read_bytes().startswith(b"%PDF")
    # ... but not in the export: the crosshair is a dotted line in the foreground colour.
    view.crosshair["loss"].setVisible(False)
    view.export(str(tmp_path / "clean.png"))
    assert QImage(str(tmp_path / "clean.png")) == png


def test_csv_export_is_what_is_drawn(qtbot, app_window, corpus, tmp_path):
    import csv

    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    view = app_window.curves
    app_window.ws.set_smoothing(0.0)
    rows = view.export_csv(str(tmp_path / "drawn.csv"))
    with open(tmp_path / "drawn.csv", newline="") as fh:
        data = list(csv.DictReader(fh))
    assert rows == len(data) and {r["panel"] for r in data} >= {"loss", "learning rate"}
    assert all(r["drawn"] == r["value"] for r in data)  # no smoothing: the raw values are drawn
    view.grad_plot.setVisible(False)
    view.export_csv(str(tmp_path / "no_grad.csv"))
    with open(tmp_path / "no_grad.csv", newline="") as fh:
        assert "grad norm" not in {r["panel"] for r in csv.DictReader(fh)}


def test_view_choices_are_remembered(qtbot, app_window, corpus, tmp_path):
    from PySide6.QtCore import QSettings

    from lrdoctor.gui.main_window import MainWindow

    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    app_window.ws.set_smoothing(0.9)
    app_window.ws.set_log_y(True)
    app_window.ws.set_x_mode("relative")
    app_window.ws.set_metric_tag("validation/accuracy", True)
    app_window.set_following(False)
    app_window.close()
    again = MainWindow(QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    try:
        assert again.ws.smoothing == pytest.approx(0.9) and again.ws.log_y and again.ws.x_mode == "relative"
        assert again.curves.slider.value() == 900 and again.curves.log_y.isChecked()
        assert again.ws.metric_tags == ["validation/accuracy"]
        assert not again.follow_action.isChecked() and again.live.paused
        with qtbot.waitSignal(again.analysisFinished, timeout=LOAD_TIMEOUT_MS):
            again.reopen_last()
        assert [r.name for r in again.ws.runs] == ["digits_mlp-68c1"]
        assert "m0" in again.curves.plots and again.curves.plots["m0"].isVisible()
    finally:
        again.close()


def test_fleet_table_sorts_by_waste_and_opens_a_run(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "sweeps" / "sweep_synth_clf_adam")
    fleet = app_window.fleet
    rows = fleet.rows()
    assert len(rows) == len(app_window.ws.runs) > 1
    money = [float(r[2].strip("$").replace(",", "")) if r[2] != "-" else -1.0 for r in rows]
    assert money == sorted(money, reverse=True)  # most wasted first
    from lrdoctor import formatting as fmt
    from lrdoctor.fleet.summary import fleet_summary

    summary = fleet_summary(app_window.ws.analysis, app_window.ws.costs)  # the library owns the totals
    assert sorted(r[0] for r in rows) == sorted(line.name for line in summary.ranked)
    assert f"wasted <b>{fmt.usd(summary.wasted_usd)}</b>" in fleet.summary.text()
    assert any(r[1] not in ("healthy", "not diagnosed") for r in rows)
    fleet.table.sortItems(3, Qt.SortOrder.AscendingOrder)  # the user sorts by share wasted
    fleet.refresh()
    shares = [float(r[3].rstrip("%").lstrip("<")) for r in fleet.rows() if r[3] != "-"]
    assert shares == sorted(shares)
    name = fleet.table.item(0, 0).text()
    fleet.table.cellClicked.emit(0, 0)
    assert app_window.tabs.currentWidget() is app_window.curves
    assert [r.name for r in app_window.ws.checked_runs()] == [name]


def test_fleet_table_names_a_run_that_never_learned_for_its_remedy(qtbot, app_window, real_logs):
    # The verysimpletransformer runs sit at ln 2: their worst finding is a plateau whose remedy is the
    # setup. The fleet table must not call them "Plateau (decay would help)".
    open_and_wait(qtbot, app_window, real_logs / "wandb_run_dirs" / "verysimpletransformer")
    labels = {r[0]: r[1] for r in app_window.fleet.rows()}
    assert labels and all(label == "Never learned (check the setup)" for label in labels.values())


def test_readout_is_cleared_when_the_runs_change(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1", corpus / "runs" / "digits_mlp-f351")
    view = app_window.curves
    first = app_window.ws.checked_runs()[0].name
    view.show_readout(sum(view.x_range()) / 2)
    assert first in view.readout.text()
    other = next(k for k in app_window.ws.keys() if k not in app_window.ws.checked)
    app_window.ws.set_checked_keys({other})
    assert first not in view.readout.text() and not view.crosshair["loss"].isVisible()
    view.show_readout(sum(view.x_range()) / 2)
    app_window.ws.set_x_mode("relative")
    assert "Step" not in view.readout.text()


def test_reloading_keeps_the_sweep_grouping_and_the_findings_meanwhile(qtbot, app_window, corpus):
    sweep = corpus / "sweeps" / "sweep_synth_clf_adam"
    open_and_wait(qtbot, app_window, sweep)
    tree = app_window.runs_panel.tree
    assert tree.topLevelItem(0).text(1) == "LR sweep"
    during: list[tuple[int, str, int]] = []
    app_window.loadFinished.connect(lambda: during.append(
        (tree.topLevelItemCount(), tree.topLevelItem(0).text(1), len(app_window.findings.rows))))
    findings_before = len(app_window.findings.rows)
    with qtbot.waitSignal(app_window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        app_window.reload()
    assert during == [(1, "LR sweep", findings_before)]  # loaded, not yet analysed: nothing blanked
    assert len(app_window.runs_panel.run_items()) == len({i.text(0) for i in app_window.runs_panel.run_items()})


def test_runs_with_different_batch_sizes_line_up_by_tokens_seen(qtbot, app_window, tmp_path):
    rng = np.random.default_rng(1)
    for name, steps, batch_tokens in (("small_batch", 1000, 1024), ("big_batch", 500, 2048)):
        folder = tmp_path / "fleet" / name
        folder.mkdir(parents=True)
        rows = ["step,train_loss,lr,tokens_seen"]
        for s in range(steps):
            tokens = s * batch_tokens
            rows.append(f"{s},{3 * np.exp(-tokens / 3e5) + 0.5 + 0.02 * rng.standard_normal():.5f},0.001,{tokens}")
        (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    open_and_wait(qtbot, app_window, tmp_path / "fleet")
    app_window.ws.set_checked_keys(set(app_window.ws.keys()))
    app_window.ws.set_x_mode("tokens")
    losses = [c for _, _, c in app_window.curves.items.values() if c.role == "train_loss"]
    assert len(losses) == 2
    ends = sorted(float(c.x[-1]) for c in losses)
    assert ends == [499 * 2048, 999 * 1024]  # by data seen, not by step: the runs now overlap
    assert app_window.curves.loss_plot.getAxis("bottom").tickStrings([5e5], 1.0, 1e5) == ["500k"]


def test_cancelling_an_analysis_keeps_the_previous_results(qtbot, app_window, corpus):
    open_and_wait(qtbot, app_window, corpus / "runs" / "digits_mlp-68c1")
    before = app_window.ws.analysis
    app_window.analysisStarted.connect(app_window.cancel_load)  # Cancel as soon as the analysis starts
    with qtbot.waitSignal(app_window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        app_window.open_paths([str(corpus / "sweeps" / "sweep_synth_clf_adam")])
    assert "cancelled" in app_window.status_label.text()
    assert app_window.ws.analysis is before  # still on screen, not blanked
    assert app_window.ws.worst_severity(app_window.ws.keys()[0])  # the first run's marker is still there
    assert not app_window.cancel_button.isVisible()


def test_analysis_goes_through_the_fleet_path_with_the_same_result(qtbot, app_window, corpus):
    """The app analyses through lrdoctor.fleet (process pool when it pays, per-run cache), off the
    GUI thread, with runs-done progress; the result is the one the in-process analysis gives."""
    import parsers
    from lrdoctor.analysis import analyze
    from lrdoctor.analysis.contract import analysis_to_dict

    sweep = corpus / "sweeps" / "sweep_synth_clf_adam"
    workers, progress = [], []
    app_window.analysisStarted.connect(lambda: workers.append(app_window.analyzer))
    app_window.analysisStarted.connect(
        lambda: app_window.analyzer.signals.progress.connect(lambda d, t, _n: progress.append((d, t))))
    open_and_wait(qtbot, app_window, sweep)
    runs = app_window.ws.runs
    assert len(runs) == 8 and workers[-1].from_fleet == 8
    assert (8, 8) in progress  # runs done / total, as the status bar shows them
    assert all(ra.run is run for ra, run in zip(app_window.ws.analysis.runs, runs))
    mine = analysis_to_dict(app_window.ws.analysis)
    serial = analysis_to_dict(analyze(parsers.load(sweep)))
    for result in (mine, serial):
        result.pop("warnings", None)
    assert mine == serial
    assert app_window.ws.analysis.sweeps and app_window.sweep_view is not None


def test_cancel_stops_an_analysis_running_in_the_process_pool(qtbot, app_window, tmp_path):
    """Enough runs for the fleet to start worker processes: progress counts runs, Cancel stops them."""
    for i in range(20):  # 20 runs x ~0.1 s estimated: enough for the fleet to start its pool
        run = tmp_path / "many" / f"run_{i:03d}"
        run.mkdir(parents=True)
        rows = "".join(f"{step},{1.0 / (step + 1) + i * 1e-3},0.01\n" for step in range(50))
        (run / "metrics.csv").write_text("step,train_loss,lr\n" + rows)
    progress: list[tuple[int, int]] = []

    def on_progress(done: int, total: int, _name: str) -> None:
        progress.append((done, total))
        if done >= 1:
            app_window.cancel_load()

    app_window.analysisStarted.connect(lambda: app_window.analyzer.signals.progress.connect(on_progress))
    with qtbot.waitSignal(app_window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        app_window.open_paths([str(tmp_path / "many")])
    assert "cancelled" in app_window.status_label.text()
    assert progress and all(total == 20 for _, total in progress)
    assert max(done for done, _ in progress) < 20  # stopped before the pool finished every run
    assert len(app_window.ws.runs) == 20 and not app_window.cancel_button.isVisible()
