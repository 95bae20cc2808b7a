"""A main window with throwaway settings, for the GUI tests that do not define their own."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture
def app_window(qtbot, tmp_path, monkeypatch):
    """A shown MainWindow whose QSettings and cost config live in ``tmp_path``."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThreadPool

    from lrdoctor.gui.app import application
    from lrdoctor.gui.main_window import MainWindow

    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    application()
    win = MainWindow(QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    QThreadPool.globalInstance().waitForDone()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
