"""Starting the app where Qt's X11 plugin cannot load: a message naming the packages, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrdoctor.cli.desktop import XCB_LIBRARY_PACKAGES, install_hint, xcb_plugin


def test_unloadable_xcb_library_names_the_packages_and_exits_2(tmp_path: Path, corpus: Path) -> None:
    if not sys.platform.startswith("linux") or xcb_plugin() is None:
        pytest.skip("needs Linux and PySide6's xcb platform plugin")
    # A library the plugin needs that the dynamic linker finds but cannot load (as on a machine where
    # a package is broken or missing): the app must explain, not abort in Qt with exit 134.
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":93", LD_LIBRARY_PATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "lrdoctor", str(corpus / "runs" / "digits_mlp-68c1")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "X11 platform plugin cannot load" in proc.stderr
    assert "apt-get install" in proc.stderr and "libxcb-cursor0" in proc.stderr
    assert "dnf install" in proc.stderr and "xcb-util-cursor" in proc.stderr


def test_hint_names_the_missing_library_first() -> None:
    text = install_hint("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")
    assert "libxcb-icccm.so.4 is missing" in text
    debian = next(line for line in text.splitlines() if "apt-get" in line)
    assert debian.split("install ")[1].split()[0] == XCB_LIBRARY_PACKAGES["libxcb-icccm.so.4"][0]
