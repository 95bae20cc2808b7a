"""The committed packaging files: icons match the app's SVG and are well-formed; the .desktop entry is valid."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
ICONS = PACKAGING / "icons"
APP_SVG = REPO / "lrdoctor" / "gui" / "resources" / "lrdoctor.svg"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == PNG_MAGIC, "not a PNG"
    return struct.unpack(">II", blob[16:24])  # IHDR width, height


def test_icon_svg_is_the_apps_window_icon() -> None:
    assert (ICONS / "lrdoctor.svg").read_bytes() == APP_SVG.read_bytes(), (
        "packaging/icons is stale: run QT_QPA_PLATFORM=offscreen python packaging/icons/make_icons.py"
    )


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_theme_pngs_have_their_size(size: int) -> None:
    assert _png_size((ICONS / f"lrdoctor-{size}.png").read_bytes()) == (size, size)


def test_ico_entries_are_pngs_of_the_declared_sizes() -> None:
    data = (ICONS / "lrdoctor.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 4
    sizes = []
    for i in range(count):
        w, h, _colors, _res, _planes, _bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        declared = (w or 256, h or 256)
        assert _png_size(data[offset : offset + length]) == declared
        sizes.append(declared[0])
    assert {16, 32, 48, 256} <= set(sizes)


def test_icns_elements_are_pngs_of_their_type_size() -> None:
    data = (ICONS / "lrdoctor.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    type_sizes = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024}
    pos, seen = 8, set()
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        size = type_sizes[kind]
        assert _png_size(data[pos + 8 : pos + length]) == (size, size)
        seen.add(size)
        pos += length
    assert pos == len(data) and {16, 32, 128, 256, 512} <= seen


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(PACKAGING / "linux" / "lrdoctor.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    # Exec names the executable the spec builds and passes the selected files/folders.
    assert entry["Exec"].split() == ["lrdoctor", "%F"]
    spec = (PACKAGING / "lrdoctor.spec").read_text()
    assert 'name="lrdoctor"' in spec
    # Icon= is a theme name the install script provides in every hicolor size.
    assert entry["Icon"] == "lrdoctor" and (ICONS / "lrdoctor.svg").is_file()
    assert entry["Categories"].endswith(";")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / "linux" / "lrdoctor.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
