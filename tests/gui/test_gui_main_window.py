"""Drive the real main window offscreen: open corpus folders, tick runs, smooth, zoom, cost."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from lrdoctor.workspace import run_key  # noqa: E402
from tests.gui_waits import LOAD_TIMEOUT_MS, open_and_wait  # noqa: E402


@pytest.fixture
def window(app_window):
    """A main window with throwaway settings (``tests/gui/conftest.py``'s ``app_window``)."""
    return app_window


def test_open_sweep_folder_lists_runs_and_plots_them(qtbot, window, corpus):
    sweep = corpus / "sweeps" / "sweep_synth_clf_adam"
    open_and_wait(qtbot, window, sweep)
    names = sorted(i.text(0) for i in window.runs_panel.run_items())
    assert names == sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert all(i.text(1) == "hf_trainer_state" for i in window.runs_panel.run_items())
    tree = window.runs_panel.tree  # the opened sweep folder is one group, marked as a sweep
    assert tree.topLevelItemCount() == 1 and tree.topLevelItem(0).text(0) == sweep.name
    assert tree.topLevelItem(0).text(1) == "LR sweep"
    # One run ticked on open (the one with the worst finding); the user then overlays them all.
    assert len(window.ws.checked) == 1 and window.ws.worst_severity(window.ws.current)
    window.ws.set_checked_keys(set(window.ws.keys()))
    # Every ticked run has its training loss and its learning rate drawn.
    drawn = {(key, window.ws.run(key).roles[tag]) for key, tag in window.curves.items}
    for run in window.ws.checked_runs():
        assert (run_key(run), "train_loss") in drawn
        assert (run_key(run), "lr") in drawn
    assert window.curves.lr_plot.isVisible()
    # lr_3e-1 explodes to ~197 in its first steps; the initial view shows the bulk of the curves.
    peak = max(float(np.nanmax(c.y)) for _, _, c in window.curves.items.values() if c.role == "train_loss")
    assert peak > 100
    assert window.curves.loss_plot.viewRange()[1][1] < peak / 10
    # The sweep view shows the sweep the analyzer found in this folder.
    assert "sweep_synth_clf_adam" in window.sweep_view.title.text()


def test_unticking_a_run_removes_its_curves(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "sweeps" / "sweep_synth_clf_adam")
    item = window.runs_panel.item_for(window.ws.keys()[0])
    key = item.data(0, Qt.ItemDataRole.UserRole)
    assert any(k == key for k, _ in window.curves.items)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert key not in window.ws.checked
    assert not any(k == key for k, _ in window.curves.items)
    item.setCheckState(0, Qt.CheckState.Checked)
    assert any(k == key for k, _ in window.curves.items)


def test_smoothing_slider_changes_the_drawn_curve(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    (key, tag), (raw, smooth, curve) = next(
        (k, v) for k, v in window.curves.items.items() if v[2].role == "train_loss"
    )
    window.curves.slider.setValue(0)
    qtbot.waitUntil(lambda: window.ws.smoothing == 0.0)
    _, y0 = smooth.getData()
    assert np.allclose(y0, curve.y, equal_nan=True)
    assert not raw.isVisible()
    window.curves.slider.setValue(900)
    qtbot.waitUntil(lambda: window.ws.smoothing == pytest.approx(0.9))
    _, y9 = smooth.getData()
    assert raw.isVisible()
    assert window.curves.smoothing_label.text() == "0.900"
    finite = np.isfinite(curve.y) & np.isfinite(y9)
    # The EMA is smoother: its step-to-step changes are smaller than the raw curve's.
    assert np.abs(np.diff(y9[finite])).sum() < np.abs(np.diff(curve.y[finite])).sum()


def test_a_validation_loss_of_few_evaluations_is_drawn_as_evaluated(qtbot, window, real_logs, tmp_path):
    """build-nanogpt's log.txt evaluates the validation loss every 250 steps: four evaluations over
    the first 1,000 steps are drawn where they were measured, not an EMA lagging two evaluations
    behind; the training loss (one point a step) is smoothed; at a higher weight, fewer curves qualify."""
    lines = (real_logs / "text_logs" / "build-nanogpt-agndm" / "log_linear_lr" / "log.txt").read_text().splitlines(True)
    (tmp_path / "nanogpt").mkdir()
    (tmp_path / "nanogpt" / "log.txt").write_text("".join(lines[:1010]))
    open_and_wait(qtbot, window, tmp_path / "nanogpt")
    window.curves.slider.setValue(600)
    qtbot.waitUntil(lambda: window.ws.smoothing == pytest.approx(0.6))
    by_role = {v[2].role: v for v in window.curves.items.values()}
    raw, smooth, val = by_role["val_loss"]
    assert 2 <= val.y.size < 25
    assert np.allclose(smooth.getData()[1], val.y) and not raw.isVisible()
    raw, smooth, train = by_role["train_loss"]
    assert raw.isVisible() and not np.allclose(smooth.getData()[1], train.y)
    window.curves.slider.setValue(999)  # a 1,000-point window: the 1,000-step training loss is drawn raw too
    qtbot.waitUntil(lambda: window.ws.smoothing == pytest.approx(0.999))
    assert np.allclose(smooth.getData()[1], train.y) and not raw.isVisible()


def test_a_diverged_run_opens_on_its_training_not_on_the_blow_up(qtbot, window, real_logs, tmp_path):
    """build-nanogpt's log.txt, then 30 steps of a loss growing x1.6 a step and NaN (1% of the points):
    the loss view shows the healthy steps' range; the blow-up runs off the top inside its shading."""
    lines = (real_logs / "text_logs" / "build-nanogpt-agndm" / "log_linear_lr" / "log.txt").read_text().splitlines(True)
    step = int(lines[2999].split()[0])
    blow_up = [f"{step + k} train {3.2 * 1.6 ** k if k < 30 else float('nan')}\n" for k in range(1, 40)]
    (tmp_path / "nanogpt").mkdir()
    (tmp_path / "nanogpt" / "log.txt").write_text("".join(lines[:3000] + blow_up))
    open_and_wait(qtbot, window, tmp_path / "nanogpt")
    assert any(f.mode == "diverged" for _, f in window.ws.findings_for(window.ws.keys()))
    _, (y_lo, y_hi) = window.curves.loss_plot.viewRange()
    train = next(c for _, _, c in window.curves.items.values() if c.role == "train_loss")
    healthy = train.y[train.x <= step]
    assert y_lo <= np.percentile(healthy, 1) and np.percentile(healthy, 99) <= y_hi < 2 * healthy.max()
    window.curves.loss_plot.enableAutoRange()  # the 'A' button: everything, the blow-up included
    qtbot.waitUntil(lambda: window.curves.loss_plot.viewRange()[1][1] > 1_000)


def test_clicking_a_finding_zooms_the_plots_to_its_steps(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    rows = window.findings.items()
    assert rows, window.findings.status.text()
    row = rows[0]
    key, finding = window.findings.finding_of(row)
    before = window.curves.x_range()
    rect = window.findings.tree.visualItemRect(row)
    qtbot.mouseClick(window.findings.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    lo, hi = window.curves.x_range()
    assert (lo, hi) != before
    assert lo <= finding.step_start and hi >= (finding.step_end or finding.step_start)
    span = (finding.step_end or finding.step_start) - finding.step_start
    assert hi - lo <= max(span, 10) * 1.5
    assert finding.recommendation in window.findings.detail_text()
    # The clicked finding is the highlighted one of the shaded run's findings.
    assert [f for k, f, strong in window.curves.shaded if strong] == [finding]
    assert all(k == key for k, _, _ in window.curves.shaded)


def test_overlaying_runs_shades_only_the_selected_runs_findings(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "sweeps" / "sweep_synth_clf_adam")
    window.ws.set_checked_keys(set(window.ws.keys()))
    with_findings = [k for k in window.ws.keys() if window.ws.worst_severity(k)]
    assert len(with_findings) >= 2
    for key in with_findings[:2]:
        window.runs_panel.tree.setCurrentItem(window.runs_panel.item_for(key))
        assert window.ws.current == key
        assert window.curves.shaded and {k for k, _, _ in window.curves.shaded} == {key}


def test_changing_the_gpu_price_updates_the_wasted_money(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    panel = window.cost_panel
    before = panel.total_text()
    assert "$" in before, before
    panel.price.setValue(panel.price.value() * 2 + 1)
    after = panel.total_text()
    assert after != before
    cost = window.ws.run_cost(window.ws.keys()[0])  # held beside the analysis, not in it
    assert cost.hardware.usd_per_gpu_hour == pytest.approx(panel.price.value())
    usd_cell = panel.table.topLevelItem(0).text(3)
    assert usd_cell.startswith("$") and usd_cell in after or usd_cell != "–"
    # The selected run's row opens onto what each finding wasted (RunCost.by_finding).
    row = panel.table.topLevelItem(0)
    assert cost.by_finding and row.isExpanded()
    assert row.childCount() == len(cost.by_finding)
    first = cost.by_finding[0]
    assert row.child(0).text(1) == f"{first.wasted_steps:,}"
    assert row.child(0).text(3).startswith("$")
    # Run rows carry the full name and path in their tooltip.
    run_row = window.runs_panel.item_for(window.ws.keys()[0])
    assert window.ws.runs[0].path in run_row.toolTip(0) and window.ws.runs[0].name in run_row.toolTip(0)


def test_a_bad_file_is_named_in_the_warnings_and_the_rest_loads(qtbot, window, tmp_path):
    good = tmp_path / "logs" / "good" / "metrics.csv"
    good.parent.mkdir(parents=True)
    with good.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "train_loss", "lr"])
        for step in range(200):
            w.writerow([step, 2.0 * math.exp(-step / 50) + 0.1, 0.01])
    bad = tmp_path / "logs" / "bad" / "events.out.tfevents.123.host.1.0"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00\x01 this is not a tfrecord" * 10)
    open_and_wait(qtbot, window, tmp_path / "logs")
    assert any(r.name for r in window.ws.runs if "good" in r.path)
    assert any(bad.name in line for line in window.warning_lines()), window.warning_lines()
    assert window.warnings_dock.isVisible()
    assert "problem" in window.status_label.text()


def test_event_loop_keeps_turning_during_a_large_load(qtbot, window, tmp_path):
    big = tmp_path / "big" / "metrics.csv"
    big.parent.mkdir()
    steps = np.arange(1_500_000)
    loss = 2.0 * np.exp(-steps / 3e5) + 0.05 * np.sin(steps / 7.0)
    np.savetxt(big, np.column_stack([steps, loss, np.full(steps.size, 1e-3)]), delimiter=",",
               header="step,train_loss,lr", comments="", fmt=["%d", "%.6f", "%.6g"])
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(window.progress.isVisible()))
    timer.start()
    with qtbot.waitSignal(window.loadFinished, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([str(big.parent)])
    timer.stop()
    # The timer fired while the worker was reading (progress bar shown), so the GUI never froze.
    assert sum(ticks) >= 3, ticks
    assert len(window.ws.runs) == 1 and len(window.ws.runs[0].series("train_loss")) == steps.size


def test_range_test_view_marks_the_suggested_lrs(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "range_tests" / "lr_find_synth_clf_adam")
    view = window.range_view
    assert window.tabs.currentWidget() is view  # a range test opens on loss vs LR
    assert view.suggestions, view.title.text()
    assert "lr_find_synth_clf_adam" in view.title.text()
    ra = window.ws.range_tests()[0]
    assert ra.suggested_lr is not None
    assert any(v == pytest.approx(ra.suggested_lr) for v in view.suggestions.values())


def test_filters_and_tags_panel(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "sweeps" / "sweep_synth_clf_adam")
    window.runs_panel.filter.setText("3e-")
    assert sorted(window.runs_panel.visible_run_names()) == ["lr_3e-1", "lr_3e-2", "lr_3e-3", "lr_3e-4"]
    window.tags_panel.filter.setText("^eval_")
    shown = window.tags_panel.shown_tags()
    assert shown and all(t.startswith("eval_") for t in shown)
    window.tags_panel.filter.setText("(")  # not a regex: nothing listed, the box says so
    assert window.tags_panel.shown_tags() == []
    assert "valid" in window.tags_panel.filter.toolTip()


def test_export_visible_data_csv_and_image(qtbot, window, corpus, tmp_path):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    window.curves.loss_plot.setXRange(100, 200, padding=0)
    out = tmp_path / "view.csv"
    rows = window.curves.export_csv(str(out))
    with out.open() as fh:
        data = list(csv.DictReader(fh))
    assert len(data) == rows > 0
    assert all(100 <= float(r["step"]) <= 200 for r in data)
    window.curves.export(str(tmp_path / "view.png"))
    window.curves.export(str(tmp_path / "view.svg"))
    assert (tmp_path / "view.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "view.svg").read_text()[:2000]


def test_relative_time_axis_starts_at_zero(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    window.curves.x_mode.setCurrentIndex(window.curves.x_mode.findData("relative"))
    curves = [c for _, _, c in window.curves.items.values()]
    assert curves
    first = min(float(c.x[0]) for c in curves)
    assert first == pytest.approx(0.0, abs=1e-6)
    assert max(float(c.x[-1]) for c in curves) < 3600  # seconds: the corpus runs took seconds
    # ... so the axis speaks seconds or minutes, not hours.
    axis = window.curves.loss_plot.getAxis("bottom")
    lo, hi = window.curves.x_range()
    axis.tickSpacing(lo, hi, 800)
    assert axis.unit in ("s", "min")


def test_reload_readout_and_about(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-68c1")
    names = [r.name for r in window.ws.runs]
    with qtbot.waitSignal(window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        window.reload_action.trigger()
    assert [r.name for r in window.ws.runs] == names
    text = window.curves.show_readout(500.0)
    assert "Step 500" in text and "digits_mlp-68c1" in text
    assert str(window.recent()[0]).endswith("digits_mlp-68c1")
    window.show_about()
    from lrdoctor import __version__

    assert __version__ in window._about.text()


def test_reload_drops_runs_whose_files_were_deleted_and_keeps_the_grouping(qtbot, window, tmp_path):
    import shutil

    for group in ("sgd", "adam"):
        _write_csv_runs(tmp_path / "runs" / group, 3)
    open_and_wait(qtbot, window, tmp_path / "runs")

    def tree() -> dict[str, list[str]]:
        panel = window.runs_panel.tree
        return {panel.topLevelItem(i).text(0): sorted(panel.topLevelItem(i).child(j).text(0)
                                                      for j in range(panel.topLevelItem(i).childCount()))
                for i in range(panel.topLevelItemCount())}

    before = tree()
    three = [f"run_00{i}/metrics" for i in range(3)]
    assert before == {"sgd": three, "adam": three}
    shutil.rmtree(tmp_path / "runs" / "adam" / "run_001")
    with qtbot.waitSignal(window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        window.reload_action.trigger()
    assert tree() == {"sgd": before["sgd"], "adam": ["run_000/metrics", "run_002/metrics"]}
    assert len(window.ws.runs) == 5
    assert {run_key(ra.run) for ra in window.ws.analysis.runs} == set(window.ws.keys())
    assert not any("adam/run_001" in str(r.path) for r in window.ws.runs)


def _write_csv_runs(root: Path, n: int) -> None:
    for i in range(n):
        run = root / f"run_{i:03d}"
        run.mkdir(parents=True)
        with (run / "metrics.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["step", "train_loss", "lr"])
            for step in range(50):
                w.writerow([step, 1.0 / (step + 1) + i * 1e-3, 0.01])


def test_cancel_keeps_the_runs_read_so_far(qtbot, window, tmp_path):
    _write_csv_runs(tmp_path / "many", 300)
    with qtbot.waitSignal(window.loadFinished, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([str(tmp_path / "many")])
        assert window.cancel_button.isVisible()
        window.cancel_button.click()
    assert "cancelled" in window.status_label.text()
    assert len(window.ws.runs) < 300
    assert not window.progress.isVisible()


def test_dropping_a_folder_opens_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    _write_csv_runs(tmp_path / "dropped", 2)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        window.dropEvent(event)
    names = sorted(r.name for r in window.ws.runs)
    assert len(names) == 2 and names[0].startswith("run_000") and names[1].startswith("run_001")


def test_switching_x_modes_keeps_the_curves_in_view(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-68c1")
    window.ws.set_x_mode("wall")
    curve = next(c for _, _, c in window.curves.items.values())
    lo, hi = window.curves.x_range()
    assert lo <= curve.x[0] and hi >= curve.x[-1] and hi - lo < 3600  # the run took seconds
    window.ws.set_x_mode("step")
    lo, hi = window.curves.x_range()
    assert lo <= 0 and 999 <= hi < 2000
    shown_x, _ = window.curves.items[(curve.run_key, curve.tag)][1].getData()
    assert shown_x.size > 0


def test_export_report_writes_the_runs_with_the_panel_price(qtbot, window, corpus, tmp_path):
    sweep = corpus / "sweeps" / "sweep_synth_clf_adam"
    open_and_wait(qtbot, window, sweep)
    window.cost_panel.price.setValue(7.77)
    out = window.export_report(str(tmp_path / "post_mortem.html"))
    assert out == tmp_path / "post_mortem.html"
    text = out.read_text(encoding="utf-8")
    for run in window.ws.runs:
        assert run.name in text
    assert "7.77" in text  # the price chosen in the cost panel, not the preset's
    assert "post_mortem.html" in window.status_label.text()
    md = window.export_report(str(tmp_path / "post_mortem.md"))
    assert md is not None and "lr_3e-1" in md.read_text(encoding="utf-8")


def test_export_report_failure_names_the_file(qtbot, window, corpus, tmp_path):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-68c1")
    target = tmp_path / "no_such_folder" / "report.pdf"
    assert window.export_report(str(target)) is None
    assert str(target) in window.last_message.text()
    assert not target.exists()
    assert window.export_report(str(tmp_path / "report.docx")) is None
    assert "report.docx" in window.last_message.text()


def test_use_as_menu_overrides_a_role_and_analyses_the_run_again(qtbot, window, corpus):
    open_and_wait(qtbot, window, corpus / "runs" / "digits_mlp-f351")
    key = window.ws.current
    run = window.ws.run(key)
    old = window.ws.run_analysis(key)
    train = run.primary_tag("train_loss")
    val = run.primary_tag("val_loss")
    assert train and val
    panel = window.tags_panel
    item = next(panel.tree.topLevelItem(i).child(j) for i in range(panel.tree.topLevelItemCount())
                for j in range(panel.tree.topLevelItem(i).childCount())
                if panel.tree.topLevelItem(i).child(j).toolTip(0) == val)
    menu = panel.menu_for(item)
    use_as = menu.actions()[0].menu()
    assert menu.actions()[0].text() == "Use as"
    actions = {a.text(): a for a in use_as.actions()}
    assert {"train_loss", "val_loss", "lr", "grad_norm"} <= set(actions)
    assert actions["val_loss"].isChecked() and not actions["val_loss"].isEnabled()
    with qtbot.waitSignal(window.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        actions["train_loss"].trigger()
    assert run.roles[val] == "train_loss" and run.roles[train] == "other"
    drawn = {tag: curve.role for (k, tag), (_, _, curve) in window.curves.items.items() if k == key}
    assert drawn.get(val) == "train_loss" and train not in drawn
    assert val in [panel.tree.topLevelItem(0).child(j).toolTip(0) for j in range(panel.tree.topLevelItem(0).childCount())]
    new = window.ws.run_analysis(key)
    assert new is not old and new.run is run


def test_checks_the_logs_did_not_allow_are_said_in_the_findings_pane(qtbot, window, real_logs):
    """The loss-plateau W&B run 79u2qtit logs no LR curve: the pane says plateau/decay were not checked,
    instead of a silent 'healthy' (its sibling q4ebbqpc never learned, where a plateau is moot)."""
    open_and_wait(qtbot, window, real_logs / "wandb_run_dirs" / "loss-plateau" / "run-20260123_005458-79u2qtit")
    assert "Not checked: plateau" in window.findings.detail_text()


def test_a_run_without_a_loss_draws_its_rewards_and_says_it_was_not_diagnosed(qtbot, window, real_logs):
    # An RL run logs rewards only: they are drawn without ticking, and the findings panel says the run
    # was not diagnosed (no loss curve), not that no problem was found.
    open_and_wait(qtbot, window, real_logs / "wandb_run_dirs" / "spaceinvaders-mfts")
    qtbot.waitUntil(lambda: "episodic_reward" in window.ws.panel_tags())
    qtbot.waitUntil(lambda: "Nothing diagnosed" in window.findings.status.text())


def test_a_run_knocked_out_before_its_second_point_is_drawn_whole(qtbot, window, corpus, tmp_path):
    # digits_mlp-3fcd logged every 50th step: diverged from its first evaluation (step 24) on, so the
    # steps outside the divergence hold one or two loss values. The initial view must not zoom onto
    # their 0.01-wide band: the knock (val 2.58) and the run at ln 10 after it are both in view.
    from tests.analysis.test_logging_density import _write_sparse_tensorboard

    out = _write_sparse_tensorboard(corpus / "runs" / "digits_mlp-3fcd", tmp_path / "sparse", every=50)
    open_and_wait(qtbot, window, out)
    assert any(f.mode == "diverged" for _, f in window.ws.findings_for(window.ws.keys()))
    curves = [c for _, _, c in window.curves.items.values() if c.role in ("train_loss", "val_loss")]
    lo = min(float(np.nanmin(c.y)) for c in curves)
    hi = max(float(np.nanmax(c.y)) for c in curves)
    y_lo, y_hi = window.curves.loss_plot.viewRange()[1]
    assert y_lo <= lo and hi <= y_hi
