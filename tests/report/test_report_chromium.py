"""The HTML report in a real browser: headless Chromium, no network, a screenshot, nothing fetched from outside.

Skipped, with the reason, when no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
The screenshot is kept in the test's temporary folder (its path is printed) for looking at it.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cost import CostSettings, estimate_costs
from lrdoctor.report import write_report
from lrdoctor.style import ROLE_COLORS

RUNS = ("runs/digits_mlp-c152", "sweeps/sweep_synth_clf_adam", "range_tests/lr_find_synth_clf_adam")
WINDOW = (1200, 4200)  # CSS pixels: the manager's page and the first run section with its chart
BROWSER_TIMEOUT_S = 120
# A chart's curve in the report's colour, drawn over at least this many pixels (a 1000-px-wide
# curve is thousands); text and tables alone have none of it.
MIN_CURVE_PIXELS = 500
COLOUR_TOLERANCE = 40  # per channel, for antialiased edges
WASTE_BAR_COLOR = "#dc2626"


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


pytestmark = pytest.mark.skipif(_chromium() is None,
                                reason="no Chromium installed (Debian: apt-get install chromium; .ci/run installs it)")


def _pixels_near(img: np.ndarray, hex_color: str) -> int:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img[..., :3].astype(int) - rgb).max(axis=-1) <= COLOUR_TOLERANCE).sum())


def _png_array(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGBA8888)
    assert not img.isNull(), f"{path}: not a readable PNG"
    buf = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return buf.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width()].copy()


# Appended to a copy of the report (the screenshot is of the report itself): after load, the page's own
# record of what it fetched (Resource Timing) and of its images, written where --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth}));
  const fetched = performance.getEntriesByType("resource").map(e => e.name);
  document.body.setAttribute("data-probe", JSON.stringify({images, fetched, href: location.href}));
});
</script>"""


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           # no network: every proxy connection is refused and every host name fails to resolve
           "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-default-apps", f"--user-data-dir={profile}",
           "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)


def test_html_report_renders_offline_in_chromium(corpus: Path, tmp_path: Path) -> None:
    runs = parsers.RunList()
    for sub in RUNS:
        runs.extend(parsers.load(corpus / sub))
    analysis = analyze(runs)
    costs = estimate_costs(analysis, CostSettings(gpu="A100 80GB", gpu_count=8, usd_per_gpu_hour=2.5), CostSettings())
    html = write_report(analysis, tmp_path / "report.html", costs=costs)

    shot = tmp_path / "report.png"
    result = _browser(f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", html.as_uri(),
                      profile=tmp_path / "profile")
    assert shot.is_file(), f"chromium wrote no screenshot (exit {result.returncode}):\n{result.stderr[-3000:]}"
    print(f"\nscreenshot of the HTML report in Chromium: {shot}")

    probed = tmp_path / "probed.html"
    probed.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _browser("--dump-dom", probed.as_uri(), profile=tmp_path / "profile2").stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, f"the probe did not run: {dom[:500]}"
    probe = json.loads(htmllib.unescape(found.group(1)))
    assert probe["href"].startswith("file:")
    outside = [u for u in probe["fetched"] if not u.startswith(("file:", "data:"))]
    assert not outside, f"the report made the browser fetch: {outside}"
    assert probe["images"] and all(i["complete"] and i["width"] > 0 for i in probe["images"]), probe["images"]

    img = _png_array(shot)
    assert img.shape[1] == WINDOW[0] and img.shape[0] == WINDOW[1]
    # the charts were decoded and drawn: the waste bars of page 1 and the run's loss curve
    assert _pixels_near(img, WASTE_BAR_COLOR) > MIN_CURVE_PIXELS
    assert _pixels_near(img, ROLE_COLORS["train_loss"]) > MIN_CURVE_PIXELS
