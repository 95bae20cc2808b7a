"""Can the app open a window here? Checked before Qt is imported, so a missing system library
gives a message naming the packages to install (exit 2) instead of Qt's abort (exit 134).

Qt's X11 platform plugin (``libqxcb.so``) needs several xcb libraries that minimal desktops and
containers lack. Loading the plugin with ``ctypes`` asks the dynamic linker exactly what Qt would,
without starting Qt, and its error names the first missing library.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from pathlib import Path

# Library file -> (Debian/Ubuntu package, Fedora package) for what Qt's xcb plugin links against.
XCB_LIBRARY_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}
# What a bare machine usually lacks (the README lists the same): installed together in one go.
USUAL_MISSING = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0",
                 "libxcb-image.so.0", "libxcb-render-util.so.0", "libEGL.so.1", "libfontconfig.so.1")
# "libxcb-icccm.so.4: cannot open shared object file", "/x/libxcb-cursor.so.0: file too short", ...
_MISSING = re.compile(r"(?:^|[/\s])(lib[\w.+-]+\.so[\w.]*): ")


def xcb_plugin() -> Path | None:
    """Path of PySide6's X11 platform plugin, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    for root in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.exists():
            return plugin
    return None


def uses_xcb() -> bool:
    """Whether Qt would pick its X11 (xcb) platform here (Linux, X display, no other platform chosen)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    wayland = os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(os.environ.get("DISPLAY")) and not wayland


def missing_library(plugin: Path) -> str | None:
    """The dynamic linker's complaint when ``plugin`` cannot load (None when it loads)."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return str(exc)
    return None


def install_hint(problem: str) -> str:
    """The message for a plugin that cannot load: what is missing and the packages to install."""
    match = _MISSING.search(problem)
    missing = match.group(1) if match else None
    libs = list(dict.fromkeys(([missing] if missing in XCB_LIBRARY_PACKAGES else []) + list(USUAL_MISSING)))
    debian = " ".join(XCB_LIBRARY_PACKAGES[lib][0] for lib in libs)
    fedora = " ".join(dict.fromkeys(XCB_LIBRARY_PACKAGES[lib][1] for lib in libs))
    what = f"{missing} is missing or unusable" if missing else problem
    return (
        f"lrdoctor: cannot open the app: Qt's X11 platform plugin cannot load ({what}).\n"
        f"  Debian/Ubuntu: sudo apt-get install {debian}\n"
        f"  Fedora:        sudo dnf install {fedora}\n"
        "Headless work needs none of these: `lrdoctor inspect|analyze|report|watch PATH`."
    )


def desktop_problem() -> str | None:
    """Why the app cannot open a window here (a message for the user), or None."""
    if not uses_xcb():
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None  # an unusual PySide6 layout: let Qt try and speak for itself
    problem = missing_library(plugin)
    return None if problem is None else install_hint(problem)
