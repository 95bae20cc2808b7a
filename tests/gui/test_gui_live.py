"""Live runs in the app: a divergence appended with TensorBoard's own writer while the window
follows the folder shows up as a banner within seconds; pausing stops the following."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThreadPool  # noqa: E402

from tests.gui_waits import open_and_wait  # noqa: E402

LIVE_TIMEOUT_MS = 15_000  # appended divergence -> banner: a change event (or a poll) plus one run's analysis


def test_appended_divergence_shows_a_banner(qtbot, app_window, live_tb_run):
    window = app_window
    open_and_wait(qtbot, window, live_tb_run.logdir.parent)
    assert not window.banner.isVisible()
    steps_before = window.ws.runs[0].step_range[1]
    window.curves.loss_plot.setXRange(500, 1500, padding=0)  # the user zoomed in while it trains
    whole_reads = window.tail.whole
    appended = time.monotonic()
    live_tb_run.diverge(25)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LIVE_TIMEOUT_MS)
    latency = time.monotonic() - appended
    assert "diverged at step" in window.banner.text()
    assert window.banner.text().endswith(("just now", " s ago")) and "0 s ago" not in window.banner.text()
    # The relative time ticks while the banner is up ("just now" becomes "1 s ago", then "2 s ago").
    shown = window.banner.text()
    assert window.banner.tick.isActive()
    qtbot.waitUntil(lambda: window.banner.text() != shown, timeout=5_000)
    assert "diverged at step" in window.banner.text() and window.banner.text().endswith(" s ago")
    # The run shown is the grown one, with its new finding listed and shaded.
    assert window.ws.runs[0].step_range[1] > steps_before
    assert any(f.mode == "diverged" for _, f in window.ws.findings_for(window.ws.keys()))
    assert latency * 1000 < LIVE_TIMEOUT_MS
    # Only the appended records were read: the event file was resumed from where the load stopped.
    assert window.tail.whole == whole_reads and window.tail.resumed >= 1
    assert window.curves.x_range() == pytest.approx((500, 1500))  # the redraw kept the user's zoom
    # "Show" zooms the plots to the new finding.
    window.banner.show_button.click()
    lo, hi = window.curves.x_range()
    assert lo <= 2140 <= hi < window.ws.runs[0].step_range[1] * 2
    window.banner.dismiss()  # the close button: hidden, and no longer refreshed
    assert not window.banner.isVisible() and not window.banner.tick.isActive()


def test_paused_following_waits_until_resumed(qtbot, app_window, live_tb_run):
    window = app_window
    open_and_wait(qtbot, window, live_tb_run.logdir.parent)
    window.follow_action.trigger()  # View > Follow live runs: off
    assert window.live.paused
    live_tb_run.diverge(25)
    window.live.check_now()  # what the poll timer would do: nothing while paused
    QThreadPool.globalInstance().waitForDone()
    qtbot.wait(300)
    assert not window.banner.isVisible()
    window.follow_action.trigger()  # on again: it looks at once
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LIVE_TIMEOUT_MS)
    assert "diverged" in window.banner.text()
